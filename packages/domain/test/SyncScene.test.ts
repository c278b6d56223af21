import { assert, describe, it } from "@effect/vitest"
import { PlexServerDown } from "@plexsync/domain/Errors"
import { allSyncFields, type SyncField } from "@plexsync/domain/FieldMapping"
import type { SceneId } from "@plexsync/domain/Ids"
import { defaultMatchOptions, makeMatcher } from "@plexsync/domain/Matching"
import { parsePathMap } from "@plexsync/domain/PathMap"
import { PlexItem, PlexPart } from "@plexsync/domain/PlexClient"
import { fileAt } from "@plexsync/domain/StashScene"
import type { JobReason } from "@plexsync/domain/SyncJob"
import { syncScene, type SyncSettings } from "@plexsync/domain/SyncScene"
import { SyncState } from "@plexsync/domain/SyncState"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import { Effect, Either, Exit, Layer, Option } from "effect"
import { store } from "./WorkerWorld.js"

const pathMap = Either.getOrThrow(parsePathMap("/stash/media=>/data/scenes"))

const settings = (overrides: Partial<SyncSettings> = {}): SyncSettings => ({
  fields: new Set(allSyncFields),
  preservePlexEdits: false,
  pathMap,
  ...overrides
})

const fullScene = (id: number) =>
  SimStash.sampleScene(id, {
    title: `Scene ${id}`,
    details: "Two people, one beach.",
    date: "2023-07",
    rating100: 85,
    studio: { id: "9", name: "Studio Nine" },
    performers: [{ id: "1", name: "Anna" }, { id: "2", name: "Bob" }],
    tags: [{ id: "1", name: "Outdoor" }, { id: "2", name: "Beach" }],
    groups: [{ id: "3", name: "Summer Series" }],
    files: [fileAt(`/stash/media/${id}.mp4`)]
  })

const world = (scenes: ReadonlyArray<number> = [1]) => {
  const layer = Layer.mergeAll(
    SimStash.layer({ scenes: scenes.map(fullScene) }),
    SimPlex.layer({ items: scenes.map((id) => SimPlex.sampleItem(1000 + id, `/data/scenes/${id}.mp4`)) }),
    store()
  )
  return { layer }
}

/** A test body in a fresh world: scene 1 in Stash, its file in Plex, nothing synced yet. */
const inWorld = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, world().layer)

/** Both simulators, for a test that drives Plex and Stash. */
const sims = Effect.all({ sim: SimPlex.SimPlex, stash: SimStash.SimStash })

/** What the store recorded for a scene, if anything. */
const recorded = (id: number) =>
  Effect.flatMap(SyncState, (state) => Effect.map(state.get(String(id) as SceneId), Option.getOrNull))

const job = (id: number, reason: JobReason = "hook") => ({ sceneId: String(id) as SceneId, reason })

const run = (id: number, s: SyncSettings = settings(), reason: JobReason = "hook") =>
  Effect.gen(function*() {
    const matcher = yield* makeMatcher(defaultMatchOptions)
    return yield* syncScene(job(id, reason), matcher, s)
  })

const plexItem = (ratingKey: string) =>
  Effect.flatMap(SimPlex.SimPlex, (sim) => Effect.map(sim.item(ratingKey), Option.getOrThrow))

const writes = Effect.gen(function*() {
  const sim = yield* SimPlex.SimPlex
  return (yield* sim.requests("edit")) + (yield* sim.requests("rate")) + (yield* sim.requests("uploadPoster")) +
    (yield* sim.requests("scan"))
})

const assertMatchesScene = (item: PlexItem) => {
  assert.strictEqual(item.title, "Scene 1")
  assert.strictEqual(item.summary, "Two people, one beach.")
  assert.strictEqual(item.studio, "Studio Nine")
  assert.strictEqual(item.originallyAvailableAt, "2023-07-01")
  assert.strictEqual(item.userRating, 8.5)
  assert.deepStrictEqual(item.genres, ["Outdoor", "Beach"])
  assert.deepStrictEqual(item.actors, ["Anna", "Bob"])
  assert.deepStrictEqual(item.collections, ["Studio Nine", "Summer Series"])
}

describe("syncing one scene", () => {
  it.scoped("writes every field in one locked edit, the rating, and the poster; records the sync", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const outcome = yield* run(1)
      assert.strictEqual(outcome._tag, "Synced")
      const item = yield* plexItem("1001")
      assertMatchesScene(item)
      assert.deepStrictEqual(yield* sim.requestCounts, {
        sections: 1,
        findByFile: 1,
        getItem: 1,
        edit: 1,
        rate: 1,
        uploadPoster: 1
      })
      for (const f of ["title", "summary", "studio", "originallyAvailableAt", "genre", "actor", "collection"]) {
        assert.include(item.lockedFields, f)
      }
      assert.isTrue(Option.isSome(yield* sim.poster("1001")))
      const state = (yield* recorded(1))!
      assert.strictEqual(state.ratingKey, "1001")
      assert.strictEqual(state.plexFile, "/data/scenes/1.mp4")
      assert.isNotNull(state.imageHash)
      assert.deepStrictEqual(state.written.genres, ["Outdoor", "Beach"])
    }).pipe(inWorld))

  it.scoped("an unchanged scene makes zero Plex requests, not even a read", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* sims
      yield* run(1)
      yield* sim.resetCounts
      yield* stash.resetCounts
      const again = yield* run(1)
      assert.deepStrictEqual(again, { _tag: "Unchanged", checkedPlex: false })
      assert.strictEqual(yield* sim.requests(), 0)
      assert.deepStrictEqual(yield* stash.requestCounts, { findScene: 1 })
    }).pipe(inWorld))

  it.scoped("a change sends only the changed field; the poster only when its bytes change", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* sims
      yield* stash.setScreenshot("1", { bytes: new Uint8Array([1, 2, 3]), contentType: "image/jpeg" })
      yield* run(1)
      yield* sim.resetCounts
      yield* stash.updateScene("1", { title: "Renamed" })
      const outcome = yield* run(1)
      assert.strictEqual(outcome._tag, "Synced")
      const edits = (yield* sim.log).filter((r) => r.op === "edit")
      assert.strictEqual(edits.length, 1)
      const sent = (edits[0]!.detail as { edit: { scalars: object; tags: object } }).edit
      assert.deepStrictEqual(sent.scalars, { title: "Renamed" })
      assert.deepStrictEqual(sent.tags, {})
      assert.strictEqual(yield* sim.requests("rate"), 0)
      assert.strictEqual(yield* sim.posterUploads("1001"), 1, "same bytes: no second upload")
      // a new cover uploads once
      yield* stash.setScreenshot("1", { bytes: new Uint8Array([9, 9]), contentType: "image/png" })
      yield* stash.updateScene("1", { screenshot: "http://stash.test/scene/1/screenshot?t=2" })
      yield* run(1)
      assert.strictEqual(yield* sim.posterUploads("1001"), 2)
    }).pipe(inWorld))

  it.scoped("tags removed in Stash leave Plex; a person's Plex tag stays", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* sims
      yield* run(1)
      // a person adds a genre in Plex
      const item = yield* plexItem("1001")
      yield* sim.addItem(new PlexItem({ ...item, genres: [...item.genres, "Favourite"] }))
      yield* stash.updateScene("1", { tags: [{ id: "1", name: "Outdoor" }, { id: "7", name: "Sunset" }] })
      yield* run(1)
      assert.deepStrictEqual([...(yield* plexItem("1001")).genres].sort(), ["Favourite", "Outdoor", "Sunset"])
    }).pipe(inWorld))

  it.scoped("locked fields survive an agent refresh", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* run(1)
      yield* sim.refreshFromAgent("1001", { title: "agent title", summary: "agent", genre: ["agent"] })
      assertMatchesScene(yield* plexItem("1001"))
    }).pipe(inWorld))

  it.scoped("a deleted scene is SceneMissing", () =>
    Effect.gen(function*() {
      const stash = yield* SimStash.SimStash
      yield* stash.deleteScenes(["1"])
      const exit = yield* Effect.exit(run(1))
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "SceneMissing")
    }).pipe(inWorld))

  it.scoped("never records a sync before the Plex write succeeded; the retry writes it", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* sim.failNext("edit", new PlexServerDown({ message: "reset", code: "ECONNRESET" }))
      const exit = yield* Effect.exit(run(1))
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "PlexServerDown")
      assert.isNull(yield* recorded(1))
      yield* sim.failNext("uploadPoster", new PlexServerDown({ message: "reset", code: "ECONNRESET" }))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(run(1))))
      assert.isNull(yield* recorded(1), "a failed poster upload records nothing either")
      assert.strictEqual((yield* run(1))._tag, "Synced")
      assertMatchesScene(yield* plexItem("1001"))
      assert.strictEqual(yield* sim.requests("edit"), 2, "the edit that went through is not sent again")
    }).pipe(inWorld))

  it.scoped("a toggled-off field is left untouched; a cleared field is cleared", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* sims
      const item = yield* plexItem("1001")
      yield* sim.addItem(new PlexItem({ ...item, summary: "Plex's own", studio: "Old" }))
      const without: ReadonlyArray<SyncField> = allSyncFields.filter((f) => f !== "summary" && f !== "poster")
      yield* stash.updateScene("1", { studio: null })
      yield* run(1, settings({ fields: new Set(without) }))
      const after = yield* plexItem("1001")
      assert.strictEqual(after.summary, "Plex's own")
      assert.strictEqual(after.studio, null)
      assert.strictEqual(yield* sim.requests("uploadPoster"), 0)
    }).pipe(inWorld))

  it.scoped("all fields off: nothing is written, the job still succeeds", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* run(1, settings({ fields: new Set() })), { _tag: "Unchanged", checkedPlex: true })
      assert.strictEqual(yield* writes, 0)
    }).pipe(inWorld))

  it.scoped("preserve mode fills empty fields and keeps a person's", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const item = yield* plexItem("1001")
      yield* sim.addItem(
        new PlexItem({ ...item, studio: "Mine", lockedFields: ["studio"] })
      )
      yield* run(1, settings({ preservePlexEdits: true }))
      const after = yield* plexItem("1001")
      assert.strictEqual(after.studio, "Mine")
      assert.strictEqual(after.summary, "Two people, one beach.")
    }).pipe(inWorld))

  it.scoped("preserve mode replaces a scanner title, keeps a person's locked title and added genre, adds Stash's tags", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* sims
      const preserve = settings({ preservePlexEdits: true })
      // Freshly scanned: the file name as title, nothing locked.
      assert.strictEqual((yield* plexItem("1001")).title, "1")
      const first = yield* run(1, preserve)
      assert.isTrue(first._tag === "Synced" && first.preserved.length === 0)
      assertMatchesScene(yield* plexItem("1001"))

      // A Stash title change still arrives (the title is plexsync's, though locked).
      yield* stash.updateScene("1", { title: "Scene 1, renamed" })
      yield* run(1, preserve)
      assert.strictEqual((yield* plexItem("1001")).title, "Scene 1, renamed")

      // A person retitles the item and adds a genre in Plex's UI: Plex locks both fields.
      const item = yield* plexItem("1001")
      yield* sim.addItem(
        new PlexItem({
          ...item,
          title: "Our favourite",
          genres: [...item.genres, "Handpicked"],
          lockedFields: [...new Set([...item.lockedFields, "title", "genre"])]
        })
      )
      // Stash renames the scene again, drops Beach and adds Night.
      const scene = Option.getOrThrow(yield* stash.scene("1"))
      yield* stash.updateScene("1", {
        title: "Scene 1, renamed again",
        tags: [...scene.tags.filter((t) => t.name !== "Beach"), { id: "3", name: "Night" }]
      })
      const outcome = yield* run(1, preserve)
      assert.isTrue(outcome._tag === "Synced" && outcome.preserved.includes("title"))
      const after = yield* plexItem("1001")
      assert.strictEqual(after.title, "Our favourite")
      assert.deepStrictEqual(after.genres, ["Outdoor", "Night", "Handpicked"])
      assert.strictEqual(after.summary, "Two people, one beach.")
      // Recorded as the person's: not overwritten on the next sync either.
      assert.notProperty((yield* recorded(1))!.written.scalars, "title")
      yield* stash.updateScene("1", { title: "Scene 1, third title" })
      yield* run(1, preserve)
      assert.strictEqual((yield* plexItem("1001")).title, "Our favourite")
    }).pipe(inWorld))

  it.scoped("a reconcile job compares with Plex even when the scene is unchanged, and repairs drift", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* run(1)
      const item = yield* plexItem("1001")
      yield* sim.addItem(new PlexItem({ ...item, title: "edited by hand" }))
      assert.strictEqual((yield* run(1, settings(), "hook"))._tag, "Unchanged")
      assert.strictEqual((yield* run(1, settings(), "reconcile"))._tag, "Synced")
      assert.strictEqual((yield* plexItem("1001")).title, "Scene 1")
      yield* sim.resetCounts
      assert.deepStrictEqual(yield* run(1, settings(), "reconcile"), { _tag: "Unchanged", checkedPlex: true })
      assert.strictEqual(yield* writes, 0)
    }).pipe(inWorld))

  it.scoped("a file Plex has not scanned yet is PlexNotFound and triggers one folder scan", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* sim.removeItem("1001")
      const exit = yield* Effect.exit(run(1))
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "PlexNotFound")
      assert.deepStrictEqual((yield* sim.scans).map((s) => s.folder), ["/data/scenes"])
      assert.isNull(yield* recorded(1))
    }).pipe(inWorld))
})

describe("what plexsync wrote belongs to the item", () => {
  it.scoped("a scene deleted and created again for the same file leaves only the new scene's metadata on the item", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* sims
      yield* sim.addItem(new PlexItem({ ...(yield* plexItem("1001")), genres: ["Added by hand"] }))
      yield* run(1)
      assert.sameMembers([...(yield* plexItem("1001")).genres], ["Added by hand", "Outdoor", "Beach"])
      // Deleted in Stash with its file kept; Stash's next scan makes scene 7 of it, with less known about it.
      yield* stash.deleteScenes(["1"])
      yield* stash.addScenes([
        SimStash.sampleScene(7, {
          title: "Scene 7",
          tags: [{ id: "1", name: "Outdoor" }],
          files: [fileAt("/stash/media/1.mp4")]
        })
      ])
      assert.strictEqual((yield* run(7))._tag, "Synced")
      const item = yield* plexItem("1001")
      assert.strictEqual(item.title, "Scene 7")
      assert.sameMembers([...item.genres], ["Added by hand", "Outdoor"], "scene 1's Beach goes, a person's tag stays")
      assert.deepStrictEqual(item.actors, [])
      assert.isNull(item.studio)
      assert.deepStrictEqual(item.collections, [])
      // Scene 1's record no longer claims the item.
      assert.isNull((yield* recorded(1))?.ratingKey ?? null)
      assert.strictEqual((yield* recorded(7))?.ratingKey, "1001")
    }).pipe(inWorld))

  it.scoped("an item re-added under a new rating key is matched again and written in full", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* run(1)
      yield* sim.removeItem("1001")
      yield* sim.addItem(SimPlex.sampleItem(2001, "/data/scenes/1.mp4"))
      assert.strictEqual((yield* run(1, settings(), "manual"))._tag, "Synced")
      assertMatchesScene(yield* plexItem("2001"))
      assert.strictEqual((yield* recorded(1))?.ratingKey, "2001")
    }).pipe(inWorld))

  it.scoped("a file moved in Stash before Plex rescans: the old item by content, then Plex's new item after the rescan", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* sims
      const facts = { size: 2_147_483_648, duration: 1500 }
      yield* sim.addItem(
        SimPlex.sampleItem(1001, "/data/scenes/1.mp4", {
          parts: [new PlexPart({ file: "/data/scenes/1.mp4", size: facts.size, duration: facts.duration * 1000 })]
        })
      )
      yield* stash.updateScene("1", { files: [fileAt("/stash/media/1.mp4", facts)] })
      yield* run(1)
      yield* stash.updateScene("1", { files: [fileAt("/stash/media/moved/1.mp4", facts)] })
      const moved = yield* run(1, settings(), "poll")
      assert.strictEqual((yield* recorded(1))?.plexFile, "/data/scenes/1.mp4", "matched through the old path")
      assert.strictEqual(moved._tag, "Unchanged", "the old item already shows the scene")
      assert.include((yield* sim.scans).map((s) => s.folder), "/data/scenes/moved", "Plex is asked to scan")
      // Plex's rescan: the old item goes, a new empty one holds the new path.
      yield* sim.removeItem("1001")
      yield* sim.addItem(SimPlex.sampleItem(3001, "/data/scenes/moved/1.mp4"))
      assert.strictEqual((yield* run(1, settings(), "poll"))._tag, "Synced", "not skipped as unchanged")
      assertMatchesScene(yield* plexItem("3001"))
      assert.strictEqual((yield* recorded(1))?.plexFile, "/data/scenes/moved/1.mp4")
      assert.strictEqual((yield* run(1, settings(), "poll"))._tag, "Unchanged")
    }).pipe(inWorld))
})

describe("scenes that share a name, scenes with several files", () => {
  const facts = { size: 4242, duration: 42 }
  const analysedItem = (ratingKey: number, file: string) =>
    SimPlex.sampleItem(ratingKey, file, {
      parts: [new PlexPart({ file, size: facts.size, duration: facts.duration * 1000 })]
    })

  it.scoped("two scenes whose files match one namesake by content: the first takes it, the second waits", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* sims
      yield* sim.addItem(analysedItem(5001, "/data/scenes/old/clip.mp4"))
      yield* stash.addScenes([
        SimStash.sampleScene(11, { title: "Copy A", files: [fileAt("/stash/media/dupA/clip.mp4", facts)] }),
        SimStash.sampleScene(12, { title: "Copy B", files: [fileAt("/stash/media/dupB/clip.mp4", facts)] })
      ])
      yield* run(11)
      const exit = yield* Effect.exit(run(12))
      assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "PlexNotFound")
      yield* stash.updateScene("11", { title: "Copy A, edited" })
      yield* run(11)
      yield* Effect.exit(run(12))
      assert.strictEqual((yield* plexItem("5001")).title, "Copy A, edited", "no turns: the item stays scene 11's")
    }).pipe(inWorld))

  it.scoped("a scene with several files writes the item of each of them Plex has, and keeps all of them current", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* sims
      yield* sim.removeItem("1001")
      yield* sim.addItem(SimPlex.sampleItem(6003, "/data/scenes/m3/p3.mp4"))
      yield* stash.updateScene("1", {
        files: [fileAt("/stash/media/m/p1.mp4"), fileAt("/stash/media/m/p2.mp4"), fileAt("/stash/media/m3/p3.mp4")]
      })
      yield* run(1)
      assert.strictEqual((yield* plexItem("6003")).title, "Scene 1")
      // Plex scans the primary file later; the scene is renamed.
      yield* sim.addItem(SimPlex.sampleItem(6001, "/data/scenes/m/p1.mp4"))
      yield* stash.updateScene("1", { title: "Renamed", tags: [{ id: "9", name: "NewTag" }] })
      yield* run(1)
      for (const key of ["6001", "6003"]) {
        const item = yield* plexItem(key)
        assert.strictEqual(item.title, "Renamed", key)
        assert.deepStrictEqual(item.genres, ["NewTag"], key)
      }
      assert.strictEqual((yield* recorded(1))?.plexFile, "/data/scenes/m/p1.mp4", "matched through the primary file")
    }).pipe(inWorld))
})
