import { assert, describe, it } from "@effect/vitest"
import { PlexServerDown } from "@plexsync/domain/Errors"
import { defaultMatchOptions, makeMatcher, type MatchOptions } from "@plexsync/domain/Matching"
import { type PlexItem, PlexSection } from "@plexsync/domain/PlexClient"
import * as SimPlex from "@plexsync/testing/SimPlex"
import { Effect, Exit, TestClock } from "effect"

const sections = [
  new PlexSection({ key: "1", title: "Movies", type: "movie", locations: ["/data"] }),
  new PlexSection({ key: "2", title: "Scenes", type: "movie", locations: ["/data/scenes"] }),
  new PlexSection({ key: "3", title: "Music", type: "artist", locations: ["/data/music"] })
]

const withPlex = (options: SimPlex.SimPlexOptions = {}) => Effect.provide(SimPlex.layer({ sections, ...options }))

const matcher = (options: Partial<MatchOptions> = {}) => makeMatcher({ ...defaultMatchOptions, ...options })

/** The Plex simulator, once these items are added to it. */
const plexWith = (...items: ReadonlyArray<PlexItem>) =>
  Effect.tap(SimPlex.SimPlex, (sim) => Effect.forEach(items, (item) => sim.addItem(item), { discard: true }))

const failureTag = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : Exit.isSuccess(exit) ? "success" : "die"

describe("matching by full path", () => {
  it.effect("finds the item with Plex's file filter in the section holding the path, then reads it in full", () =>
    Effect.gen(function*() {
      const sim = yield* plexWith(SimPlex.sampleItem(7, "/data/scenes/a.mp4", { sectionKey: "2", genres: ["x"] }))
      const m = yield* matcher()
      const found = yield* m.match({ plexPath: "/data/scenes/a.mp4", remembered: null })
      assert.strictEqual(found.item.ratingKey, "7")
      assert.strictEqual(found.via, "file")
      assert.deepStrictEqual(found.item.genres, ["x"])
      const log = yield* sim.log
      const finds = log.filter((r) => r.op === "findByFile")
      assert.strictEqual(finds.length, 1, "only the longest-prefix section is searched")
      assert.deepStrictEqual((finds[0]!.detail as { sectionKey: string }).sectionKey, "2")
      assert.strictEqual(yield* sim.requests("getItem"), 1)
    }).pipe(withPlex()))

  it.effect("a verified remembered rating key needs one request", () =>
    Effect.gen(function*() {
      const sim = yield* plexWith(SimPlex.sampleItem(7, "/data/scenes/a.mp4", { sectionKey: "2" }))
      const m = yield* matcher()
      const found = yield* m.match({
        plexPath: "/data/scenes/a.mp4",
        remembered: { ratingKey: "7", plexFile: "/data/scenes/a.mp4" }
      })
      assert.strictEqual(found.via, "remembered")
      assert.deepStrictEqual(yield* sim.requestCounts, { getItem: 1 })
    }).pipe(withPlex()))

  it.effect("a remembered key that is gone or holds another file is matched again", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      // re-added under a new rating key
      yield* sim.addItem(SimPlex.sampleItem(9, "/data/scenes/a.mp4", { sectionKey: "2" }))
      yield* sim.addItem(SimPlex.sampleItem(8, "/data/scenes/other.mp4", { sectionKey: "2" }))
      const m = yield* matcher()
      const gone = yield* m.match({
        plexPath: "/data/scenes/a.mp4",
        remembered: { ratingKey: "7", plexFile: "/data/scenes/a.mp4" }
      })
      assert.strictEqual(gone.item.ratingKey, "9")
      const moved = yield* m.match({
        plexPath: "/data/scenes/a.mp4",
        remembered: { ratingKey: "8", plexFile: "/data/scenes/a.mp4" }
      })
      assert.strictEqual(moved.item.ratingKey, "9")
      assert.strictEqual(moved.via, "file")
    }).pipe(withPlex()))

  it.effect("several items for one file: strict → MatchAmbiguous with the candidates; not strict → the first", () =>
    Effect.gen(function*() {
      yield* plexWith(SimPlex.sampleItem(1, "/data/x/dup.mp4"), SimPlex.sampleItem(2, "/data/x/dup.mp4"))
      const strict = yield* matcher()
      const exit = yield* Effect.exit(strict.match({ plexPath: "/data/x/dup.mp4", remembered: null }))
      assert.strictEqual(failureTag(exit), "MatchAmbiguous")
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "MatchAmbiguous") {
        assert.deepStrictEqual(exit.cause.error.candidates.map((c) => c.ratingKey).sort(), ["1", "2"])
        assert.strictEqual(exit.cause.error.path, "/data/x/dup.mp4")
      }
      const loose = yield* matcher({ strict: false })
      const found = yield* loose.match({ plexPath: "/data/x/dup.mp4", remembered: null })
      assert.include(["1", "2"], found.item.ratingKey)
    }).pipe(withPlex()))

  it.effect("a Windows path matches Plex's spelling of it through the section index", () =>
    Effect.gen(function*() {
      yield* plexWith(SimPlex.sampleItem(5, "D:\\Media\\Clip.mp4", { sectionKey: "9" }))
      const m = yield* matcher()
      const found = yield* m.match({ plexPath: "d:/media/clip.mp4", remembered: null })
      assert.strictEqual(found.item.ratingKey, "5")
      assert.strictEqual(found.via, "index")
    }).pipe(withPlex({
      sections: [new PlexSection({ key: "9", title: "Win", type: "movie", locations: ["D:\\Media"] })]
    })))
})

describe("errors while matching", () => {
  it.effect("a transport error stays a transport error, never not-found", () =>
    Effect.gen(function*() {
      const sim = yield* plexWith(SimPlex.sampleItem(7, "/data/scenes/a.mp4", { sectionKey: "2" }))
      const m = yield* matcher()
      for (const op of ["findByFile", "getItem", "sections"] as const) {
        yield* sim.failNext(op, new PlexServerDown({ message: "refused", code: "ECONNREFUSED" }))
        const exit = yield* Effect.exit(m.match({
          plexPath: "/data/scenes/a.mp4",
          remembered: op === "getItem" ? { ratingKey: "7", plexFile: "/data/scenes/a.mp4" } : null
        }))
        assert.strictEqual(failureTag(exit), op === "sections" ? "success" : "PlexServerDown", op)
      }
      // sections were cached by the first match; a fresh matcher sees the failure
      yield* sim.failNext("sections", new PlexServerDown({ message: "refused", code: "ECONNREFUSED" }))
      const fresh = yield* matcher()
      assert.strictEqual(
        failureTag(yield* Effect.exit(fresh.match({ plexPath: "/data/scenes/a.mp4", remembered: null }))),
        "PlexServerDown"
      )
      // and the index build too
      yield* sim.failNext("listSection", new PlexServerDown({ message: "reset", code: "ECONNRESET" }))
      assert.strictEqual(
        failureTag(yield* Effect.exit(fresh.match({ plexPath: "/data/scenes/missing.mp4", remembered: null }))),
        "PlexServerDown"
      )
    }).pipe(withPlex()))

  it.effect("not found → PlexNotFound, asking Plex once to scan the folder; the item is found once scanned", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* sim.addItemOnScan(SimPlex.sampleItem(7, "/data/scenes/new/a.mp4", { sectionKey: "2" }), {
        delayMs: 10_000
      })
      const m = yield* matcher()
      const input = { plexPath: "/data/scenes/new/a.mp4", remembered: null }
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(input))), "PlexNotFound")
      assert.deepStrictEqual((yield* sim.scans).map((s) => [s.sectionKey, s.folder]), [["2", "/data/scenes/new"]])
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(input))), "PlexNotFound")
      assert.strictEqual((yield* sim.scans).length, 1, "one scan per folder")
      yield* TestClock.adjust("11 seconds")
      const found = yield* m.match(input)
      assert.strictEqual(found.item.ratingKey, "7")
    }).pipe(withPlex()))

  it.effect("configured libraries: only those are searched; none existing is a clear permanent error", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      // Plex put this file in Movies (its location /data holds it too)
      yield* sim.addItem(SimPlex.sampleItem(7, "/data/scenes/a.mp4", { sectionKey: "1" }))
      const onlyMovies = yield* matcher({ libraries: ["movies"] })
      const found = yield* onlyMovies.match({ plexPath: "/data/scenes/a.mp4", remembered: null })
      assert.strictEqual(found.item.ratingKey, "7")
      const finds = (yield* sim.log).filter((r) => r.op === "findByFile")
      assert.deepStrictEqual(finds.map((r) => (r.detail as { sectionKey: string }).sectionKey), ["1"])
      const wrong = yield* matcher({ libraries: ["Nope"] })
      const exit = yield* Effect.exit(wrong.match({ plexPath: "/data/scenes/a.mp4", remembered: null }))
      assert.strictEqual(failureTag(exit), "PlexPermanentError")
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.include(exit.cause.error.message, "PLEXSYNC_PLEX_LIBRARIES (Nope)")
        assert.include(exit.cause.error.message, "Movies, Scenes, Music")
      }
    }).pipe(withPlex()))
})

describe("section index and file-name fallback", () => {
  it.effect("matches by file name as a last resort; two same-named files are ambiguous", () =>
    Effect.gen(function*() {
      yield* plexWith(
        SimPlex.sampleItem(1, "/data/old/place/unique.mp4"),
        SimPlex.sampleItem(2, "/data/a/same.mp4"),
        SimPlex.sampleItem(3, "/data/b/same.mp4")
      )
      const m = yield* matcher({ scanOnMiss: false })
      const found = yield* m.match({ plexPath: "/data/new/Unique.mp4", remembered: null })
      assert.strictEqual(found.item.ratingKey, "1")
      assert.strictEqual(found.via, "basename")
      const exit = yield* Effect.exit(m.match({ plexPath: "/data/c/same.mp4", remembered: null }))
      assert.strictEqual(failureTag(exit), "MatchAmbiguous")
    }).pipe(withPlex()))

  it.effect("the index is built once per run from a paged listing and refreshed on a miss at most once per interval", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      for (let i = 0; i < 25; i++) yield* sim.addItem(SimPlex.sampleItem(100 + i, `/data/lib/${i}.mp4`))
      const m = yield* matcher({ pageSize: 10, scanOnMiss: false, indexRefreshMs: 60_000 })
      for (let i = 0; i < 25; i++) {
        const found = yield* m.match({ plexPath: `/data/moved/${i}.mp4`, remembered: null })
        assert.strictEqual(found.item.ratingKey, String(100 + i))
      }
      assert.strictEqual(yield* sim.requests("listSection"), 3, "25 items in pages of 10, listed once")
      // a newly scanned file is not hidden: after the interval, a miss rebuilds the index once
      yield* sim.addItem(SimPlex.sampleItem(200, "/data/lib/late.mp4"))
      const early = yield* Effect.exit(m.match({ plexPath: "/data/moved/late.mp4", remembered: null }))
      assert.strictEqual(failureTag(early), "PlexNotFound")
      assert.strictEqual(yield* sim.requests("listSection"), 3, "no rebuild before the interval")
      yield* TestClock.adjust("61 seconds")
      const late = yield* m.match({ plexPath: "/data/moved/late.mp4", remembered: null })
      assert.strictEqual(late.item.ratingKey, "200")
      assert.strictEqual(yield* sim.requests("listSection"), 6)
    }).pipe(withPlex()))
})
