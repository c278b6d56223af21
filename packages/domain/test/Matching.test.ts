import { assert, describe, it } from "@effect/vitest"
import { PlexServerDown } from "@plexsync/domain/Errors"
import type { SceneId } from "@plexsync/domain/Ids"
import type { MatchFile, MatchInput } from "@plexsync/domain/Matching"
import { defaultMatchOptions, makeMatcher, type MatchOptions } from "@plexsync/domain/Matching"
import { parsePathMap } from "@plexsync/domain/PathMap"
import { type PlexItem, PlexPart, PlexSection } from "@plexsync/domain/PlexClient"
import { fileAt } from "@plexsync/domain/StashScene"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import { Effect, Either, Exit, Layer, Logger, TestClock } from "effect"

const sections = [
  new PlexSection({ key: "1", title: "Movies", type: "movie", locations: ["/data"] }),
  new PlexSection({ key: "2", title: "Scenes", type: "movie", locations: ["/data/scenes"] }),
  new PlexSection({ key: "3", title: "Music", type: "artist", locations: ["/data/music"] })
]

const withPlex = (options: SimPlex.SimPlexOptions = {}, stash: SimStash.SimStashOptions = {}) =>
  Effect.provide(Layer.merge(SimPlex.layer({ sections, ...options }), SimStash.layer(stash)))

const matcher = (options: Partial<MatchOptions> = {}) => makeMatcher({ ...defaultMatchOptions, ...options })

/** The Plex simulator, once these items are added to it. */
const plexWith = (...items: ReadonlyArray<PlexItem>) =>
  Effect.tap(SimPlex.SimPlex, (sim) => Effect.forEach(items, (item) => sim.addItem(item), { discard: true }))

const failureTag = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : Exit.isSuccess(exit) ? "success" : "die"

const GiB = 1_073_741_824

/** A scene file as both servers see it (no path map), with its size (bytes) and duration (seconds) if known. */
const file = (path: string, facts: { readonly size?: number; readonly duration?: number } = {}): MatchFile => ({
  stashPath: path,
  plexPath: path,
  size: facts.size ?? null,
  duration: facts.duration ?? null
})

/** Scene 1's match input: its files (paths or `file`s), nothing remembered. */
const scene1 = (files: ReadonlyArray<string | MatchFile>, extra: Partial<MatchInput> = {}): MatchInput => ({
  sceneId: "1" as SceneId,
  files: files.map((f) => typeof f === "string" ? file(f) : f),
  remembered: null,
  ...extra
})

/** An item whose one part Plex has analysed: its size in bytes and duration in seconds. */
const analysed = (
  ratingKey: number,
  path: string,
  size: number,
  durationSeconds: number,
  overrides: Partial<PlexItem> = {}
) =>
  SimPlex.sampleItem(ratingKey, path, {
    parts: [new PlexPart({ file: path, size, duration: Math.round(durationSeconds * 1000) })],
    ...overrides
  })

/** Collects the messages logged while `effect` runs. */
const logging = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => {
      lines.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
  )

describe("matching by full path", () => {
  it.effect("finds the item with Plex's file filter in the libraries holding the path, then reads it in full", () =>
    Effect.gen(function*() {
      const sim = yield* plexWith(SimPlex.sampleItem(7, "/data/scenes/a.mp4", { sectionKey: "2", genres: ["x"] }))
      const m = yield* matcher()
      const found = yield* m.match(scene1(["/data/scenes/a.mp4"]))
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey), ["7"])
      assert.strictEqual(found.via, "file")
      assert.strictEqual(found.plexFile, "/data/scenes/a.mp4")
      assert.deepStrictEqual(found.items[0].genres, ["x"])
      const finds = (yield* sim.log).filter((r) => r.op === "findByFile")
      assert.deepStrictEqual(
        finds.map((r) => (r.detail as { sectionKey: string }).sectionKey),
        ["2", "1"],
        "both libraries whose folder holds the path, the deepest first; never Music"
      )
      assert.strictEqual(yield* sim.requests("getItem"), 1)
    }).pipe(withPlex()))

  it.effect("a verified remembered rating key needs one request; a fresh match does not trust it", () =>
    Effect.gen(function*() {
      const sim = yield* plexWith(SimPlex.sampleItem(7, "/data/scenes/a.mp4", { sectionKey: "2" }))
      const m = yield* matcher()
      const remembered = { ratingKeys: ["7"], plexFile: "/data/scenes/a.mp4" }
      const found = yield* m.match(scene1(["/data/scenes/a.mp4"], { remembered }))
      assert.strictEqual(found.via, "remembered")
      assert.deepStrictEqual(yield* sim.requestCounts, { getItem: 1 })
      const fresh = yield* m.match(scene1(["/data/scenes/a.mp4"], { remembered, fresh: true }))
      assert.strictEqual(fresh.via, "file")
    }).pipe(withPlex()))

  it.effect("a remembered key that is gone or holds another file is matched again", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      // re-added under a new rating key
      yield* sim.addItem(SimPlex.sampleItem(9, "/data/scenes/a.mp4", { sectionKey: "2" }))
      yield* sim.addItem(SimPlex.sampleItem(8, "/data/scenes/other.mp4", { sectionKey: "2" }))
      const m = yield* matcher()
      const gone = yield* m.match(
        scene1(["/data/scenes/a.mp4"], { remembered: { ratingKeys: ["7"], plexFile: "/data/scenes/a.mp4" } })
      )
      assert.deepStrictEqual(gone.items.map((i) => i.ratingKey), ["9"])
      const moved = yield* m.match(
        scene1(["/data/scenes/a.mp4"], { remembered: { ratingKeys: ["8"], plexFile: "/data/scenes/a.mp4" } })
      )
      assert.deepStrictEqual(moved.items.map((i) => i.ratingKey), ["9"])
      assert.strictEqual(moved.via, "file")
    }).pipe(withPlex()))

  it.effect("several items for one file in one library: strict → MatchAmbiguous with the candidates; not strict → the first", () =>
    Effect.gen(function*() {
      yield* plexWith(SimPlex.sampleItem(1, "/data/x/dup.mp4"), SimPlex.sampleItem(2, "/data/x/dup.mp4"))
      const strict = yield* matcher()
      const exit = yield* Effect.exit(strict.match(scene1(["/data/x/dup.mp4"])))
      assert.strictEqual(failureTag(exit), "MatchAmbiguous")
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "MatchAmbiguous") {
        assert.deepStrictEqual(exit.cause.error.candidates.map((c) => c.ratingKey).sort(), ["1", "2"])
        assert.strictEqual(exit.cause.error.path, "/data/x/dup.mp4")
      }
      const loose = yield* matcher({ strict: false })
      const found = yield* loose.match(scene1(["/data/x/dup.mp4"]))
      assert.include(["1", "2"], found.items[0].ratingKey)
    }).pipe(withPlex()))

  it.effect("a file that is an item in two overlapping libraries matches both items", () =>
    Effect.gen(function*() {
      yield* plexWith(
        SimPlex.sampleItem(20, "/data/scenes/both.mp4", { sectionKey: "2" }),
        SimPlex.sampleItem(21, "/data/scenes/both.mp4", { sectionKey: "1" })
      )
      const m = yield* matcher()
      const found = yield* m.match(scene1(["/data/scenes/both.mp4"]))
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey).sort(), ["20", "21"])
      // Remembered, both are verified; one of them gone → matched afresh.
      const remembered = { ratingKeys: ["20", "21"], plexFile: "/data/scenes/both.mp4" }
      assert.strictEqual((yield* m.match(scene1(["/data/scenes/both.mp4"], { remembered }))).via, "remembered")
    }).pipe(withPlex()))

  it.effect("every file of a scene is tried, the primary first: a scene whose second file Plex has is matched", () =>
    Effect.gen(function*() {
      yield* plexWith(SimPlex.sampleItem(30, "/data/scenes/second.mkv", { sectionKey: "2" }))
      const m = yield* matcher({ scanOnMiss: false })
      const found = yield* m.match(scene1(["/data/scenes/first.mp4", "/data/scenes/second.mkv"]))
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey), ["30"])
      assert.strictEqual(found.plexFile, "/data/scenes/second.mkv")
      assert.strictEqual(found.stashFile, "/data/scenes/second.mkv")
    }).pipe(withPlex()))

  it.effect("a Windows path matches Plex's spelling of it through the section index", () =>
    Effect.gen(function*() {
      yield* plexWith(SimPlex.sampleItem(5, "D:\\Media\\Clip.mp4", { sectionKey: "9" }))
      const m = yield* matcher()
      const found = yield* m.match(scene1(["d:/media/clip.mp4"]))
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey), ["5"])
      assert.strictEqual(found.via, "index")
    }).pipe(withPlex({
      sections: [new PlexSection({ key: "9", title: "Win", type: "movie", locations: ["D:\\Media"] })]
    })))

  it.effect("a backslash in a POSIX file name is part of the name: the file matches its own item", () =>
    Effect.gen(function*() {
      yield* plexWith(
        SimPlex.sampleItem(40, "/data/scenes/Weird/Back\\Slash.mp4", { sectionKey: "2" }),
        SimPlex.sampleItem(41, "/data/scenes/Other/Slash.mp4", { sectionKey: "2" })
      )
      const m = yield* matcher()
      const found = yield* m.match(scene1(["/data/scenes/Weird/Back\\Slash.mp4"]))
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey), ["40"])
    }).pipe(withPlex()))
})

describe("a name alone never matches", () => {
  it.effect("a unique namesake in another folder is not the scene's file: not found, and Plex is asked to scan", () =>
    Effect.gen(function*() {
      const sim = yield* plexWith(analysed(50, "/data/Personal/2019 Holiday/video.mp4", 734_003_200, 95))
      const m = yield* matcher()
      const exit = yield* Effect.exit(
        m.match(scene1([file("/data/scenes/Fresh_Studio/Set 12/video.mp4", { size: GiB, duration: 1800 })]))
      )
      assert.strictEqual(failureTag(exit), "PlexNotFound")
      assert.deepStrictEqual(
        (yield* sim.scans).map((s) => s.folder),
        ["/data/scenes/Fresh_Studio/Set 12", "/data/scenes/Fresh_Studio/Set 12"],
        "its folder, in each library holding it"
      )
      assert.strictEqual(yield* sim.requests("getItem"), 0, "the namesake is never read, let alone written")
    }).pipe(withPlex()))

  it.effect("a namesake of the same size and duration is the file, moved: matched by content, logged, and the new folder scanned", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const sim = yield* plexWith(analysed(51, "/data/scenes/old/clip.mp4", GiB, 1800.4, { sectionKey: "2" }))
      const m = yield* matcher()
      const found = yield* m.match(scene1([file("/data/scenes/new/clip.mp4", { size: GiB, duration: 1800 })])).pipe(
        Effect.provide(logging(lines))
      )
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey), ["51"])
      assert.strictEqual(found.via, "content")
      assert.strictEqual(found.plexFile, "/data/scenes/old/clip.mp4", "the path the item holds, not the scene's")
      assert.isTrue(lines.some((line) => line.includes("same file name, size and duration")), lines.join("\n"))
      assert.include((yield* sim.scans).map((s) => s.folder), "/data/scenes/new")
    }).pipe(withPlex()))

  it.effect("the same size but another duration, or no size known, is not the file", () =>
    Effect.gen(function*() {
      yield* plexWith(
        analysed(52, "/data/scenes/a/one.mp4", GiB, 1200),
        SimPlex.sampleItem(53, "/data/scenes/b/two.mp4")
      )
      const m = yield* matcher({ scanOnMiss: false })
      const wrongDuration = yield* Effect.exit(
        m.match(scene1([file("/data/scenes/c/one.mp4", { size: GiB, duration: 1800 })]))
      )
      assert.strictEqual(failureTag(wrongDuration), "PlexNotFound")
      const unknown = yield* Effect.exit(m.match(scene1([file("/data/scenes/c/two.mp4", { size: GiB, duration: 1 })])))
      assert.strictEqual(failureTag(unknown), "PlexNotFound")
    }).pipe(withPlex()))

  it.effect("several namesakes of the same content are ambiguous", () =>
    Effect.gen(function*() {
      yield* plexWith(
        analysed(54, "/data/scenes/a/same.mp4", GiB, 600),
        analysed(55, "/data/scenes/b/same.mp4", GiB, 600)
      )
      const m = yield* matcher({ scanOnMiss: false })
      const exit = yield* Effect.exit(m.match(scene1([file("/data/scenes/c/same.mp4", { size: GiB, duration: 600 })])))
      assert.strictEqual(failureTag(exit), "MatchAmbiguous")
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "MatchAmbiguous") {
        assert.deepStrictEqual(exit.cause.error.candidates.map((c) => c.ratingKey).sort(), ["54", "55"])
      }
    }).pipe(withPlex()))

  it.effect("a same-content namesake that is another Stash scene's file is that scene's, never this one's", () =>
    Effect.gen(function*() {
      yield* plexWith(analysed(56, "/data/scenes/a/copy.mp4", GiB, 600))
      const m = yield* matcher({ scanOnMiss: false })
      const exit = yield* Effect.exit(m.match(scene1([file("/data/scenes/b/copy.mp4", { size: GiB, duration: 600 })])))
      assert.strictEqual(failureTag(exit), "PlexNotFound")
    }).pipe(withPlex({}, {
      scenes: [SimStash.sampleScene(2, { files: [fileAt("/data/scenes/a/copy.mp4", { size: GiB, duration: 600 })] })]
    })))
})

describe("Windows libraries and path maps", () => {
  const win = [new PlexSection({ key: "9", title: "Win", type: "movie", locations: ["D:\\Media"] })]
  const mapped = (stashPath: string, plexPath: string, facts: { size?: number; duration?: number } = {}) => ({
    ...file(plexPath, facts),
    stashPath
  })

  it.effect("a namesake that is another scene's file in another case is that scene's (Windows paths ignore case)", () =>
    Effect.gen(function*() {
      yield* plexWith(analysed(60, "D:\\Media\\old\\clip.mp4", 5000, 100, { sectionKey: "9" }))
      const m = yield* matcher({
        scanOnMiss: false,
        pathMap: Either.getOrThrow(parsePathMap("/data/videos=>D:\\Media"))
      })
      const exit = yield* Effect.exit(
        m.match(
          scene1([mapped("/data/videos/new/clip.mp4", "D:\\Media\\new\\clip.mp4", { size: 5000, duration: 100 })])
        )
      )
      assert.strictEqual(failureTag(exit), "PlexNotFound")
    }).pipe(withPlex({ sections: win }, {
      scenes: [SimStash.sampleScene(2, { files: [fileAt("/data/videos/Old/Clip.mp4", { size: 5000, duration: 100 })] })]
    })))

  it.effect("two Stash folders mounted into one Plex folder: an owner under either rule is found", () =>
    Effect.gen(function*() {
      yield* plexWith(analysed(61, "/data/scenes/old/x.mp4", 5000, 100, { sectionKey: "2" }))
      const m = yield* matcher({
        scanOnMiss: false,
        pathMap: Either.getOrThrow(parsePathMap("/stash/a=>/data/scenes;/stash/b=>/data/scenes"))
      })
      const exit = yield* Effect.exit(
        m.match(scene1([mapped("/stash/a/new/x.mp4", "/data/scenes/new/x.mp4", { size: 5000, duration: 100 })]))
      )
      assert.strictEqual(failureTag(exit), "PlexNotFound")
    }).pipe(withPlex({}, {
      scenes: [SimStash.sampleScene(2, { files: [fileAt("/stash/b/old/x.mp4", { size: 5000, duration: 100 })] })]
    })))

  it.effect("overlapping Windows libraries: the copy whose path Plex spells in another case is matched too", () =>
    Effect.gen(function*() {
      yield* plexWith(
        SimPlex.sampleItem(62, "D:\\Media\\StudioB\\q.mp4", { sectionKey: "9" }),
        SimPlex.sampleItem(63, "d:\\media\\StudioB\\Q.MP4", { sectionKey: "10" })
      )
      const m = yield* matcher()
      const found = yield* m.match(scene1(["D:\\Media\\StudioB\\q.mp4"]))
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey).sort(), ["62", "63"])
    }).pipe(withPlex({
      sections: [
        ...win,
        new PlexSection({ key: "10", title: "StudioB", type: "movie", locations: ["d:\\media\\StudioB"] })
      ]
    })))

  it.effect("the folder to scan is spelled as the library's location spells it", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const m = yield* matcher()
      yield* Effect.exit(m.match(scene1(["d:\\media\\new\\f.mp4"])))
      assert.deepStrictEqual((yield* sim.scans).map((scan) => scan.folder), ["D:\\Media\\new"])
    }).pipe(withPlex({ sections: win })))
})

describe("errors while matching", () => {
  it.effect("a transport error stays a transport error, never not-found", () =>
    Effect.gen(function*() {
      const sim = yield* plexWith(SimPlex.sampleItem(7, "/data/scenes/a.mp4", { sectionKey: "2" }))
      const m = yield* matcher()
      for (const op of ["findByFile", "getItem", "sections"] as const) {
        yield* sim.failNext(op, new PlexServerDown({ message: "refused", code: "ECONNREFUSED" }))
        const exit = yield* Effect.exit(m.match(scene1(["/data/scenes/a.mp4"], {
          remembered: op === "getItem" ? { ratingKeys: ["7"], plexFile: "/data/scenes/a.mp4" } : null
        })))
        assert.strictEqual(failureTag(exit), op === "sections" ? "success" : "PlexServerDown", op)
      }
      // sections were cached by the first match; a fresh matcher sees the failure
      yield* sim.failNext("sections", new PlexServerDown({ message: "refused", code: "ECONNREFUSED" }))
      const fresh = yield* matcher()
      assert.strictEqual(failureTag(yield* Effect.exit(fresh.match(scene1(["/data/scenes/a.mp4"])))), "PlexServerDown")
      // and the index build too
      yield* sim.failNext("listSection", new PlexServerDown({ message: "reset", code: "ECONNRESET" }))
      assert.strictEqual(
        failureTag(yield* Effect.exit(fresh.match(scene1(["/data/scenes/missing.mp4"])))),
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
      const input = scene1(["/data/scenes/new/a.mp4"])
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(input))), "PlexNotFound")
      assert.deepStrictEqual((yield* sim.scans).map((s) => [s.sectionKey, s.folder]), [
        ["2", "/data/scenes/new"],
        ["1", "/data/scenes/new"]
      ])
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(input))), "PlexNotFound")
      assert.strictEqual((yield* sim.scans).length, 2, "one scan per folder and library")
      yield* TestClock.adjust("11 seconds")
      const found = yield* m.match(input)
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey), ["7"])
    }).pipe(withPlex()))

  it.effect("while Plex scans a library, a folder never asked is asked at once; one asked before waits for the end", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const m = yield* matcher({ libraries: ["Scenes"], scanning: () => Effect.succeed(true) })
      yield* sim.addItemOnScan(SimPlex.sampleItem(7, "/data/scenes/a/a.mp4", { sectionKey: "2" }), { delayMs: 1_000 })
      yield* sim.addItemOnScan(SimPlex.sampleItem(8, "/data/scenes/b/b.mp4", { sectionKey: "2" }), { delayMs: 1_000 })
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(scene1(["/data/scenes/a/a.mp4"])))), "PlexNotFound")
      // Another folder of the same library, while the first folder's scan is in flight.
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(scene1(["/data/scenes/b/b.mp4"])))), "PlexNotFound")
      assert.deepStrictEqual((yield* sim.scans).map((s) => s.folder), ["/data/scenes/a", "/data/scenes/b"])
      // Past the interval, still scanning: a folder asked before is not asked again.
      yield* TestClock.adjust("1 minute")
      yield* sim.addItemOnScan(SimPlex.sampleItem(9, "/data/scenes/a/c.mp4", { sectionKey: "2" }), { delayMs: 1_000 })
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(scene1(["/data/scenes/a/c.mp4"])))), "PlexNotFound")
      assert.strictEqual((yield* sim.scans).length, 2)
    }).pipe(withPlex()))

  it.effect("a second new file in a folder asked about before gets a scan of its own, once the interval has passed", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const m = yield* matcher({ libraries: ["Scenes"] })
      yield* sim.addItemOnScan(SimPlex.sampleItem(7, "/data/scenes/new/a.mp4", { sectionKey: "2" }), { delayMs: 1_000 })
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(scene1(["/data/scenes/new/a.mp4"])))), "PlexNotFound")
      yield* TestClock.adjust("2 seconds")
      yield* m.match(scene1(["/data/scenes/new/a.mp4"]))
      // Later, a second file lands in the same folder; Plex scans nothing by itself.
      yield* TestClock.adjust("1 minute")
      yield* sim.addItemOnScan(SimPlex.sampleItem(8, "/data/scenes/new/b.mp4", { sectionKey: "2" }), { delayMs: 1_000 })
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(scene1(["/data/scenes/new/b.mp4"])))), "PlexNotFound")
      assert.strictEqual((yield* sim.scans).length, 2, "the folder is asked again")
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(scene1(["/data/scenes/new/b.mp4"])))), "PlexNotFound")
      assert.strictEqual((yield* sim.scans).length, 2, "not again within the interval")
      yield* TestClock.adjust("2 seconds")
      const found = yield* m.match(scene1(["/data/scenes/new/b.mp4"]))
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey), ["8"])
    }).pipe(withPlex()))

  it.effect("configured libraries: only those are searched; none existing is a clear permanent error", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      // Plex put this file in Movies (its location /data holds it too)
      yield* sim.addItem(SimPlex.sampleItem(7, "/data/scenes/a.mp4", { sectionKey: "1" }))
      const onlyMovies = yield* matcher({ libraries: ["movies"] })
      const found = yield* onlyMovies.match(scene1(["/data/scenes/a.mp4"]))
      assert.deepStrictEqual(found.items.map((i) => i.ratingKey), ["7"])
      const finds = (yield* sim.log).filter((r) => r.op === "findByFile")
      assert.deepStrictEqual(finds.map((r) => (r.detail as { sectionKey: string }).sectionKey), ["1"])
      const wrong = yield* matcher({ libraries: ["Nope"] })
      const exit = yield* Effect.exit(wrong.match(scene1(["/data/scenes/a.mp4"])))
      assert.strictEqual(failureTag(exit), "PlexPermanentError")
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.include(exit.cause.error.message, "PLEXSYNC_PLEX_LIBRARIES (Nope)")
        assert.include(exit.cause.error.message, "Movies, Scenes, Music")
      }
    }).pipe(withPlex()))
})

describe("section index", () => {
  it.effect("the index is built once per run from a paged listing and refreshed on a miss at most once per interval", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      for (let i = 0; i < 25; i++) yield* sim.addItem(analysed(100 + i, `/data/lib/${i}.mp4`, GiB + i, 600))
      const m = yield* matcher({ pageSize: 10, scanOnMiss: false, indexRefreshMs: 60_000, libraries: ["Movies"] })
      const moved = (name: string | number, size: number) =>
        scene1([file(`/data/moved/${name}.mp4`, { size, duration: 600 })])
      for (let i = 0; i < 25; i++) {
        const found = yield* m.match(moved(i, GiB + i))
        assert.deepStrictEqual(found.items.map((item) => item.ratingKey), [String(100 + i)])
      }
      assert.strictEqual(yield* sim.requests("listSection"), 3, "25 items in pages of 10, listed once")
      // a newly scanned file is not hidden: after the interval, a miss rebuilds the index once
      yield* sim.addItem(analysed(200, "/data/lib/late.mp4", 5 * GiB, 600))
      const early = yield* Effect.exit(m.match(moved("late", 5 * GiB)))
      assert.strictEqual(failureTag(early), "PlexNotFound")
      assert.strictEqual(yield* sim.requests("listSection"), 3, "no rebuild before the interval")
      yield* TestClock.adjust("61 seconds")
      const late = yield* m.match(moved("late", 5 * GiB))
      assert.deepStrictEqual(late.items.map((item) => item.ratingKey), ["200"])
      assert.strictEqual(yield* sim.requests("listSection"), 6)
    }).pipe(withPlex()))

  it.effect("a bulk sync: after enough file lookups the library is indexed, and the rest need no lookup", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      for (let i = 0; i < 30; i++) yield* sim.addItem(analysed(100 + i, `/data/lib/${i}.mp4`, GiB + i, 600))
      const m = yield* matcher({ pageSize: 10, indexAfterLookups: 5, scanOnMiss: false, libraries: ["Movies"] })
      const vias: Array<string> = []
      for (let i = 0; i < 30; i++) {
        const found = yield* m.match(scene1([`/data/lib/${i}.mp4`]))
        assert.deepStrictEqual(found.items.map((item) => item.ratingKey), [String(100 + i)])
        vias.push(found.via)
      }
      assert.deepStrictEqual(vias, [...Array(5).fill("file"), ...Array(25).fill("index")])
      assert.strictEqual(yield* sim.requests("findByFile"), 5, "no lookup once the library is indexed")
      assert.strictEqual(yield* sim.requests("listSection"), 3, "30 items in pages of 10, listed once")
      assert.strictEqual(yield* sim.requests("getItem"), 30, "each item read once, which verifies it")
    }).pipe(withPlex()))

  it.effect("with the library indexed, a new file is found by the filter at once, and a stale entry is matched again", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      for (let i = 0; i < 10; i++) yield* sim.addItem(analysed(100 + i, `/data/lib/${i}.mp4`, GiB + i, 600))
      const m = yield* matcher({ pageSize: 10, indexAfterLookups: 2, scanOnMiss: false, libraries: ["Movies"] })
      for (let i = 0; i < 2; i++) yield* m.match(scene1([`/data/lib/${i}.mp4`]))
      assert.strictEqual(yield* sim.requests("listSection"), 1, "indexed")

      // A file Plex scanned after the index was built: no waiting for a rebuild.
      yield* sim.addItem(analysed(200, "/data/lib/late.mp4", 5 * GiB, 600))
      const late = yield* m.match(scene1(["/data/lib/late.mp4"]))
      assert.deepStrictEqual([late.via, late.items[0].ratingKey], ["file", "200"])
      assert.strictEqual((yield* m.match(scene1(["/data/lib/late.mp4"]))).via, "index", "what the filter found is kept")

      // The item of an indexed file deleted and the file added again under a new key: never the old key.
      yield* sim.removeItem("105")
      yield* sim.addItem(analysed(300, "/data/lib/5.mp4", GiB + 5, 600))
      const readded = yield* m.match(scene1(["/data/lib/5.mp4"]))
      assert.deepStrictEqual([readded.via, readded.items[0].ratingKey], ["file", "300"])
      // An indexed item that now holds another file is not this file's.
      yield* sim.removeItem("106")
      yield* sim.addItem(analysed(106, "/data/lib/elsewhere.mp4", GiB + 6, 600))
      assert.strictEqual(failureTag(yield* Effect.exit(m.match(scene1(["/data/lib/6.mp4"])))), "PlexNotFound")
      assert.strictEqual(yield* sim.requests("listSection"), 1, "never rebuilt: the filter answered")
    }).pipe(withPlex()))

  it.effect("a file filter that answers a whole big folder indexes the library at once", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      for (let i = 0; i < 12; i++) yield* sim.addItem(analysed(100 + i, `/data/big/${i}.mp4`, GiB + i, 600))
      yield* sim.addItem(analysed(200, "/data/small/a.mp4", GiB, 600))
      const m = yield* matcher({
        pageSize: 50,
        indexWhenCandidates: 10,
        scanOnMiss: false,
        libraries: ["Movies"]
      })
      // A lookup in a small folder answers one candidate: no index.
      assert.strictEqual((yield* m.match(scene1(["/data/small/a.mp4"]))).via, "file")
      assert.strictEqual(yield* sim.requests("listSection"), 0)
      // One in the big folder answers twelve: the library is indexed, and the rest of the folder needs no lookup.
      assert.strictEqual((yield* m.match(scene1(["/data/big/0.mp4"]))).via, "file")
      assert.strictEqual(yield* sim.requests("listSection"), 1)
      for (let i = 1; i < 12; i++) assert.strictEqual((yield* m.match(scene1([`/data/big/${i}.mp4`]))).via, "index")
      assert.strictEqual(yield* sim.requests("findByFile"), 2)
    }).pipe(withPlex({ folderLevelFileFilter: true })))
})
