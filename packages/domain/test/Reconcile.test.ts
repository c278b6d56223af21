import { assert, describe, it } from "@effect/vitest"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { PlexPermanentError, PlexServerDown, StashUnavailable } from "@plexsync/domain/Errors"
import { allSyncFields } from "@plexsync/domain/FieldMapping"
import type { SceneId } from "@plexsync/domain/Ids"
import { parsePathMap } from "@plexsync/domain/PathMap"
import { PlexItem, PlexSection } from "@plexsync/domain/PlexClient"
import type { ReconcileOptions, ReconcileProgress, ReconcileSettings } from "@plexsync/domain/Reconcile"
import { parseReconcileScope, reconcile, reconcileDocument, ReconcileScope } from "@plexsync/domain/Reconcile"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import { fileAt, type StashScene } from "@plexsync/domain/StashScene"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { SyncState } from "@plexsync/domain/SyncState"
import { defaultEngineSettings, makeWorker } from "@plexsync/domain/Worker"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import * as TestStore from "@plexsync/testing/TestStore"
import { Effect, Either, Layer, Option, TestClock } from "effect"

// ---------------------------------------------------------------------------------------------------------
// The world: real SQLite in a temp dir, simulated Stash and Plex.

const pathMap = Either.getOrThrow(parsePathMap("/stash/media=>/data/scenes"))

const settings = (overrides: Partial<ReconcileSettings> = {}): ReconcileSettings => ({
  fields: new Set(allSyncFields),
  preservePlexEdits: false,
  pathMap,
  libraries: [],
  strictMatching: true,
  ...overrides
})

/** 2026-03-01T12:00:00Z: "now" in every test, so created_at scopes mean something. */
const now = Date.UTC(2026, 2, 1, 12)

/** Stash's own time format, in a +02:00 server offset (as a European Stash writes it). */
const stashLocal = (ms: number) => new Date(ms + 2 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "+02:00")

const scene = (id: number, overrides: Partial<StashScene> = {}): StashScene =>
  SimStash.sampleScene(id, {
    title: `Scene ${id}`,
    details: id % 3 === 0 ? null : `Details of scene ${id}.`,
    date: `20${10 + (id % 14)}-0${1 + (id % 9)}`,
    rating100: id % 4 === 0 ? null : 10 + (id * 7) % 91,
    studio: id % 5 === 0 ? null : { id: String(id % 3), name: `Studio ${id % 3}` },
    performers: Array.from({ length: id % 5 }, (_, i) => ({ id: String(i), name: `Performer ${(id + i) % 20}` })),
    tags: Array.from({ length: 1 + (id % 6) }, (_, i) => ({ id: String(i), name: `Tag ${(id * 3 + i) % 40}` })),
    groups: id % 6 === 0 ? [{ id: "1", name: "Group A" }] : [],
    files: [fileAt(`/stash/media/${id}.mp4`)],
    createdAt: stashLocal(now - 30 * 86_400_000),
    updatedAt: stashLocal(now - 30 * 86_400_000),
    ...overrides
  })

const itemFor = (id: number, overrides: Partial<PlexItem> = {}) =>
  SimPlex.sampleItem(1000 + id, `/data/scenes/${id}.mp4`, overrides)

const sid = (n: number) => String(n) as SceneId

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

interface WorldOptions {
  readonly scenes?: ReadonlyArray<StashScene>
  readonly items?: ReadonlyArray<PlexItem>
  readonly sections?: ReadonlyArray<PlexSection>
}

const world = (options: WorldOptions = {}) => {
  const scenes = options.scenes ?? range(1, 20).map((id) => scene(id))
  return Layer.mergeAll(
    TestStore.layer({ prefix: "plexsync-reconcile-", quickCheck: false }),
    SimStash.layer({ scenes }),
    SimPlex.layer({
      items: options.items ?? scenes.map((s) => itemFor(Number(s.id))),
      ...(options.sections === undefined ? {} : { sections: options.sections })
    })
  )
}

const run = (options: Partial<ReconcileOptions> = {}, s: ReconcileSettings = settings()) =>
  reconcile(s, { scope: ReconcileScope.all, ...options })

/** The repair: the sync engine's worker drains the queue. Returns how many jobs it settled. */
const repair = (s: ReconcileSettings = settings()) =>
  Effect.gen(function*() {
    const worker = yield* makeWorker({ ...defaultEngineSettings, ...s, scanOnMiss: false })
    const summary = yield* worker.drain()
    assert.strictEqual(summary.deadLettered + summary.retried, 0)
    return summary.processed
  })

const queuedJobs = Effect.flatMap(SyncQueue, (q) => q.list({ limit: 100_000 }))

const plexRequests = Effect.gen(function*() {
  const sim = yield* SimPlex.SimPlex
  return {
    list: yield* sim.requests("listSection"),
    sections: yield* sim.requests("sections"),
    perItem: (yield* sim.requests("getItem")) + (yield* sim.requests("findByFile"))
  }
})

const plexItem = (ratingKey: string) =>
  Effect.flatMap(SimPlex.SimPlex, (sim) => Effect.map(sim.item(ratingKey), Option.getOrThrow))

/** A change made by a person in Plex. */
const editInPlex = (ratingKey: string, patch: Partial<PlexItem>) =>
  Effect.gen(function*() {
    const sim = yield* SimPlex.SimPlex
    const item = yield* plexItem(ratingKey)
    yield* sim.addItem(new PlexItem({ ...item, ...patch }))
  })

const noGaps = { neverSynced: 0, stashChanged: 0, plexDiffers: 0, missingInPlex: 0, orphanedInPlex: 0 }

/** Syncs the whole library once: reconcile, repair, and check that a second reconciliation finds nothing. */
const syncAll = (s: ReconcileSettings = settings()) =>
  Effect.gen(function*() {
    yield* run({}, s)
    yield* repair(s)
    const again = yield* run({}, s)
    assert.deepStrictEqual(again.gaps, { ...noGaps, orphanedInPlex: again.gaps.orphanedInPlex })
    assert.strictEqual(again.queued, 0)
  })

const at = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.zipRight(TestClock.setTime(now), effect)

/** A test body at `now`, in the default world: 20 scenes in Stash, each file in Plex, an empty store. */
const inWorld = <A, E, R>(effect: Effect.Effect<A, E, R>) => at(Effect.provide(effect, world()))

/** A test body run once the default world is in sync (`syncAll()`). */
const afterSyncAll = <A, E, R>(effect: Effect.Effect<A, E, R>) => inWorld(Effect.zipRight(syncAll(), effect))

// ---------------------------------------------------------------------------------------------------------

describe("reconcile", () => {
  it.effect("queues every scene of a new library once, from one listing: O(pages), no request per scene", () =>
    Effect.gen(function*() {
      const result = yield* run({ stashPageSize: 7, plexPageSize: 6 })
      assert.strictEqual(result.scenesChecked, 20)
      assert.deepStrictEqual(result.gaps, { ...noGaps, neverSynced: 20 })
      assert.strictEqual(result.queued, 20)
      assert.deepStrictEqual([...result.queuedSceneIds].sort(), range(1, 20).map(sid).sort())
      const jobs = yield* queuedJobs
      assert.strictEqual(jobs.length, 20)
      assert.isTrue(jobs.every((j) => j.reason === "reconcile"))

      // ⌈20 ÷ 6⌉ listing pages and one sections request; ⌈20 ÷ 7⌉ Stash pages; nothing per scene.
      assert.deepStrictEqual(yield* plexRequests, { list: 4, sections: 1, perItem: 0 })
      const stash = yield* SimStash.SimStash
      assert.strictEqual(yield* stash.requests("listScenes"), 3)
      assert.strictEqual(yield* stash.requests(), 3)
      assert.deepStrictEqual(result.requests, { plex: 5, stash: 3 })
    }).pipe(inWorld))

  it.effect("finds nothing right after the repair, and queues nothing", () =>
    Effect.gen(function*() {
      yield* run()
      assert.strictEqual(yield* repair(), 20)
      const again = yield* run()
      assert.deepStrictEqual(again.gaps, noGaps)
      assert.strictEqual(again.queued, 0)
      assert.deepStrictEqual(again.skipped, {})
      assert.strictEqual((yield* queuedJobs).length, 0)
    }).pipe(inWorld))

  it.effect("a tag renamed in Stash (updated_at unchanged) is found by content hash: stashChanged", () =>
    Effect.gen(function*() {
      const stash = yield* SimStash.SimStash
      const before = Option.getOrThrow(yield* stash.scene("4"))
      // A tag rename does not touch the scene's updated_at.
      yield* stash.addScenes([scene(4, { tags: [{ id: "1", name: "Renamed tag" }], updatedAt: before.updatedAt })])
      const result = yield* run()
      assert.deepStrictEqual(result.gaps, { ...noGaps, stashChanged: 1 })
      assert.deepStrictEqual(result.queuedSceneIds, [sid(4)])
      yield* repair()
      assert.include((yield* plexItem("1004")).genres, "Renamed tag")
      assert.deepStrictEqual((yield* run()).gaps, noGaps)
    }).pipe(afterSyncAll))

  it.effect("an edit made in Plex is plexDiffers; the repair puts Stash's value back and the next run is clean", () =>
    Effect.gen(function*() {
      yield* editInPlex("1007", { summary: "Someone wrote this in Plex." })
      yield* editInPlex("1008", { studio: null })
      yield* editInPlex("1009", { userRating: 2 })
      const result = yield* run()
      assert.deepStrictEqual(result.gaps, { ...noGaps, plexDiffers: 3 })
      assert.deepStrictEqual([...result.queuedSceneIds].sort(), [sid(7), sid(8), sid(9)])
      yield* repair()
      assert.strictEqual((yield* plexItem("1007")).summary, "Details of scene 7.")
      assert.strictEqual((yield* plexItem("1008")).studio, "Studio 2")
      assert.deepStrictEqual((yield* run()).gaps, noGaps)
    }).pipe(afterSyncAll))

  it.effect("a tag removed in Plex is plexDiffers; a tag a person added in Plex is not (a sync keeps it)", () =>
    Effect.gen(function*() {
      const five = yield* plexItem("1005")
      yield* editInPlex("1005", { genres: five.genres.slice(1) })
      const eleven = yield* plexItem("1011")
      yield* editInPlex("1011", { genres: [...eleven.genres, "Added in Plex"] })
      const result = yield* run()
      assert.deepStrictEqual(result.gaps, { ...noGaps, plexDiffers: 1 })
      assert.deepStrictEqual(result.queuedSceneIds, [sid(5)])
      yield* repair()
      assert.deepStrictEqual((yield* plexItem("1005")).genres, five.genres)
      assert.include((yield* plexItem("1011")).genres, "Added in Plex")
      assert.deepStrictEqual((yield* run()).gaps, noGaps)
    }).pipe(afterSyncAll))

  it.effect("preserve-Plex-edits: a value a person set or cleared, or a genre they added, is no gap; a dropped tag is", () =>
    Effect.gen(function*() {
      const preserve = settings({ preservePlexEdits: true })
      yield* syncAll(preserve)
      // A person's edits in Plex's UI, on fields plexsync wrote and locked (they stay locked).
      const two = yield* plexItem("1002")
      yield* editInPlex("1002", { title: "My own title", genres: [...two.genres, "Mine"] })
      yield* editInPlex("1003", { originallyAvailableAt: null })
      // Lists follow the set rule in every mode: a Stash tag removed in Plex comes back.
      const four = yield* plexItem("1004")
      yield* editInPlex("1004", { genres: four.genres.slice(1) })
      const result = yield* run({}, preserve)
      assert.deepStrictEqual(result.gaps, { ...noGaps, plexDiffers: 1 })
      assert.deepStrictEqual(result.queuedSceneIds, [sid(4)])
      yield* repair(preserve)
      assert.strictEqual((yield* plexItem("1002")).title, "My own title")
      assert.include((yield* plexItem("1002")).genres, "Mine")
      assert.isNull((yield* plexItem("1003")).originallyAvailableAt)
      assert.deepStrictEqual((yield* plexItem("1004")).genres, four.genres)
      assert.deepStrictEqual((yield* run({}, preserve)).gaps, noGaps)
      // The same edit outside preserve mode is a gap (and the mode is part of the content hash: all changed).
      const strict = yield* run({ dryRun: true })
      assert.strictEqual(strict.gaps.stashChanged, 20)
    }).pipe(inWorld))

  it.effect("an item re-added in Plex under a new rating key is plexDiffers", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* sim.removeItem("1006")
      yield* sim.addItem(SimPlex.sampleItem(5006, "/data/scenes/6.mp4"))
      const result = yield* run()
      assert.deepStrictEqual(result.gaps, { ...noGaps, plexDiffers: 1 })
      yield* repair()
      assert.strictEqual((yield* plexItem("5006")).title, "Scene 6")
      assert.deepStrictEqual((yield* run()).gaps, noGaps)
    }).pipe(afterSyncAll))

  it.effect("a file Plex has not scanned is missingInPlex: reported, queued only with includeMissing", () =>
    at(
      Effect.gen(function*() {
        const scenes = range(1, 5).map((id) => scene(id))
        const layer = world({ scenes, items: [1, 2, 3].map((id) => itemFor(id)) })
        return yield* Effect.gen(function*() {
          const result = yield* run()
          assert.deepStrictEqual(result.gaps, { ...noGaps, neverSynced: 3, missingInPlex: 2 })
          assert.strictEqual(result.queued, 3)
          assert.deepStrictEqual(result.skipped, { notInPlex: 2 })
          assert.deepStrictEqual([...result.samples.missingInPlex].sort(), [sid(4), sid(5)])
          const withMissing = yield* run({ includeMissing: true })
          assert.strictEqual(withMissing.gaps.missingInPlex, 2)
          // The three found ones are queued already; the two missing ones are queued now.
          assert.deepStrictEqual(withMissing.skipped, { alreadyQueued: 3 })
          assert.deepStrictEqual([...withMissing.queuedSceneIds].sort(), [sid(4), sid(5)])
          assert.strictEqual((yield* queuedJobs).length, 5)
        }).pipe(Effect.provide(layer))
      })
    ))

  it.effect("a Plex item whose file is no scene's is orphanedInPlex (scope all only); it is never queued", () =>
    at(
      Effect.gen(function*() {
        const scenes = range(1, 4).map((id) => scene(id))
        const items = [...scenes.map((s) => itemFor(Number(s.id))), SimPlex.sampleItem(9001, "/data/scenes/gone.mp4")]
        return yield* Effect.gen(function*() {
          yield* syncAll()
          const stash = yield* SimStash.SimStash
          yield* stash.deleteScenes(["2"])
          const result = yield* run()
          assert.deepStrictEqual(result.gaps, { ...noGaps, orphanedInPlex: 2 })
          assert.deepStrictEqual([...result.samples.orphanedInPlex].sort(), ["1002", "9001"])
          assert.strictEqual(result.queued, 0)
          assert.isTrue(result.orphansChecked)
          const recent = yield* run({ scope: ReconcileScope.recent("7d", "7 days") })
          assert.isFalse(recent.orphansChecked)
          assert.strictEqual(recent.gaps.orphanedInPlex, 0)
        }).pipe(Effect.provide(world({ scenes, items })))
      })
    ))

  it.effect("dedup: a scene already queued or running is skipped as alreadyQueued and not queued twice", () =>
    Effect.gen(function*() {
      const queue = yield* SyncQueue
      yield* queue.enqueueMany([{ sceneId: sid(1), reason: "hook" }, { sceneId: sid(2), reason: "poll" }])
      const [running] = yield* queue.claim({ limit: 1, leaseMs: 60_000 })
      assert.strictEqual(running?.job.sceneId, sid(1))
      const result = yield* run()
      assert.strictEqual(result.gaps.neverSynced, 20)
      assert.deepStrictEqual(result.skipped, { alreadyQueued: 2 })
      assert.strictEqual(result.queued, 18)
      assert.notInclude(result.queuedSceneIds, sid(1))
      assert.notInclude(result.queuedSceneIds, sid(2))
      const jobs = yield* queuedJobs
      assert.strictEqual(jobs.length, 20)
      assert.strictEqual(jobs.find((j) => j.sceneId === sid(2))?.reason, "poll")
      // A second run straight away queues nothing new.
      const again = yield* run()
      assert.strictEqual(again.queued, 0)
      assert.deepStrictEqual(again.skipped, { alreadyQueued: 20 })
    }).pipe(inWorld))

  it.effect("a scene in the DLQ as MatchAmbiguous is not queued again by every run; after recovery it is", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      const candidates = [
        { ratingKey: "1002", title: "Scene 2", file: "/data/scenes/2.mp4" },
        { ratingKey: "7002", title: "Scene 2", file: "/data/other/2.mp4" }
      ]
      const entry = yield* dlq.add({
        sceneId: sid(2),
        errorTag: "MatchAmbiguous",
        message: "2 Plex items could be /data/scenes/2.mp4",
        detail: { _tag: "MatchAmbiguous", path: "/data/scenes/2.mp4", candidates },
        attempts: 1,
        outageId: null,
        payload: { sceneId: sid(2), reason: "hook" }
      })
      // A permanent failure of another class is recorded but recovered already: it does not hold scene 3 back.
      const recovered = yield* dlq.add({
        sceneId: sid(3),
        errorTag: "PlexPermanentError",
        message: "400",
        attempts: 1,
        outageId: null,
        payload: { sceneId: sid(3), reason: "hook" }
      })
      yield* dlq.redrive([{ id: recovered, sceneId: sid(3) }], { reason: "recovery" })

      for (const dryRun of [true, false, false]) {
        const result = yield* run({ dryRun })
        assert.strictEqual(result.gaps.neverSynced, 20, "still a gap: it is reported")
        assert.notInclude(result.queuedSceneIds, sid(2))
        assert.strictEqual(result.skipped.inDeadLetterQueue, 1)
      }
      assert.isUndefined((yield* queuedJobs).find((j) => j.sceneId === sid(2)))
      assert.strictEqual(yield* dlq.count({ sceneId: sid(2) }), 1, "no new DLQ entry")

      // Recovery (`plexsync dlq retry`) queues it; once synced, reconciliation treats it like any other scene.
      const [outcome] = yield* dlq.redrive([{ id: entry, sceneId: sid(2) }], { reason: "recovery" })
      assert.strictEqual(outcome?._tag, "Recovered")
      yield* repair()
      yield* editInPlex("1002", { title: "Edited in Plex" })
      const after = yield* run()
      assert.deepStrictEqual(after.queuedSceneIds, [sid(2)])
      assert.deepStrictEqual(after.skipped, {})
    }).pipe(inWorld))

  it.effect("a scene refused by Plex for good is skipped until it changes in Stash", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const dlq = yield* DeadLetterQueue
      // A person edits the item in Plex; the repair is refused for good.
      yield* editInPlex("1004", { title: "Edited in Plex" })
      assert.deepStrictEqual((yield* run()).queuedSceneIds, [sid(4)])
      yield* sim.failNext("edit", new PlexPermanentError({ message: "400 Bad Request", status: 400 }))
      const worker = yield* makeWorker({ ...defaultEngineSettings, ...settings(), scanOnMiss: false })
      assert.strictEqual((yield* worker.drain()).deadLettered, 1)
      assert.strictEqual(yield* dlq.count({ sceneId: sid(4), errorTags: ["PlexPermanentError"] }), 1)

      // Unchanged in Stash: the next runs report the gap but do not queue it (nor add DLQ entries).
      for (let i = 0; i < 2; i++) {
        const result = yield* run()
        assert.deepStrictEqual(result.gaps, { ...noGaps, plexDiffers: 1 })
        assert.strictEqual(result.queued, 0)
        assert.deepStrictEqual(result.skipped, { inDeadLetterQueue: 1 })
      }
      assert.strictEqual(yield* dlq.count({ sceneId: sid(4) }), 1)

      // Changed in Stash: a new version may well be accepted, so it is queued (and syncs).
      const stash = yield* SimStash.SimStash
      yield* stash.addScenes([scene(4, { title: "New title in Stash" })])
      const changed = yield* run()
      assert.deepStrictEqual(changed.gaps, { ...noGaps, stashChanged: 1 })
      assert.deepStrictEqual(changed.queuedSceneIds, [sid(4)])
      yield* repair()
      assert.strictEqual((yield* plexItem("1004")).title, "New title in Stash")
    }).pipe(afterSyncAll))

  it.effect("a dry run reports the same gaps, queues nothing and records nothing", () =>
    Effect.gen(function*() {
      const dry = yield* run({ dryRun: true })
      assert.isTrue(dry.dryRun)
      assert.strictEqual(dry.queued, 20)
      assert.strictEqual((yield* queuedJobs).length, 0)
      const store = yield* Settings
      assert.isTrue(Option.isNone(yield* store.get(SettingKeys.lastReconcile)))
      const states = yield* SyncState
      assert.strictEqual((yield* states.getMany(range(1, 20).map(sid))).length, 0)
      const real = yield* run()
      assert.deepStrictEqual(real.gaps, dry.gaps)
      assert.deepStrictEqual(real.queuedSceneIds, dry.queuedSceneIds)
    }).pipe(inWorld))

  it.effect("records the result for status: reconcile.last with finishedAt", () =>
    Effect.gen(function*() {
      const result = yield* run()
      const store = yield* Settings
      const stored = JSON.parse(Option.getOrThrow(yield* store.get(SettingKeys.lastReconcile)))
      assert.strictEqual(stored.finishedAt, new Date(now).toISOString())
      assert.strictEqual(stored.scenesChecked, 20)
      assert.strictEqual(stored.queued, 20)
      assert.deepStrictEqual(stored.gaps, result.gaps)
      assert.strictEqual(stored.scope, "all")
    }).pipe(inWorld))

  it.effect("path mapping: Stash paths are joined to Plex paths through PLEXSYNC_PATH_MAP (Windows paths too)", () =>
    at(
      Effect.gen(function*() {
        const scenes = [
          scene(1, { files: [fileAt("D:\\Media\\Stash\\Clips\\One.mp4")] }),
          scene(2, { files: [fileAt("/mnt/nas/two.mp4")] })
        ]
        const items = [
          SimPlex.sampleItem(1001, "\\\\nas\\share\\clips\\One.mp4", { sectionKey: "2" }),
          SimPlex.sampleItem(1002, "/data/scenes/two.mp4")
        ]
        const sections = [
          SimPlex.sampleSection("1"),
          new PlexSection({ key: "2", title: "Windows", type: "movie", locations: ["\\\\nas\\share"] })
        ]
        const mapped = settings({
          pathMap: Either.getOrThrow(parsePathMap("d:\\media\\stash=>\\\\nas\\share;/mnt/nas=>/data/scenes"))
        })
        return yield* Effect.gen(function*() {
          const unmapped = yield* run({ dryRun: true }, settings({ pathMap: [] }))
          assert.deepStrictEqual(unmapped.gaps, { ...noGaps, missingInPlex: 2, orphanedInPlex: 2 })
          const result = yield* run({}, mapped)
          assert.deepStrictEqual(result.gaps, { ...noGaps, neverSynced: 2 })
          assert.strictEqual(result.plexItems, 2)
        }).pipe(Effect.provide(world({ scenes, items, sections })))
      })
    ))

  it.effect("only the configured libraries are listed; an item elsewhere is not found", () =>
    at(
      Effect.gen(function*() {
        const sections = [
          SimPlex.sampleSection("1"),
          new PlexSection({ key: "2", title: "Other", type: "movie", locations: ["/other"] })
        ]
        const scenes = [scene(1), scene(2, { files: [fileAt("/other/2.mp4")] })]
        const items = [itemFor(1), SimPlex.sampleItem(1002, "/other/2.mp4", { sectionKey: "2" })]
        return yield* Effect.gen(function*() {
          const result = yield* run({}, settings({ libraries: ["adult"] }))
          assert.deepStrictEqual(result.gaps, { ...noGaps, neverSynced: 1, missingInPlex: 1 })
          assert.strictEqual(result.plexItems, 1)
          assert.deepStrictEqual(yield* plexRequests, { list: 1, sections: 1, perItem: 0 })
        }).pipe(Effect.provide(world({ scenes, items, sections })))
      })
    ))

  it.effect("scopes 24h and 7d select the scenes added to Stash or changed in it that recently", () =>
    at(
      Effect.gen(function*() {
        const hour = 3_600_000
        const scenes = [
          scene(1, { createdAt: stashLocal(now - 2 * hour) }),
          scene(2, { createdAt: stashLocal(now - 23 * hour) }),
          scene(3, { createdAt: stashLocal(now - 25 * hour) }),
          scene(4, { createdAt: stashLocal(now - 6 * 24 * hour) }),
          // Old, but edited a minute ago: recent (a change the feed may have missed is what reconciling is for).
          scene(5, { createdAt: stashLocal(now - 40 * 24 * hour), updatedAt: stashLocal(now - 60_000) }),
          // Old, edited three days ago: in the week, not the day.
          scene(7, { createdAt: stashLocal(now - 40 * 24 * hour), updatedAt: stashLocal(now - 3 * 24 * hour) }),
          // Written by a Stash in UTC-10: still compared as the instant it is.
          scene(6, { createdAt: new Date(now - 20 * hour - 10 * hour).toISOString().replace(/\.\d{3}Z$/, "-10:00") })
        ]
        return yield* Effect.gen(function*() {
          const day = yield* run({ dryRun: true, scope: Either.getOrThrow(parseReconcileScope("24h")) })
          assert.strictEqual(day.scope, "24h")
          assert.deepStrictEqual([...day.queuedSceneIds].sort(), [sid(1), sid(2), sid(5), sid(6)])
          assert.strictEqual(day.scenesChecked, 4)
          const week = yield* run({ dryRun: true, scope: Either.getOrThrow(parseReconcileScope("7d")) })
          assert.deepStrictEqual(
            [...week.queuedSceneIds].sort(),
            [sid(1), sid(2), sid(3), sid(4), sid(5), sid(6), sid(7)]
          )
          const all = yield* run({ dryRun: true })
          assert.strictEqual(all.scenesChecked, 7)
        }).pipe(Effect.provide(world({ scenes })))
      })
    ))

  it.effect("a scene-id scope checks those scenes only and counts ids Stash does not have", () =>
    Effect.gen(function*() {
      const result = yield* run({ scope: ReconcileScope.scenes([sid(3), sid(4), sid(999), sid(3)]) })
      assert.strictEqual(result.scope, "scenes")
      assert.strictEqual(result.scenesChecked, 2)
      assert.deepStrictEqual([...result.queuedSceneIds].sort(), [sid(3), sid(4)])
      assert.deepStrictEqual(result.skipped, { sceneNotFound: 1 })
      assert.isFalse(result.orphansChecked)
      const stash = yield* SimStash.SimStash
      assert.strictEqual(yield* stash.requests("findScenes"), 1)
      assert.strictEqual(yield* stash.requests("listScenes"), 0)
    }).pipe(inWorld))

  it.effect("a file that several Plex items hold is skipped under strict matching, unless the scene remembers one", () =>
    at(
      Effect.gen(function*() {
        const scenes = [scene(1), scene(2)]
        const items = [itemFor(1), itemFor(2), SimPlex.sampleItem(3001, "/data/scenes/1.mp4")]
        return yield* Effect.gen(function*() {
          const result = yield* run()
          assert.deepStrictEqual(result.gaps, { ...noGaps, neverSynced: 1 })
          assert.deepStrictEqual(result.skipped, { ambiguousInPlex: 1 })
          assert.deepStrictEqual(result.queuedSceneIds, [sid(2)])
          const loose = yield* run({ dryRun: true }, settings({ strictMatching: false }))
          assert.strictEqual(loose.gaps.neverSynced, 2)
        }).pipe(Effect.provide(world({ scenes, items })))
      })
    ))

  it.effect("a scene without a file is counted as skipped, not as a gap", () =>
    at(
      Effect.gen(function*() {
        const result = yield* run()
        assert.deepStrictEqual(result.skipped, { noFile: 1 })
        assert.strictEqual(result.gaps.neverSynced, 1)
      }).pipe(Effect.provide(world({ scenes: [scene(1), scene(2, { files: [] })] })))
    ))

  it.effect("the JSON document has the contract's keys and ISO times", () =>
    Effect.gen(function*() {
      const doc = reconcileDocument(yield* run())
      for (const key of ["scope", "dryRun", "scenesChecked", "gaps", "queued", "queuedSceneIds", "skipped"]) {
        assert.property(doc, key)
      }
      assert.deepStrictEqual(Object.keys(doc.gaps).sort(), Object.keys(noGaps).sort())
      assert.strictEqual(doc.finishedAt, "2026-03-01T12:00:00.000Z")
      assert.deepStrictEqual(JSON.parse(JSON.stringify(doc)), doc)
    }).pipe(inWorld))

  it.effect("a server failing mid-run fails the run with its error; what was queued stays valid, nothing is recorded", () =>
    Effect.gen(function*() {
      const stash = yield* SimStash.SimStash
      const sim = yield* SimPlex.SimPlex
      yield* sim.failNext("listSection", new PlexServerDown({ message: "Plex refused", code: "ECONNREFUSED" }))
      const plexDown = yield* Effect.flip(run({ stashPageSize: 7 }))
      assert.strictEqual(plexDown._tag, "PlexServerDown")
      assert.strictEqual((yield* queuedJobs).length, 0)
      assert.strictEqual(yield* stash.requests(), 0)
      // Stash goes down once the first page was compared: the pages compared were queued, then the run fails.
      const downAfterFirstPage = (p: ReconcileProgress) =>
        p.phase === "stash" && p.checked === 7
          ? stash.failNext("listScenes", new StashUnavailable({ message: "Stash refused", code: "ECONNREFUSED" }))
          : Effect.void
      const stashDown = yield* Effect.flip(run({ stashPageSize: 7, onProgress: downAfterFirstPage }))
      assert.strictEqual(stashDown._tag, "StashUnavailable")
      // The first page's seven scenes were queued before the second page's request failed.
      assert.strictEqual((yield* queuedJobs).length, 7)
      const store = yield* Settings
      assert.isTrue(Option.isNone(yield* store.get(SettingKeys.lastReconcile)))
      // The rerun finds the rest and queues each scene once.
      const again = yield* run({ stashPageSize: 7 })
      assert.strictEqual(again.gaps.neverSynced, 20)
      assert.strictEqual((yield* queuedJobs).length, 20)
    }).pipe(inWorld))

  it.effect("reports progress: the Plex listing, then the Stash pages, up to their totals", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      yield* run({
        plexPageSize: 8,
        stashPageSize: 8,
        onProgress: (p) =>
          Effect.sync(() =>
            void seen.push(p.phase === "plex" ? `plex ${p.read}/${p.total}` : `stash ${p.checked}/${p.total}`)
          )
      })
      assert.deepStrictEqual(seen, [
        "plex 8/20",
        "plex 16/20",
        "plex 20/20",
        "stash 8/20",
        "stash 16/20",
        "stash 20/20"
      ])
    }).pipe(inWorld))

  it("parses scopes and refuses others by name", () => {
    assert.deepStrictEqual(Either.getOrThrow(parseReconcileScope("all")), ReconcileScope.all)
    const day = Either.getOrThrow(parseReconcileScope(" 24H "))
    assert.strictEqual(day._tag === "Recent" && day.name, "24h")
    assert.isTrue(Either.isRight(parseReconcileScope("7d")))
    assert.isTrue(Either.isRight(parseReconcileScope("12h")))
    const bad = parseReconcileScope("yesterday")
    assert.isTrue(Either.isLeft(bad) && bad.left.includes("\"yesterday\""))
    assert.isTrue(Either.isLeft(parseReconcileScope("0h")))
  })
})
