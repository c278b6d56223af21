import { assert, describe, it } from "@effect/vitest"
import {
  cleanText,
  Limits,
  sanitizeName,
  sanitizeNames,
  sanitizeSummary,
  sanitizeTitle,
  truncate
} from "@plexsync/domain/Sanitize"
import * as fc from "fast-check"

describe("cleanText", () => {
  it("normalises to NFC", () => {
    const decomposed = "Cafe\u0301"
    assert.strictEqual(cleanText(decomposed), "Caf\u00e9")
  })

  it("removes control and format characters", () => {
    assert.strictEqual(cleanText("a\u0000b\u0007c\u200Bd\uFEFFe\u00ADf\u202Eg"), "abcdefg")
  })

  it("keeps emoji, including joined sequences, but drops a stray joiner", () => {
    assert.strictEqual(cleanText("Family 👨‍👩‍👧 day 🎉"), "Family 👨‍👩‍👧 day 🎉")
    assert.strictEqual(cleanText("a\u200Db"), "ab")
  })

  it("makes smart quotes plain", () => {
    assert.strictEqual(cleanText("\u201CHi\u201D \u2018there\u2019 it\u2019s"), "\"Hi\" 'there' it's")
  })

  it("collapses whitespace of every kind and trims", () => {
    assert.strictEqual(cleanText("  a \t\n b\u00A0\u2003c\r\n  "), "a b c")
  })

  it("keeps a summary's paragraphs when multiline", () => {
    assert.strictEqual(
      cleanText("First  line\r\nsecond\n\n\n\n  Third\tpara  ", { multiline: true }),
      "First line\nsecond\n\nThird para"
    )
  })

  it("is idempotent", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const once = cleanText(s)
        assert.strictEqual(cleanText(once), once)
      })
    )
  })
})

describe("truncate", () => {
  it("leaves short text alone", () => {
    assert.strictEqual(truncate("short", 10), "short")
  })

  it("cuts at the last space when it lies beyond 80 % of the limit", () => {
    // limit 20: the space at index 17 (> 16) is used
    assert.strictEqual(truncate("aaaaaaaaaaaaaaaaa bbbbbbbbbb", 20), "aaaaaaaaaaaaaaaaa")
  })

  it("cuts hard when the last space is too early", () => {
    // the only space is at index 3 (< 16): a word-boundary cut would throw most of the text away
    assert.strictEqual(truncate("aaa bbbbbbbbbbbbbbbbbbbbbbbb", 20), "aaa bbbbbbbbbbbbbbbb")
    // a space at index 12 (60 %) is still too early
    assert.strictEqual(truncate("aaaaaaaaaaaa bbbbbbbbbbbbbbbb", 20), "aaaaaaaaaaaa bbbbbbb")
  })

  it("never splits an emoji (counts code points)", () => {
    const s = "😀".repeat(30)
    const cut = truncate(s, 10)
    assert.strictEqual(cut, "😀".repeat(10))
    assert.isFalse(/[\uD800-\uDBFF]$/.test(cut))
  })

  it("never exceeds the limit", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 400 }), fc.integer({ min: 1, max: 300 }), (s, limit) => {
        assert.isAtMost(Array.from(truncate(s, limit)).length, limit)
      })
    )
  })
})

describe("field caps", () => {
  it("caps a title at 255 and a summary at 10 000", () => {
    assert.strictEqual(Array.from(sanitizeTitle("x".repeat(400))).length, Limits.title)
    assert.strictEqual(Array.from(sanitizeSummary("word ".repeat(5000))).length <= Limits.summary, true)
    assert.isAbove(Array.from(sanitizeSummary("word ".repeat(5000))).length, 0.8 * Limits.summary)
  })

  it("caps a name at 255", () => {
    assert.strictEqual(Array.from(sanitizeName("n".repeat(300))).length, Limits.name)
  })

  it("sanitises name lists: drops empty and duplicate names (any case), keeps order, caps the count", () => {
    assert.deepStrictEqual(sanitizeNames(["  Anna ", "", "\u200B", "anna", "Bob", "Cleo"], 2), ["Anna", "Bob"])
    const many = Array.from({ length: 80 }, (_, i) => `Performer ${i}`)
    assert.strictEqual(sanitizeNames(many, Limits.performers).length, 50)
    const tags = Array.from({ length: 150 }, (_, i) => `tag${i}`)
    assert.strictEqual(sanitizeNames(tags, Limits.tags).length, 100)
  })
})
