import { assert, describe, it } from "@effect/vitest"
import { clipEcho, echoLimit, quoteEcho } from "@plexsync/domain/Echo"

describe("bad input as a message repeats it", () => {
  it("repeats a short value whole", () => {
    assert.strictEqual(clipEcho("scene-12"), "scene-12")
    assert.strictEqual(quoteEcho("scene-12"), "\"scene-12\"")
    assert.strictEqual(quoteEcho({ id: 1 }), "{\"id\":1}")
    assert.strictEqual(quoteEcho(undefined), "undefined")
  })

  it("repeats only the start of a long value, and says how long it was", () => {
    const huge = "9".repeat(1_000_000)
    const quoted = quoteEcho(huge)
    assert.isBelow(quoted.length, echoLimit + 40)
    assert.strictEqual(quoted, `"${"9".repeat(echoLimit)}"… (1000000 characters)`)
    assert.isBelow(quoteEcho({ id: huge }).length, echoLimit + 40)
    // Code points, not UTF-16 units: an emoji is never cut in half.
    assert.strictEqual(clipEcho("😀".repeat(150)), `${"😀".repeat(echoLimit)}… (150 characters)`)
  })

  it("never lets a control character through raw", () => {
    assert.strictEqual(clipEcho("a\u001b[2Jb\nc"), "a\\u001b[2Jb\\u000ac")
    assert.strictEqual(quoteEcho("a\u001b[2J"), "\"a\\u001b[2J\"")
  })
})
