import { assert, describe, it } from "@effect/vitest"
import {
  allFields,
  allSyncFields,
  contentHash,
  plexDate,
  plexRating,
  type SyncField,
  SyncFieldsFromString,
  wantedFields
} from "@plexsync/domain/FieldMapping"
import { Either, ParseResult, Schema } from "effect"
import { makeScene } from "./fixtures.js"

const only = (...fields: Array<SyncField>) => ({ fields: new Set(fields) })
const ctx = { plexFile: "/data/a.mp4", preservePlexEdits: false }

describe("field mapping", () => {
  it("maps every field of a full scene", () => {
    const wanted = wantedFields(
      makeScene({
        title: "  The  Title ",
        details: "Line one\n\nLine two",
        date: "2023-07-14",
        rating100: 85,
        studio: "Studio A",
        performers: ["Anna", "Bob"],
        tags: ["Outdoor", "4K"],
        groups: ["Series X"],
        screenshot: "http://stash/scene/1/screenshot"
      }),
      allFields
    )
    assert.deepStrictEqual(wanted, {
      title: "The Title",
      summary: "Line one\n\nLine two",
      studio: "Studio A",
      originallyAvailableAt: "2023-07-14",
      rating: 8.5,
      genres: ["Outdoor", "4K"],
      actors: ["Anna", "Bob"],
      collections: ["Studio A", "Series X"],
      poster: "http://stash/scene/1/screenshot"
    })
  })

  it("never clears a title: a scene without one leaves Plex's title as it is", () => {
    assert.isFalse("title" in wantedFields(makeScene({ title: null }), allFields))
    assert.isFalse("title" in wantedFields(makeScene({ title: "  \u200B " }), allFields))
  })

  it("clears summary, studio, date and rating when the scene has none", () => {
    const wanted = wantedFields(makeScene({ details: "", studio: null, date: null, rating100: null }), allFields)
    assert.strictEqual(wanted.summary, null)
    assert.strictEqual(wanted.studio, null)
    assert.strictEqual(wanted.originallyAvailableAt, null)
    assert.strictEqual(wanted.rating, null)
    assert.deepStrictEqual(wanted.collections, [])
  })

  it("handles partial dates and refuses impossible ones", () => {
    assert.strictEqual(plexDate("2021"), "2021-01-01")
    assert.strictEqual(plexDate("2021-03"), "2021-03-01")
    assert.strictEqual(plexDate("2024-02-29"), "2024-02-29")
    assert.isUndefined(plexDate("2023-02-29"))
    assert.isUndefined(plexDate("2021-13"))
    assert.isUndefined(plexDate("21-03-01"))
    // an unreadable date leaves Plex's date alone rather than writing garbage or clearing it
    assert.isFalse("originallyAvailableAt" in wantedFields(makeScene({ date: "someday" }), allFields))
  })

  it("rating100 ÷ 10 with one decimal", () => {
    assert.strictEqual(plexRating(85), 8.5)
    assert.strictEqual(plexRating(100), 10)
    assert.strictEqual(plexRating(1), 0.1)
    assert.strictEqual(plexRating(33), 3.3)
  })

  it("each toggle off leaves its field untouched; all off wants nothing", () => {
    const scene = makeScene({ groups: ["G"] })
    const full = wantedFields(scene, allFields)
    const keyOf: Record<SyncField, ReadonlyArray<string>> = {
      title: ["title"],
      summary: ["summary"],
      studio: ["studio"],
      date: ["originallyAvailableAt"],
      rating: ["rating"],
      tags: ["genres"],
      performers: ["actors"],
      collections: ["collections"],
      poster: ["poster"]
    }
    for (const field of allSyncFields) {
      const wanted = wantedFields(scene, only(...allSyncFields.filter((f) => f !== field)))
      for (const key of keyOf[field]) assert.isFalse(key in wanted, `${field} off still wants ${key}`)
      assert.strictEqual(Object.keys(wanted).length, Object.keys(full).length - keyOf[field].length)
    }
    assert.deepStrictEqual(wantedFields(scene, only()), {})
  })

  it("caps performers at 50 and tags at 100, sanitising names", () => {
    const wanted = wantedFields(
      makeScene({
        performers: Array.from({ length: 70 }, (_, i) => `P${i}`),
        tags: [...Array.from({ length: 120 }, (_, i) => `T${i}`), "t1"],
        studio: "\u201CQuoted\u201D  Studio"
      }),
      allFields
    )
    assert.strictEqual(wanted.actors!.length, 50)
    assert.strictEqual(wanted.genres!.length, 100)
    assert.strictEqual(wanted.studio, "\"Quoted\" Studio")
  })
})

describe("PLEXSYNC_FIELDS", () => {
  const decode = Schema.decodeUnknownEither(SyncFieldsFromString)

  it("reads a comma list, ignoring case, spaces and repeats", () => {
    assert.deepStrictEqual(Either.getOrThrow(decode(" Title, rating ,title,")), ["title", "rating"])
    assert.deepStrictEqual(Either.getOrThrow(decode("")), [])
  })

  it("refuses an unknown field by name", () => {
    const result = decode("title,ratings")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      const message = ParseResult.TreeFormatter.formatErrorSync(result.left)
      assert.include(message, "unknown field \"ratings\"")
      assert.include(message, "allowed: title,summary,studio,date,rating,tags,performers,collections,poster")
    }
  })
})

describe("content hash", () => {
  const scene = makeScene()

  it("is stable and ignores the order of tag lists", () => {
    const a = contentHash(wantedFields(scene, allFields), ctx)
    const b = contentHash(wantedFields(makeScene({ tags: ["tag2", "tag1"] }), allFields), ctx)
    assert.strictEqual(a, b)
    assert.match(a, /^[0-9a-f]{64}$/)
  })

  it("changes with any wanted field, the Plex file, the mode and the field selection", () => {
    const base = contentHash(wantedFields(scene, allFields), ctx)
    const variants = [
      contentHash(wantedFields(makeScene({ title: "Other" }), allFields), ctx),
      contentHash(wantedFields(makeScene({ rating100: 81 }), allFields), ctx),
      contentHash(wantedFields(makeScene({ tags: ["tag1"] }), allFields), ctx),
      contentHash(wantedFields(makeScene({ screenshot: "http://stash/scene/1/screenshot?t=2" }), allFields), ctx),
      contentHash(wantedFields(scene, allFields), { ...ctx, plexFile: "/data/b.mp4" }),
      contentHash(wantedFields(scene, allFields), { ...ctx, preservePlexEdits: true }),
      contentHash(wantedFields(scene, only("title")), ctx)
    ]
    for (const v of variants) assert.notStrictEqual(v, base)
    assert.strictEqual(new Set(variants).size, variants.length)
  })

  it("tells a cleared field from one that does not sync", () => {
    const cleared = contentHash(wantedFields(makeScene({ studio: null }), only("studio")), ctx)
    const off = contentHash(wantedFields(makeScene({ studio: null }), only()), ctx)
    assert.notStrictEqual(cleared, off)
  })
})
