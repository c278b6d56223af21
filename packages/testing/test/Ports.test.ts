import { assert, describe, it } from "@effect/vitest"
import { startFakePlex } from "@plexsync/testing/FakePlex"
import { startFakeStash } from "@plexsync/testing/FakeStash"
import { freePort, freePortFrom, kernelFreePort } from "@plexsync/testing/Ports"
import { Effect } from "effect"

const portOf = (url: string) => Number(new URL(url).port)

/** A picker that offers the given ports first, then whatever the kernel offers. */
const offering = (ports: ReadonlyArray<number>) => {
  const queue = [...ports]
  return () => queue.length > 0 ? Promise.resolve(queue.shift()!) : kernelFreePort()
}

describe("free ports for the processes under test", () => {
  it("never hands out the port of a fake that is down (refusing connections) and will come back on it", async () => {
    const plex = await startFakePlex()
    const stash = await startFakeStash()
    try {
      await Effect.runPromise(plex.faults.refuseConnections)
      await stash.stopListening()
      const plexPort = portOf(plex.url)
      const stashPort = portOf(stash.url)
      const port = await freePortFrom(offering([plexPort, stashPort]))
      assert.notInclude([plexPort, stashPort], port)
      // Both come back on their own ports.
      await Effect.runPromise(plex.faults.acceptConnections)
      await stash.resumeListening()
      assert.strictEqual(portOf(plex.url), plexPort)
      assert.strictEqual(portOf(stash.url), stashPort)
    } finally {
      await plex.closePromise()
      await stash.close()
    }
  })

  it("never hands out the same port twice", async () => {
    const first = await freePort()
    const second = await freePortFrom(offering([first, first]))
    assert.notStrictEqual(second, first)
  })
})
