import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import type { LeaseHolder, ThisHost } from "../src/LeaseHolder.js"
import { describeHolder, holderGone, holderText, parseHolder } from "../src/LeaseHolder.js"

const me: LeaseHolder = { program: "plexsync run", host: "nas", pid: 1, pidNamespace: "4026532200", nonce: "aaaa" }
/** This process on host "nas"; pids 7 and 1 (itself) exist. */
const here: ThisHost = { holder: me, isAlive: (pid) => pid === 7 || pid === 1 }
const other = (change: Partial<LeaseHolder>) => holderText({ ...me, nonce: "bbbb", ...change })

describe("LeaseHolder", () => {
  it("reads back what it writes, and shows a person the program, host and pid", () => {
    const text = holderText(me)
    assert.strictEqual(text, "plexsync run on nas (pid 1, pidns 4026532200, id aaaa)")
    assert.deepStrictEqual(parseHolder(text), Option.some(me))
    assert.strictEqual(describeHolder(text), "plexsync run on nas (pid 1)")
    // What older versions wrote is shown as it is, and is not ours to judge.
    assert.isTrue(Option.isNone(parseHolder("nas:4242")))
    assert.strictEqual(describeHolder("nas:4242"), "nas:4242")
  })

  it("a holder is gone only when it is certainly a dead process of this host and pid namespace", () => {
    // A pid that no longer exists here.
    assert.isTrue(holderGone(other({ pid: 9 }), here))
    // Two containers with the same host name, both pid 1 in one pid namespace: the other pid 1 is this process now.
    assert.isTrue(holderGone(other({ pid: 1 }), here))
    // A live process.
    assert.isFalse(holderGone(other({ pid: 7 }), here))
    // Another container (pid namespace) or another host: its pids cannot be seen from here.
    assert.isFalse(holderGone(other({ pid: 9, pidNamespace: "4026532999" }), here))
    assert.isFalse(holderGone(other({ pid: 9, host: "other" }), here))
    assert.isFalse(holderGone(other({ pid: 9, pidNamespace: "" }), { ...here, holder: { ...me, pidNamespace: "" } }))
    // This very process, and text that is not ours.
    assert.isFalse(holderGone(holderText(me), here))
    assert.isFalse(holderGone("nas:9", here))
  })
})
