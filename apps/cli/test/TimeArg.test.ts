import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { parseTimeArg } from "../src/TimeArg.js"

const now = Date.UTC(2026, 1, 15, 19, 17, 49)
const ms = (input: string): number => {
  const r = parseTimeArg(input, now)
  if (Either.isLeft(r)) assert.fail(r.left)
  return r.right
}
const refused = (input: string): string => {
  const r = parseTimeArg(input, now)
  if (Either.isRight(r)) assert.fail(`${input} should be refused, got ${r.right}`)
  return r.left
}

describe("parseTimeArg", () => {
  it("reads ISO-8601 with a zone", () => {
    assert.strictEqual(ms("2026-02-15T19:17:49Z"), now)
    assert.strictEqual(ms("2026-02-15T20:17:49+01:00"), now)
    assert.strictEqual(ms("2026-02-15T20:17:49+0100"), now)
    assert.strictEqual(ms("2026-02-15T19:17:49.250Z"), now + 250)
  })

  it("reads ISO-8601 without a zone as local time", () => {
    assert.strictEqual(ms("2026-02-15T19:17:49"), new Date(2026, 1, 15, 19, 17, 49).getTime())
    assert.strictEqual(ms("2026-02-15 19:17"), new Date(2026, 1, 15, 19, 17, 0).getTime())
    assert.strictEqual(ms("2026-02-15"), new Date(2026, 1, 15).getTime())
  })

  it("reads epoch seconds", () => {
    assert.strictEqual(ms(String(now / 1000)), now)
    assert.strictEqual(ms("0"), 0)
    assert.include(refused(String(now)), "milliseconds")
  })

  it("reads a relative duration as that long ago", () => {
    assert.strictEqual(ms("30m"), now - 30 * 60_000)
    assert.strictEqual(ms("24h"), now - 86_400_000)
    assert.strictEqual(ms("7d"), now - 7 * 86_400_000)
    assert.strictEqual(ms("1h30m"), now - 90 * 60_000)
  })

  it("refuses anything else, saying what is allowed", () => {
    const message = refused("yesterday")
    assert.include(message, "\"yesterday\" is not a time")
    assert.include(message, "epoch seconds")
    assert.include(refused("2026-02-30"), "no such date")
    assert.include(refused("2026-13-01T00:00:00Z"), "no such date")
    refused("")
    refused("-5m")
    refused("2026-02-15T25:00")
  })
})

describe("a bad time repeated back", () => {
  it("is clipped to about 100 characters", () => {
    const message = refused("yesterday".repeat(5_000))
    assert.isBelow(message.length, 400)
    assert.include(message, "(45000 characters)")
  })
})
