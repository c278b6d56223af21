import { assert, describe, it } from "@effect/vitest"
import { normaliseDate, toStashScene, WireScene } from "@plexsync/stash/StashWire"
import { Effect, Either, Schema } from "effect"

const decode = Schema.decodeUnknown(WireScene)

const base = { id: "12", created_at: "2025-05-01T10:00:00+10:00", updated_at: "2025-05-02T11:30:00+10:00" }

describe("decoding Stash scenes", () => {
  it("keeps full and partial dates as Stash stores them", () => {
    assert.strictEqual(normaliseDate("2021-03-04"), "2021-03-04")
    assert.strictEqual(normaliseDate("2019"), "2019")
    assert.strictEqual(normaliseDate("2020-05"), "2020-05")
    assert.strictEqual(normaliseDate("2020-05-06T00:00:00Z"), "2020-05-06")
    assert.strictEqual(normaliseDate(""), null)
    assert.strictEqual(normaliseDate("0000-00-00"), null)
    assert.strictEqual(normaliseDate("soon"), null)
    assert.strictEqual(normaliseDate(null), null)
  })

  it.effect("turns a minimal answer (missing and null lists) into empty lists and nulls", () =>
    Effect.gen(function*() {
      const scene = toStashScene(yield* decode({ ...base, performers: null, tags: null, files: null, paths: null }))
      const { createdAt, id, updatedAt, ...rest } = scene
      assert.deepStrictEqual({ id, updatedAt, createdAt }, {
        id: "12",
        updatedAt: "2025-05-02T11:30:00+10:00",
        createdAt: "2025-05-01T10:00:00+10:00"
      })
      const nulls = { title: null, details: null, date: null, rating100: null, studio: null, screenshot: null }
      const emptyLists = { performers: [], tags: [], groups: [], files: [] }
      assert.deepStrictEqual({ ...rest }, { ...nulls, ...emptyLists })
    }))

  it.effect("reads `groups` from current servers and `movies` from older ones into one shape", () =>
    Effect.gen(function*() {
      const current = toStashScene(
        yield* decode({ ...base, groups: [{ group: { id: "3", name: "Series" }, scene_index: 1 }] })
      )
      const older = toStashScene(yield* decode({ ...base, movies: [{ movie: { id: "3", name: "Series" } }] }))
      assert.deepStrictEqual(current.groups, [{ id: "3", name: "Series" }])
      assert.deepStrictEqual(older.groups, current.groups)
    }))

  it.effect("accepts numeric ids, drops null entries and empty paths, and rejects out-of-range ratings", () =>
    Effect.gen(function*() {
      const scene = toStashScene(
        yield* decode({
          ...base,
          id: 12,
          title: "",
          rating100: 0,
          studio: { id: 4, name: "Studio" },
          tags: [null, { id: "1", name: "Tag" }],
          files: [{ path: "/a.mp4" }, null, { path: "" }],
          paths: { screenshot: "http://stash/scene/12/screenshot?t=1" }
        })
      )
      assert.strictEqual(scene.id, "12")
      assert.strictEqual(scene.title, null)
      assert.strictEqual(scene.rating100, null)
      assert.deepStrictEqual(scene.studio, { id: "4", name: "Studio" })
      assert.deepStrictEqual(scene.tags, [{ id: "1", name: "Tag" }])
      assert.deepStrictEqual(scene.files.map((file) => file.path), ["/a.mp4"])
      assert.strictEqual(scene.screenshot, "http://stash/scene/12/screenshot?t=1")
    }))

  it("fails, saying where, on a scene without an id or timestamps", () => {
    const result = Schema.decodeUnknownEither(WireScene)({ id: "x1", created_at: "t" })
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      const message = String(result.left)
      assert.include(message, "id")
      assert.include(message, "updated_at")
    }
  })
})
