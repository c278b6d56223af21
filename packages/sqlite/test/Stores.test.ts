import { SqlClient } from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { BreakerState, BreakerStore, closedBreaker } from "@plexsync/domain/BreakerStore"
import type { OutageId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { reconcileHistoryLimit, ReconcileLog } from "@plexsync/domain/ReconcileLog"
import type { RecoveryResult } from "@plexsync/domain/RecoveryLog"
import { RecoveryLog, recoveryOutcome } from "@plexsync/domain/RecoveryLog"
import { ProcessLease, SettingKeys, Settings } from "@plexsync/domain/Settings"
import { ItemWrite, SceneSyncState, SyncState } from "@plexsync/domain/SyncState"
import { Effect, Option, TestClock } from "effect"
import migration0007 from "../src/migrations/0007_reconcile_runs.js"
import { freshStore, scene } from "./support.js"

describe("OutageHistory on SQLite", () => {
  it.scoped("keeps at most one open outage per target; open returns the one already open", () =>
    Effect.gen(function*() {
      const outages = yield* OutageHistory
      const sql = yield* SqlClient
      const plex = yield* outages.open("plex", { startedAt: 1000, cause: "ECONNREFUSED" })
      const again = yield* outages.open("plex", { startedAt: 2000, cause: "later" })
      const stash = yield* outages.open("stash", { startedAt: 1500, cause: null })
      assert.strictEqual(again.id, plex.id)
      assert.strictEqual(again.startedAt, 1000)
      assert.strictEqual(again.cause, "ECONNREFUSED")
      assert.notStrictEqual(stash.id, plex.id)
      assert.deepStrictEqual(Option.map(yield* outages.current("plex"), (o) => o.id), Option.some(plex.id))
      // The partial unique index itself refuses a second open outage for a target.
      const refused = yield* Effect.flip(
        sql`INSERT INTO outages (target, started_at) VALUES ('plex', 3000)`
      )
      assert.strictEqual(refused._tag, "SqlError")
    }).pipe(Effect.provide(freshStore())))

  it.scoped("close ends the open outage (never before its start); a new one can open after", () =>
    Effect.gen(function*() {
      const outages = yield* OutageHistory
      const first = yield* outages.open("plex", { startedAt: 1000, cause: null })
      yield* outages.addAffected(first.id, 5)
      yield* outages.addAffected(first.id, 2)
      const closed = Option.getOrThrow(yield* outages.close("plex", 4000))
      assert.strictEqual(closed.endedAt, 4000)
      assert.strictEqual(closed.jobsAffected, 7)
      assert.isTrue(Option.isNone(yield* outages.close("plex", 5000)))
      assert.isTrue(Option.isNone(yield* outages.current("plex")))
      const second = yield* outages.open("plex", { startedAt: 6000, cause: null })
      const skewed = Option.getOrThrow(yield* outages.close("plex", 5000))
      assert.strictEqual(skewed.endedAt, 6000)
      yield* outages.open("stash", { startedAt: 7000, cause: null })
      assert.deepStrictEqual((yield* outages.list({ limit: 10 })).map((o) => o.startedAt), [7000, 6000, 1000])
      assert.deepStrictEqual((yield* outages.list({ limit: 10, target: "plex" })).map((o) => o.id), [
        second.id,
        first.id
      ])
      assert.deepStrictEqual((yield* outages.list({ limit: 1 })).length, 1)
      assert.deepStrictEqual(Option.map(yield* outages.lastCompleted(), (o) => o.id), Option.some(second.id))
      assert.deepStrictEqual(Option.map(yield* outages.lastCompleted("stash"), (o) => o.id), Option.none())
      assert.deepStrictEqual(Option.map(yield* outages.get(first.id), (o) => o.endedAt), Option.some(4000))
    }).pipe(Effect.provide(freshStore())))
})

describe("BreakerStore on SQLite", () => {
  it.scoped("reads a closed breaker until one is stored; put replaces the target's state", () =>
    Effect.gen(function*() {
      const breakers = yield* BreakerStore
      const sql = yield* SqlClient
      yield* TestClock.setTime(500)
      assert.deepStrictEqual(yield* breakers.get("plex"), closedBreaker("plex", 500))
      const open = new BreakerState({
        target: "plex",
        state: "open",
        consecutiveFailures: 5,
        openedAt: 400,
        nextProbeAt: 10_400,
        probeAttempt: 2,
        lastError: "ECONNREFUSED",
        updatedAt: 450
      })
      yield* breakers.put(open)
      assert.deepStrictEqual(yield* breakers.get("plex"), open)
      assert.strictEqual((yield* breakers.get("stash")).state, "closed")
      const halfOpen = new BreakerState({ ...open, state: "half_open", updatedAt: 11_000 })
      yield* breakers.put(halfOpen)
      assert.deepStrictEqual(yield* breakers.get("plex"), halfOpen)
      yield* sql`UPDATE breakers SET state = 'ajar' WHERE target = 'plex'`
      assert.strictEqual((yield* breakers.get("plex")).state, "closed")
    }).pipe(Effect.provide(freshStore())))
})

const syncState = (n: number, overrides: Partial<ConstructorParameters<typeof SceneSyncState>[0]> = {}) =>
  new SceneSyncState({
    sceneId: scene(n),
    stashUpdatedAt: "2024-05-01T10:00:00Z",
    contentHash: `hash-${n}`,
    ratingKey: `${n + 1000}`,
    plexFile: `/media/${n}.mp4`,
    imageHash: null,
    written: {
      scalars: { title: `Scene ${n}`, summary: null },
      rating: 4.5,
      genres: ["a"],
      actors: [],
      collections: []
    },
    syncedAt: 1234,
    ...overrides
  })

describe("SyncState on SQLite", () => {
  it.scoped("puts, gets, replaces, removes and forgets a match", () =>
    Effect.gen(function*() {
      const states = yield* SyncState
      const sql = yield* SqlClient
      assert.isTrue(Option.isNone(yield* states.get(scene(1))))
      yield* states.put(syncState(1))
      assert.deepStrictEqual(yield* states.get(scene(1)), Option.some(syncState(1)))
      yield* states.put(syncState(1, { contentHash: "changed", syncedAt: 9999 }))
      assert.strictEqual(Option.getOrThrow(yield* states.get(scene(1))).contentHash, "changed")
      yield* states.forgetMatch(scene(1))
      const forgotten = Option.getOrThrow(yield* states.get(scene(1)))
      assert.isNull(forgotten.ratingKey)
      assert.isNull(forgotten.plexFile)
      assert.strictEqual(forgotten.contentHash, "changed")
      assert.deepStrictEqual(forgotten.written, syncState(1).written)
      yield* states.remove(scene(1))
      assert.isTrue(Option.isNone(yield* states.get(scene(1))))
      yield* states.put(syncState(2))
      yield* sql`UPDATE sync_state SET written = 'not json' WHERE scene_id = '2'`
      assert.isTrue(Option.isNone(yield* states.get(scene(2))))
    }).pipe(Effect.provide(freshStore())))

  it.scoped("what was written belongs to the item: a scene taking an item over makes the old scene forget it", () =>
    Effect.gen(function*() {
      const states = yield* SyncState
      const sql = yield* SqlClient
      const wrote = (n: number, ratingKey: string, genres: ReadonlyArray<string>) =>
        new ItemWrite({
          ratingKey,
          sceneId: scene(n),
          written: { ...syncState(n).written, genres },
          imageHash: null,
          writtenAt: n
        })
      yield* states.record(syncState(1, { ratingKey: "500", copies: ["501"] }), [
        wrote(1, "500", ["a"]),
        wrote(1, "501", ["a"])
      ])
      assert.deepStrictEqual(Option.getOrThrow(yield* states.get(scene(1))).copies, ["501"])
      yield* states.record(syncState(7, { ratingKey: "500" }), [wrote(7, "500", ["b"])])
      const written = yield* states.writtenOn(["500", "501", "999"])
      assert.deepStrictEqual([...written.keys()].sort(), ["500", "501"])
      assert.strictEqual(written.get("500")!.sceneId, scene(7))
      assert.deepStrictEqual(written.get("500")!.written.genres, ["b"])
      assert.isNull(Option.getOrThrow(yield* states.get(scene(1))).ratingKey, "scene 1 no longer claims item 500")
      assert.strictEqual(Option.getOrThrow(yield* states.get(scene(7))).ratingKey, "500")
      // A damaged row reads as "nothing written there".
      yield* sql`UPDATE item_writes SET written = 'not json' WHERE rating_key = '501'`
      assert.deepStrictEqual([...(yield* states.writtenOn(["501"])).keys()], [])
    }).pipe(Effect.provide(freshStore())))

  it.scoped("getMany looks up many scenes at once", () =>
    Effect.gen(function*() {
      const states = yield* SyncState
      for (const n of [3, 700, 1201]) yield* states.put(syncState(n))
      const ids = Array.from({ length: 1300 }, (_, i) => scene(i + 1))
      const found = yield* states.getMany(ids)
      assert.deepStrictEqual(found.map((s) => s.sceneId).sort(), ["1201", "3", "700"])
      assert.deepStrictEqual(yield* states.getMany([]), [])
    }).pipe(Effect.provide(freshStore())))

  it.scoped("counts last syncs per time bucket, in the window only", () =>
    Effect.gen(function*() {
      const states = yield* SyncState
      for (const [n, at] of [[1, 999], [2, 1000], [3, 1299], [4, 1300], [5, 1950], [6, 2000]] as const) {
        yield* states.put(syncState(n, { syncedAt: at }))
      }
      // Scene 2 synced again later: it counts where its last sync is.
      yield* states.put(syncState(2, { syncedAt: 1700 }))
      assert.deepStrictEqual(yield* states.syncedPerBucket({ from: 1000, bucketMs: 300, buckets: 4 }), [1, 1, 1, 2])
      assert.deepStrictEqual(yield* states.syncedPerBucket({ from: 5000, bucketMs: 300, buckets: 2 }), [0, 0])
    }).pipe(Effect.provide(freshStore())))
})

describe("Settings and ProcessLease on SQLite", () => {
  it.scoped("settings are a small key-value store", () =>
    Effect.gen(function*() {
      const settings = yield* Settings
      assert.isTrue(Option.isNone(yield* settings.get(SettingKeys.stashWatermark)))
      yield* settings.set(SettingKeys.stashWatermark, "2024-05-01T10:00:00Z")
      yield* settings.set(SettingKeys.plexClientIdentifier, "abc")
      yield* settings.set(SettingKeys.stashWatermark, "2024-05-02T10:00:00Z")
      assert.deepStrictEqual(yield* settings.get(SettingKeys.stashWatermark), Option.some("2024-05-02T10:00:00Z"))
      assert.deepStrictEqual(yield* settings.get(SettingKeys.plexClientIdentifier), Option.some("abc"))
    }).pipe(Effect.provide(freshStore())))

  it.scoped("a process lease has one holder until it expires or is released", () =>
    Effect.gen(function*() {
      const leases = yield* ProcessLease
      assert.isTrue(yield* leases.acquire("worker", "a", 10_000))
      assert.isFalse(yield* leases.acquire("worker", "b", 10_000))
      assert.isTrue(yield* leases.acquire("other", "b", 10_000))
      yield* TestClock.adjust(5000)
      assert.isTrue(yield* leases.acquire("worker", "a", 10_000))
      assert.deepStrictEqual(yield* leases.holder("worker"), Option.some({ holder: "a", until: 15_000 }))
      yield* TestClock.adjust(9_999)
      assert.isFalse(yield* leases.acquire("worker", "b", 10_000))
      yield* TestClock.adjust(1)
      assert.isTrue(Option.isNone(yield* leases.holder("worker")))
      assert.isTrue(yield* leases.acquire("worker", "b", 10_000))
      yield* leases.release("worker", "a")
      assert.deepStrictEqual(Option.map(yield* leases.holder("worker"), (h) => h.holder), Option.some("b"))
      yield* leases.release("worker", "b")
      assert.isTrue(Option.isNone(yield* leases.holder("worker")))
      assert.isTrue(yield* leases.acquire("worker", "a", 10_000))
    }).pipe(Effect.provide(freshStore())))
})

const result = (recovered: number): RecoveryResult => ({
  window: { from: 1000, to: 2000, outageId: null },
  errorTags: ["PlexServerDown"],
  dryRun: false,
  recovered,
  skippedAlreadyQueued: 1,
  skippedPlexDown: 0,
  stoppedBy: null,
  skippedSceneMissing: 0,
  failed: 0,
  recoveredSceneIds: [scene(1)]
})

/** One whole run as the recovery writes it: its row at the start, finished 5 ms later with the result. */
const recordRun = (startedAt: number, trigger: "automatic" | "manual", r: RecoveryResult) =>
  Effect.flatMap(RecoveryLog, (log) =>
    Effect.flatMap(
      log.start({ startedAt, trigger, result: { ...r, recovered: 0 } }),
      (row) => log.finish(row.id, { finishedAt: startedAt + 5, result: r })
    ))

describe("ReconcileLog on SQLite", () => {
  it.scoped("keeps reconciliation runs newest first, as recorded, up to its limit", () =>
    Effect.gen(function*() {
      const log = yield* ReconcileLog
      const sql = yield* SqlClient
      for (let i = 1; i <= reconcileHistoryLimit + 2; i++) {
        yield* log.record({ startedAt: i * 1000, finishedAt: i * 1000 + 5, record: { scope: "all", queued: i } })
      }
      const runs = yield* log.list({ limit: 2 })
      assert.deepStrictEqual(runs.map((r) => [r.startedAt, r.finishedAt, r.record]), [
        [(reconcileHistoryLimit + 2) * 1000, (reconcileHistoryLimit + 2) * 1000 + 5, {
          scope: "all",
          queued: reconcileHistoryLimit + 2
        }],
        [(reconcileHistoryLimit + 1) * 1000, (reconcileHistoryLimit + 1) * 1000 + 5, {
          scope: "all",
          queued: reconcileHistoryLimit + 1
        }]
      ])
      const [{ n }] = yield* sql<{ n: number }>`SELECT count(*) AS n FROM reconcile_runs`
      assert.strictEqual(n, reconcileHistoryLimit)
      // A damaged row reads as a run without its record.
      yield* sql`UPDATE reconcile_runs SET record = 'not json' WHERE id = ${runs[0]!.id}`
      assert.isNull((yield* log.list({ limit: 1 }))[0]!.record)
    }).pipe(Effect.provide(freshStore())))

  it.scoped("the migration starts the history with the run reconcile.last holds", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient
      yield* sql`DROP TABLE reconcile_runs`
      const startedAt = "2026-02-15T19:17:49.000Z"
      const finishedAt = "2026-02-15T19:17:51.250Z"
      yield* (yield* Settings).set(SettingKeys.lastReconcile, JSON.stringify({ scope: "7d", startedAt, finishedAt }))
      yield* migration0007
      const runs = yield* (yield* ReconcileLog).list({ limit: 10 })
      assert.deepStrictEqual(
        runs.map((r) => [r.startedAt, r.finishedAt, r.record]),
        [[Date.parse(startedAt), Date.parse(finishedAt), { scope: "7d", startedAt, finishedAt }]]
      )
    }).pipe(Effect.provide(freshStore())))
})

describe("RecoveryLog on SQLite", () => {
  it.scoped("records runs and lists them newest first", () =>
    Effect.gen(function*() {
      const log = yield* RecoveryLog
      assert.isTrue(Option.isNone(yield* log.latest))
      const first = yield* recordRun(10, "automatic", result(1))
      const second = yield* recordRun(30, "manual", result(2))
      assert.deepStrictEqual(first.result, result(1))
      assert.strictEqual(first.trigger, "automatic")
      assert.deepStrictEqual(Option.map(yield* log.latest, (r) => r.id), Option.some(second.id))
      assert.deepStrictEqual((yield* log.list({ limit: 10 })).map((r) => r.result.recovered), [2, 1])
      assert.strictEqual((yield* log.list({ limit: 1 })).length, 1)
    }).pipe(Effect.provide(freshStore())))

  it.scoped("a run's row is written at its start: one killed before its end stays, unfinished", () =>
    Effect.gen(function*() {
      const log = yield* RecoveryLog
      const row = yield* log.start({ startedAt: 10, trigger: "manual", result: result(0) })
      const [stored] = yield* log.list({ limit: 10 })
      assert.strictEqual(stored!.id, row.id)
      assert.isNull(stored!.finishedAt)
      assert.strictEqual(recoveryOutcome(stored!), "unfinished")
      assert.isTrue(Option.isNone(yield* log.lastCompleted), "an unfinished run is not the last recovery")
    }).pipe(Effect.provide(freshStore())))

  it.scoped("attempts stopped by the Plex gate, one after another, share one row; the last completed run stays", () =>
    Effect.gen(function*() {
      const log = yield* RecoveryLog
      const run = (at: number, r: RecoveryResult) => recordRun(at, "automatic", r)
      const gated = { ...result(0), skippedPlexDown: 7, stoppedBy: "PlexDown" as const }
      const done = yield* run(0, result(3))
      for (let tick = 1; tick <= 50; tick++) yield* run(tick * 1_000, gated)
      const rows = yield* log.list({ limit: 100 })
      assert.strictEqual(rows.length, 2, "one row for the completed run, one for 50 gated attempts")
      assert.deepStrictEqual([rows[0]!.attempts, rows[0]!.startedAt, rows[0]!.finishedAt], [50, 1_000, 50_005])
      assert.strictEqual(recoveryOutcome(rows[0]!), "stopped")
      assert.deepStrictEqual(Option.map(yield* log.lastCompleted, (r) => r.id), Option.some(done.id))
      // Another window (the next outage) starts a row of its own.
      yield* run(60_000, { ...gated, window: { ...gated.window, outageId: 2 as OutageId } })
      assert.strictEqual((yield* log.list({ limit: 100 })).length, 3)
    }).pipe(Effect.provide(freshStore())))

  it.scoped("prune deletes runs started before the cutoff, never the last completed one", () =>
    Effect.gen(function*() {
      const log = yield* RecoveryLog
      const run = (at: number, r: RecoveryResult) => recordRun(at, "manual", r)
      yield* run(10, result(1))
      yield* run(20, result(2))
      yield* run(30, { ...result(0), stoppedBy: "PlexWentDown" })
      yield* run(100, result(3))
      assert.strictEqual(yield* log.prune(50), 3)
      assert.deepStrictEqual((yield* log.list({ limit: 10 })).map((r) => r.result.recovered), [3])
      // Everything old: the last completed run is kept, so status still says when recovery last ran.
      assert.strictEqual(yield* log.prune(1_000), 0)
      assert.deepStrictEqual((yield* log.list({ limit: 10 })).map((r) => r.result.recovered), [3])
    }).pipe(Effect.provide(freshStore())))
})
