import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import * as Watermark from "../src/Watermark.js"

const hour = 60 * 60 * 1000

describe("Watermark", () => {
  it("moves the window start back by the overlap in the watermark's own offset", () => {
    assert.deepStrictEqual(
      Watermark.windowStart("2026-02-15T19:17:49+01:00", hour),
      Option.some("2026-02-15T18:17:49+01:00")
    )
    assert.deepStrictEqual(Watermark.windowStart("2026-02-15T19:17:49Z", hour), Option.some("2026-02-15T18:17:49Z"))
    assert.deepStrictEqual(
      Watermark.windowStart("2026-03-01T00:30:00-05:30", hour),
      Option.some("2026-02-28T23:30:00-05:30")
    )
  })

  it("keeps the instant right across a day and year boundary", () => {
    const since = Option.getOrThrow(Watermark.windowStart("2026-01-01T00:10:00+02:00", 2 * hour))
    assert.strictEqual(since, "2025-12-31T22:10:00+02:00")
    assert.strictEqual(
      Option.getOrThrow(Watermark.toMillis(since)),
      Date.parse("2026-01-01T00:10:00+02:00") - 2 * hour
    )
  })

  it("refuses what is not a Stash time string", () => {
    assert.isTrue(Option.isNone(Watermark.windowStart("yesterday", hour)))
    assert.isTrue(Option.isNone(Watermark.windowStart("2026-02-15 19:17:49", hour)))
  })

  it("orders watermarks as Stash's filter does: by string", () => {
    assert.strictEqual(Watermark.later(null, "2026-02-15T19:17:49Z"), "2026-02-15T19:17:49Z")
    assert.strictEqual(Watermark.later("2026-02-15T19:17:49Z", "2026-02-15T19:17:48Z"), "2026-02-15T19:17:49Z")
    assert.strictEqual(Watermark.later("2026-02-15T19:17:49Z", "2026-02-15T19:17:50Z"), "2026-02-15T19:17:50Z")
  })
})
