import { assert, describe, it } from "@effect/vitest"
import type { DeadLetterQueueService } from "@plexsync/domain/DeadLetterQueue"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { ErrorTag } from "@plexsync/domain/Errors"
import { OutageId, SceneId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import type { RecoverOptions } from "@plexsync/domain/Recovery"
import { recoverOutageJobs } from "@plexsync/domain/Recovery"
import type { RecoveryResult } from "@plexsync/domain/RecoveryLog"
import { RecoveryLog, recoveryOutcome } from "@plexsync/domain/RecoveryLog"
import { StoreError } from "@plexsync/domain/StoreError"
import type { SyncQueueService } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Database } from "@plexsync/sqlite/Database"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import * as TestStore from "@plexsync/testing/TestStore"
import { Context, Duration, Effect, Exit, Fiber, Layer, Option, TestClock } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { storeLayer } from "./RecoveryStore.js"

// --- the world a test runs in: a real SQLite file in a temp dir, simulated Stash and Plex ---------------

/** How often each store method was called, through wrappers around the real services. */
class StoreCalls extends Context.Tag("test/StoreCalls")<StoreCalls, Map<string, number>>() {}

/** Which DB file the test runs on (for byte comparisons). */
class DbFile extends Context.Tag("test/DbFile")<DbFile, string>() {}

interface WorldOptions {
  /** Stash knows these scene ids (default 1–200). */
  readonly scenes?: ReadonlyArray<number>
  readonly stashBatchSize?: number
  /** A redrive containing one of these DLQ ids fails (a bad entry). */
  readonly failRedriveFor?: ReadonlySet<number>
  /** Every redrive waits this long first: the pause between the gates and the enqueue. */
  readonly redrivePauseMs?: number
}

const counting = <S extends object>(name: string, service: S, calls: Map<string, number>): S =>
  new Proxy(service, {
    get(target, property, receiver) {
      const key = `${name}.${String(property)}`
      calls.set(key, (calls.get(key) ?? 0) + 1)
      return Reflect.get(target, property, receiver)
    }
  })

const tempDir = TestStore.tempDir("plexsync-recovery-")

const world = (options: WorldOptions = {}) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const dir = yield* tempDir
    const filename = path.join(dir, "plexsync.db")
    const calls = new Map<string, number>()
    const store = storeLayer(filename)
    const wrapped = Layer.effectContext(Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      const queue = yield* SyncQueue
      const failFor = options.failRedriveFor ?? new Set<number>()
      const pause = options.redrivePauseMs ?? 0
      const redrive: DeadLetterQueueService["redrive"] = (entries, opts) =>
        Effect.gen(function*() {
          if (pause > 0) yield* Effect.sleep(pause)
          const bad = entries.find((e) => failFor.has(e.id))
          if (bad !== undefined) {
            return yield* new StoreError({ reason: "other", message: `entry ${bad.id} cannot be re-queued (test)` })
          }
          return yield* dlq.redrive(entries, opts)
        })
      return Context.make(DeadLetterQueue, counting("dlq", { ...dlq, redrive }, calls)).pipe(
        Context.add(SyncQueue, counting("queue", queue, calls) as SyncQueueService),
        Context.add(StoreCalls, calls),
        Context.add(DbFile, filename)
      )
    })).pipe(Layer.provideMerge(store))
    const scenes = (options.scenes ?? Array.from({ length: 200 }, (_, i) => i + 1)).map((id) =>
      SimStash.sampleScene(id)
    )
    return Layer.mergeAll(
      wrapped,
      SimStash.layer({ scenes, batchSize: options.stashBatchSize ?? 1000 }),
      SimPlex.layer()
    )
  }))

// --- seeding and reading ---------------------------------------------------------------------------------

const T0 = 1_700_000_000_000
const minute = 60_000

interface Seed {
  readonly scene: number
  readonly at: number
  readonly tag?: ErrorTag
  readonly outageId?: number
}

/** Adds DLQ entries in the given order; returns their ids. */
const seed = (entries: ReadonlyArray<Seed>) =>
  Effect.gen(function*() {
    const dlq = yield* DeadLetterQueue
    const { immediate } = yield* Database
    return yield* immediate(Effect.forEach(entries, (e) =>
      dlq.add({
        sceneId: SceneId.make(String(e.scene)),
        errorTag: e.tag ?? "PlexServerDown",
        message: `failed: ${e.tag ?? "PlexServerDown"}`,
        detail: { _tag: e.tag ?? "PlexServerDown", message: "connection refused", code: "ECONNREFUSED" },
        attempts: 10,
        failedAt: e.at,
        outageId: e.outageId === undefined ? null : OutageId.make(e.outageId),
        payload: { sceneId: SceneId.make(String(e.scene)), reason: "hook" }
      })))
  })

const recover = (options: Partial<RecoverOptions> = {}) =>
  recoverOutageJobs({ window: { from: T0, to: T0 + 60 * minute }, pageSize: 3, ...options })

/** Plex down for the first hour; returns its simulator. */
const plexDown = Effect.tap(SimPlex.SimPlex, (plex) => plex.downBetween(0, 3_600_000))

/** Stash refusing the API key from the first request; returns its simulator. */
const stashKeyRefused = Effect.tap(SimStash.SimStash, (stash) => stash.authFailAfter(0))

/** Scene 3 already waiting in the queue (a hook queued it) and scene 5 deleted from Stash. */
const queuedThreeAndDeletedFive = Effect.gen(function*() {
  const queue = yield* SyncQueue
  const stash = yield* SimStash.SimStash
  yield* queue.enqueue({ sceneId: SceneId.make("3"), reason: "hook" })
  yield* stash.deleteScenes(["5"])
})

const sceneIds = (...ids: Array<number>) => ids.map((id) => SceneId.make(String(id)))

const jobs = Effect.gen(function*() {
  const queue = yield* SyncQueue
  return yield* queue.list({ limit: 100_000 })
})

const unrecovered = Effect.gen(function*() {
  const dlq = yield* DeadLetterQueue
  const list = yield* dlq.list({ recovered: false })
  return list.entries.map((e) => e.id)
})

/** Entries still open (neither recovered nor resolved): what `dlq list` shows. */
const open = Effect.gen(function*() {
  const dlq = yield* DeadLetterQueue
  const list = yield* dlq.list({ recovered: false, resolved: false })
  return list.entries.map((e) => e.id)
})

/** The resolution of each resolved entry, by id. */
const resolutions = Effect.gen(function*() {
  const dlq = yield* DeadLetterQueue
  const list = yield* dlq.list({ resolved: true })
  return Object.fromEntries(list.entries.map((e) => [e.id, e.resolution]))
})

const calls = (key: string) => Effect.map(StoreCalls, (c) => c.get(key) ?? 0)

/** Jobs and DLQ rows, without ids and times that differ between two equal runs. */
const storeState = Effect.gen(function*() {
  const { sql } = yield* Database
  const jobRows = yield* sql`SELECT scene_id, reason, state, attempts FROM jobs ORDER BY scene_id, id`
  const dlqRows = yield* sql`SELECT d.id, d.scene_id, d.recovered_at IS NOT NULL AS recovered, d.resolution,
    j.scene_id AS job_scene, j.reason AS job_reason
    FROM dead_letters d LEFT JOIN jobs j ON j.id = d.recovered_job_id ORDER BY d.id`
  return { jobs: jobRows, deadLetters: dlqRows }
})

/** Every row of every table, and the bytes of the database files. */
const wholeDatabase = Effect.gen(function*() {
  const { sql } = yield* Database
  const file = yield* DbFile
  const tables = yield* sql<
    { readonly name: string }
  >`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
  const rows: Record<string, unknown> = {}
  for (const { name } of tables) {
    rows[name] = yield* sql.unsafe(`SELECT * FROM "${name}" ORDER BY rowid`)
  }
  const hash = (f: string) =>
    fs.existsSync(f) ? crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex") : null
  return { rows, bytes: [hash(file), hash(`${file}-wal`)] }
})

const zero: Omit<RecoveryResult, "window" | "errorTags" | "dryRun" | "recoveredSceneIds" | "stoppedBy"> = {
  recovered: 0,
  skippedAlreadyQueued: 0,
  skippedPlexDown: 0,
  skippedSceneMissing: 0,
  failed: 0
}

const counts = (result: RecoveryResult) => ({
  recovered: result.recovered,
  skippedAlreadyQueued: result.skippedAlreadyQueued,
  skippedPlexDown: result.skippedPlexDown,
  skippedSceneMissing: result.skippedSceneMissing,
  failed: result.failed
})

// --- the tests -------------------------------------------------------------------------------------------

describe("recoverOutageJobs", () => {
  describe("selection", () => {
    it.scoped("takes both ends of the window, and nothing outside it", () =>
      Effect.gen(function*() {
        const from = T0 + 10 * minute
        const to = T0 + 20 * minute
        yield* seed([
          { scene: 1, at: from - 1 },
          { scene: 2, at: from },
          { scene: 3, at: from + 5 * minute },
          { scene: 4, at: to },
          { scene: 5, at: to + 1 }
        ])
        const result = yield* recover({ window: { from, to } })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(2, 3, 4))
        assert.deepStrictEqual(counts(result), { ...zero, recovered: 3 })
        assert.deepStrictEqual(result.window, { from, to, outageId: null })
        assert.strictEqual((yield* unrecovered).length, 2)
        const queued = yield* jobs
        assert.deepStrictEqual(queued.map((j) => j.sceneId).sort(), sceneIds(2, 3, 4))
        for (const job of queued) {
          assert.deepStrictEqual([job.reason, job.attempts, job.state], ["recovery", 0, "queued"])
        }
      }).pipe(Effect.provide(world())))

    it.scoped("selects the safe tags by default, optional ones on request, permanent ones never", () =>
      Effect.gen(function*() {
        const tags: ReadonlyArray<ErrorTag> = [
          "PlexServerDown",
          "StashUnavailable",
          "PlexTemporaryError",
          "PlexNotFound",
          "StashQueryError",
          "PlexAuthError",
          "PlexPermissionError",
          "PlexPermanentError",
          "MatchAmbiguous",
          "StashAuthError"
        ]
        yield* seed(tags.map((tag, i) => ({ scene: i + 1, at: T0 + i, tag })))

        const safe = yield* recover({ dryRun: true })
        assert.deepStrictEqual(safe.recoveredSceneIds, sceneIds(1, 2))
        assert.deepStrictEqual([...safe.errorTags].sort(), ["PlexServerDown", "StashUnavailable"])

        const optional = yield* recover({ dryRun: true, includeOptional: true })
        assert.deepStrictEqual(optional.recoveredSceneIds, sceneIds(1, 2, 3, 4, 5))

        // Asking for permanent tags by name gets only the recoverable ones of the request.
        const asked = yield* recover({
          dryRun: true,
          errorTags: ["PlexAuthError", "PlexPermissionError", "PlexPermanentError", "MatchAmbiguous", "PlexNotFound"]
        })
        assert.deepStrictEqual(asked.errorTags, ["PlexNotFound"])
        assert.deepStrictEqual(asked.recoveredSceneIds, sceneIds(4))

        const real = yield* recover({ includeOptional: true })
        assert.strictEqual(real.recovered, 5)
        const left = yield* DeadLetterQueue.pipe(Effect.flatMap((dlq) => dlq.list({ recovered: false })))
        assert.deepStrictEqual(
          left.entries.map((e) => e.errorTag).sort(),
          ["MatchAmbiguous", "PlexAuthError", "PlexPermanentError", "PlexPermissionError", "StashAuthError"]
        )
      }).pipe(Effect.provide(world())))

    it.scoped("an empty tag set selects nothing and asks no one", () =>
      Effect.gen(function*() {
        yield* seed([{ scene: 1, at: T0 }])
        const plex = yield* SimPlex.SimPlex
        const stash = yield* SimStash.SimStash
        const none = yield* recover({ errorTags: [] })
        assert.deepStrictEqual(counts(none), zero)
        const permanentOnly = yield* recover({ errorTags: ["PlexAuthError"] })
        assert.deepStrictEqual([permanentOnly.errorTags, counts(permanentOnly)], [[], zero])
        assert.strictEqual(yield* plex.requests(), 0)
        assert.strictEqual(yield* stash.requests(), 0)
        assert.strictEqual((yield* unrecovered).length, 1)
        assert.strictEqual((yield* jobs).length, 0)
      }).pipe(Effect.provide(world())))

    it.scoped("an empty window recovers nothing and says so in its audit row", () =>
      Effect.gen(function*() {
        yield* seed([{ scene: 1, at: T0 - 1 }])
        const result = yield* recover()
        assert.deepStrictEqual([counts(result), result.recoveredSceneIds], [zero, []])
        const audit = Option.getOrThrow(yield* RecoveryLog.pipe(Effect.flatMap((log) => log.latest)))
        assert.deepStrictEqual(audit.result, result)
      }).pipe(Effect.provide(world())))

    it.scoped("recovers oldest first across pages, by failure time then by id", () =>
      Effect.gen(function*() {
        yield* seed([
          { scene: 7, at: T0 + 7 },
          { scene: 3, at: T0 + 3 },
          { scene: 9, at: T0 + 5 },
          { scene: 8, at: T0 + 5 },
          { scene: 1, at: T0 + 1 },
          { scene: 6, at: T0 + 6 },
          { scene: 2, at: T0 + 2 }
        ])
        const result = yield* recover({ pageSize: 2 })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(1, 2, 3, 9, 8, 6, 7))
        const queued = yield* jobs
        assert.deepStrictEqual(
          [...queued].sort((a, b) => a.id - b.id).map((j) => j.sceneId),
          sceneIds(1, 2, 3, 9, 8, 6, 7)
        )
      }).pipe(Effect.provide(world())))

    it.scoped("selects an outage's window by its id", () =>
      Effect.gen(function*() {
        const outages = yield* OutageHistory
        const outage = yield* outages.open("plex", { startedAt: T0 + 10 * minute, cause: "refused" })
        yield* outages.close("plex", T0 + 20 * minute)
        const open = yield* outages.open("stash", { startedAt: T0 + 30 * minute, cause: "refused" })
        yield* seed([
          { scene: 1, at: T0 + 9 * minute },
          { scene: 2, at: T0 + 10 * minute, outageId: outage.id },
          { scene: 3, at: T0 + 20 * minute, outageId: outage.id },
          { scene: 4, at: T0 + 21 * minute }
        ])
        const result = yield* recoverOutageJobs({ window: { outageId: outage.id } })
        assert.deepStrictEqual(result.window, { from: T0 + 10 * minute, to: T0 + 20 * minute, outageId: outage.id })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(2, 3))

        const unknown = yield* Effect.flip(recoverOutageJobs({ window: { outageId: OutageId.make(999) } }))
        assert.strictEqual(unknown._tag, "OutageNotFound")
        const ongoing = yield* Effect.flip(recoverOutageJobs({ window: { outageId: open.id } }))
        assert.strictEqual(ongoing._tag, "OutageOngoing")
        const backwards = yield* Effect.flip(recoverOutageJobs({ window: { from: T0 + 1, to: T0 } }))
        assert.strictEqual(backwards._tag, "InvalidRecoveryWindow")
        assert.deepStrictEqual((yield* jobs).map((j) => j.sceneId).sort(), sceneIds(2, 3))
      }).pipe(Effect.provide(world())))
  })

  describe("gate 1: Plex health", () => {
    it.scoped("Plex down: every selected entry counts skippedPlexDown, and nothing else is asked or changed", () =>
      Effect.gen(function*() {
        const plex = yield* plexDown
        const stash = yield* SimStash.SimStash
        yield* seed([
          ...Array.from({ length: 8 }, (_, i) => ({ scene: i + 1, at: T0 + i })),
          { scene: 50, at: T0 + 1, tag: "PlexAuthError" as const },
          { scene: 51, at: T0 - 1 }
        ])
        const listBefore = yield* calls("dlq.list")
        const result = yield* recover()
        assert.deepStrictEqual(counts(result), { ...zero, skippedPlexDown: 8 })
        assert.deepStrictEqual(result.recoveredSceneIds, [])
        assert.strictEqual(yield* stash.requests(), 0)
        assert.strictEqual(yield* calls("queue.activeScenes"), 0)
        assert.strictEqual((yield* calls("dlq.list")) - listBefore, 0)
        assert.strictEqual(yield* calls("dlq.redrive"), 0)
        assert.strictEqual(yield* plex.requests("health"), 1)
        assert.strictEqual((yield* jobs).length, 0)
        assert.strictEqual((yield* unrecovered).length, 10)
        const audit = yield* RecoveryLog.pipe(Effect.flatMap((log) => log.latest))
        assert.strictEqual(Option.getOrThrow(audit).result.skippedPlexDown, 8)
      }).pipe(Effect.provide(world())))

    it.scoped("a dry run with Plex down reports the same and writes nothing", () =>
      Effect.gen(function*() {
        yield* plexDown
        yield* seed([{ scene: 1, at: T0 }, { scene: 2, at: T0 + 1 }])
        const before = yield* wholeDatabase
        const result = yield* recover({ dryRun: true })
        assert.deepStrictEqual([counts(result), result.dryRun], [{ ...zero, skippedPlexDown: 2 }, true])
        assert.deepStrictEqual(yield* wholeDatabase, before)
      }).pipe(Effect.provide(world())))

    it.scoped("a refused token is not healthy either", () =>
      Effect.gen(function*() {
        const plex = yield* SimPlex.SimPlex
        yield* plex.authFailAfter(0)
        yield* seed([{ scene: 1, at: T0 }, { scene: 2, at: T0 + 1 }])
        const result = yield* recover()
        assert.deepStrictEqual(counts(result), { ...zero, skippedPlexDown: 2 })
        assert.strictEqual((yield* jobs).length, 0)
      }).pipe(Effect.provide(world())))

    it.scoped("Plex going down mid-run: the entries not yet reached count skippedPlexDown, and it stopped: PlexWentDown", () =>
      Effect.gen(function*() {
        const plex = yield* SimPlex.SimPlex
        const stash = yield* SimStash.SimStash
        yield* stash.setLatency("1 second", "existingSceneIds")
        yield* plex.downBetween(1_500, 3_600_000)
        yield* seed(Array.from({ length: 8 }, (_, i) => ({ scene: i + 1, at: T0 + i })))
        const fiber = yield* Effect.fork(recover({ pageSize: 2, plexRecheckMs: 1_000 }))
        yield* TestClock.adjust("10 seconds")
        const result = yield* Fiber.join(fiber)
        // Pages 1 and 2 ran (Plex checked healthy at 0 s and 1 s); at 2 s Plex was down.
        assert.deepStrictEqual(counts(result), { ...zero, recovered: 4, skippedPlexDown: 4 })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(1, 2, 3, 4))
        assert.strictEqual((yield* unrecovered).length, 4)
        // It says why it stopped, in the result and in the audit row.
        assert.strictEqual(result.stoppedBy, "PlexWentDown")
        const audit = Option.getOrThrow(yield* RecoveryLog.pipe(Effect.flatMap((log) => log.latest)))
        assert.strictEqual(audit.result.stoppedBy, "PlexWentDown")
      }).pipe(Effect.provide(world())))
  })

  describe("gate 2: dedup", () => {
    it.scoped("a scene already queued or running is skipped and its entry resolved as superseded", () =>
      Effect.gen(function*() {
        const queue = yield* SyncQueue
        yield* queue.enqueue({ sceneId: SceneId.make("2"), reason: "hook" })
        yield* queue.enqueue({ sceneId: SceneId.make("3"), reason: "hook" })
        const claimed = yield* queue.claim({ limit: 1, leaseMs: 60_000 })
        assert.deepStrictEqual(claimed.map((c) => c.job.sceneId), sceneIds(2))
        const ids = yield* seed([{ scene: 1, at: T0 }, { scene: 2, at: T0 + 1 }, { scene: 3, at: T0 + 2 }])
        const result = yield* recover()
        assert.deepStrictEqual(counts(result), { ...zero, recovered: 1, skippedAlreadyQueued: 2 })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(1))
        assert.deepStrictEqual(yield* unrecovered, [ids[1], ids[2]])
        assert.deepStrictEqual(yield* open, [], "nothing left for a person: the scenes sync anyway")
        assert.deepStrictEqual(yield* resolutions, { [ids[1]!]: "superseded", [ids[2]!]: "superseded" })
        // The queued job was not touched: still the hook's, and no second job for the scene.
        const all = yield* jobs
        assert.deepStrictEqual(all.map((j) => [j.sceneId, j.reason, j.state]).sort(), [
          ["1", "recovery", "queued"],
          ["2", "hook", "running"],
          ["3", "hook", "queued"]
        ])
      }).pipe(Effect.provide(world())))

    it.scoped("a scene with several entries is recovered once, in a page and across pages", () =>
      Effect.gen(function*() {
        const ids = yield* seed([5, 5, 6, 5, 6, 7, 5].map((scene, i) => ({ scene, at: T0 + i })))
        const result = yield* recover({ pageSize: 3 })
        assert.deepStrictEqual(counts(result), { ...zero, recovered: 3, skippedAlreadyQueued: 4 })
        assert.deepStrictEqual(yield* open, [])
        assert.deepStrictEqual(
          Object.keys(yield* resolutions).map(Number),
          [ids[1]!, ids[3]!, ids[4]!, ids[6]!],
          "each duplicate of a recovered entry is superseded"
        )
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(5, 6, 7))
        assert.deepStrictEqual((yield* jobs).map((j) => j.sceneId).sort(), sceneIds(5, 6, 7))
      }).pipe(Effect.provide(world())))

    it.scoped("asks the store once per page, not for every queued id", () =>
      Effect.gen(function*() {
        const queue = yield* SyncQueue
        yield* queue.enqueueMany(
          Array.from({ length: 500 }, (_, i) => ({ sceneId: SceneId.make(String(1000 + i)), reason: "poll" }))
        )
        yield* seed(Array.from({ length: 10 }, (_, i) => ({ scene: i + 1, at: T0 + i })))
        const before = yield* calls("queue.list")
        const result = yield* recover({ pageSize: 4 })
        assert.strictEqual(result.recovered, 10)
        assert.strictEqual(yield* calls("queue.activeScenes"), 3)
        assert.strictEqual((yield* calls("queue.list")) - before, 0)
      }).pipe(Effect.provide(world())))
  })

  describe("gate 3: the scene exists in Stash", () => {
    it.scoped("a deleted scene is skipped and its entry resolved as scene-deleted; lookups are batched per page", () =>
      Effect.gen(function*() {
        const stash = yield* SimStash.SimStash
        yield* stash.deleteScenes(["2", "4"])
        const ids = yield* seed(Array.from({ length: 6 }, (_, i) => ({ scene: i + 1, at: T0 + i })))
        const result = yield* recover({ pageSize: 3 })
        assert.deepStrictEqual(counts(result), { ...zero, recovered: 4, skippedSceneMissing: 2 })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(1, 3, 5, 6))
        assert.deepStrictEqual(yield* unrecovered, [ids[1], ids[3]])
        assert.deepStrictEqual(yield* open, [])
        assert.deepStrictEqual(yield* resolutions, { [ids[1]!]: "scene-deleted", [ids[3]!]: "scene-deleted" })
        assert.deepStrictEqual(yield* stash.requestCounts, { existingSceneIds: 2 })
      }).pipe(Effect.provide(world())))

    it.scoped("a short Stash outage is waited out, not taken for missing scenes", () =>
      Effect.gen(function*() {
        const stash = yield* SimStash.SimStash
        yield* stash.downBetween(0, 2_500)
        yield* seed(Array.from({ length: 4 }, (_, i) => ({ scene: i + 1, at: T0 + i })))
        const fiber = yield* Effect.fork(recover())
        yield* TestClock.adjust("1 minute")
        const result = yield* Fiber.join(fiber)
        assert.deepStrictEqual(counts(result), { ...zero, recovered: 4 })
        // 0 s and 1 s refused, 3 s answered; then the second page.
        assert.strictEqual(yield* stash.requests("existingSceneIds"), 4)
      }).pipe(Effect.provide(world())))

    it.scoped("a long Stash outage stops the run with the counts so far; a later run recovers the rest", () =>
      Effect.gen(function*() {
        const stash = yield* SimStash.SimStash
        yield* stash.setLatency("1 second", "existingSceneIds")
        yield* stash.downBetween(500, 3_600_000)
        yield* seed(Array.from({ length: 8 }, (_, i) => ({ scene: i + 1, at: T0 + i })))
        const fiber = yield* Effect.fork(Effect.flip(recover({ pageSize: 3 })))
        yield* TestClock.adjust("1 minute")
        const stopped = yield* Fiber.join(fiber)
        assert.strictEqual(stopped._tag, "RecoveryStopped")
        if (stopped._tag !== "RecoveryStopped") return
        assert.strictEqual(stopped.cause._tag, "StashUnavailable")
        assert.deepStrictEqual(counts(stopped.result), { ...zero, recovered: 3 })
        assert.strictEqual((yield* unrecovered).length, 5)
        const audit = Option.getOrThrow(yield* RecoveryLog.pipe(Effect.flatMap((log) => log.latest)))
        assert.deepStrictEqual(counts(audit.result), { ...zero, recovered: 3 })

        yield* TestClock.adjust("1 hour")
        const fiber2 = yield* Effect.fork(recover({ pageSize: 3 }))
        yield* TestClock.adjust("1 minute")
        const rest = yield* Fiber.join(fiber2)
        assert.deepStrictEqual(rest.recoveredSceneIds, sceneIds(4, 5, 6, 7, 8))
        assert.strictEqual((yield* unrecovered).length, 0)
      }).pipe(Effect.provide(world())))

    it.scoped("a refused Stash key stops the run at once, without retrying", () =>
      Effect.gen(function*() {
        const stash = yield* stashKeyRefused
        yield* seed([{ scene: 1, at: T0 }])
        const stopped = yield* Effect.flip(recover())
        assert.isTrue(stopped._tag === "RecoveryStopped" && stopped.cause._tag === "StashAuthError")
        assert.strictEqual(yield* stash.requests(), 1)
        assert.strictEqual((yield* unrecovered).length, 1)
      }).pipe(Effect.provide(world())))
  })

  describe("re-queueing", () => {
    it.scoped("mixed results: each entry lands in exactly one count", () =>
      Effect.gen(function*() {
        yield* queuedThreeAndDeletedFive
        yield* seed([
          { scene: 1, at: T0 },
          { scene: 2, at: T0 + 1 },
          { scene: 3, at: T0 + 2 },
          { scene: 4, at: T0 + 3 },
          { scene: 5, at: T0 + 4 },
          { scene: 1, at: T0 + 5 },
          { scene: 6, at: T0 + 6, tag: "PlexNotFound" },
          { scene: 7, at: T0 + 7, tag: "PlexPermanentError" },
          { scene: 8, at: T0 + 8 }
        ])
        const result = yield* recover({ pageSize: 4 })
        assert.deepStrictEqual(counts(result), {
          ...zero,
          recovered: 4,
          skippedAlreadyQueued: 2,
          skippedSceneMissing: 1
        })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(1, 2, 4, 8))
      }).pipe(Effect.provide(world())))

    it.scoped("an entry that cannot be re-queued counts failed and stays; the others of its page are recovered", () =>
      Effect.gen(function*() {
        yield* seed(Array.from({ length: 6 }, (_, i) => ({ scene: i + 1, at: T0 + i })))
        const result = yield* recover({ pageSize: 3 })
        assert.deepStrictEqual(counts(result), { ...zero, recovered: 5, failed: 1 })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(1, 3, 4, 5, 6))
        // A fresh database numbers its DLQ entries from 1: entry 2 is scene 2's.
        assert.deepStrictEqual(yield* unrecovered, [2])
        assert.deepStrictEqual((yield* jobs).map((j) => j.sceneId).sort(), sceneIds(1, 3, 4, 5, 6))
      }).pipe(Effect.provide(world({ failRedriveFor: new Set([2]) }))))

    it.scoped("an unreadable DLQ row counts failed, stays as it is, and does not block the others", () =>
      Effect.gen(function*() {
        const ids = yield* seed(Array.from({ length: 5 }, (_, i) => ({ scene: i + 1, at: T0 + i })))
        const { sql } = yield* Database
        yield* sql`UPDATE dead_letters SET scene_id = 'not a scene' WHERE id = ${ids[1]!}`
        const result = yield* recover({ pageSize: 2 })
        assert.deepStrictEqual(counts(result), { ...zero, recovered: 4, failed: 1 })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(1, 3, 4, 5))
        const row = yield* sql<{ scene_id: string; recovered_at: number | null }>`SELECT scene_id, recovered_at
          FROM dead_letters WHERE id = ${ids[1]!}`
        assert.deepStrictEqual(row, [{ scene_id: "not a scene", recovered_at: null }])
      }).pipe(Effect.provide(world())))

    it.scoped("a second run recovers nothing and changes nothing", () =>
      Effect.gen(function*() {
        const stash = yield* SimStash.SimStash
        yield* stash.deleteScenes(["4"])
        yield* seed([...Array.from({ length: 7 }, (_, i) => ({ scene: i + 1, at: T0 + i })), { scene: 2, at: T0 + 9 }])
        const first = yield* recover()
        assert.deepStrictEqual(counts(first), {
          ...zero,
          recovered: 6,
          skippedAlreadyQueued: 1,
          skippedSceneMissing: 1
        })
        const after = yield* storeState
        const second = yield* recover()
        assert.strictEqual(second.recovered, 0)
        assert.deepStrictEqual(second.recoveredSceneIds, [])
        assert.deepStrictEqual(yield* storeState, after)
      }).pipe(Effect.provide(world())))
  })

  describe("crash safety", () => {
    const entries: ReadonlyArray<Seed> = [
      ...Array.from({ length: 10 }, (_, i) => ({ scene: i + 1, at: T0 + i })),
      { scene: 3, at: T0 + 20 },
      { scene: 99_999, at: T0 + 21 },
      { scene: 8, at: T0 + 22 }
    ]

    const cleanRun = Effect.gen(function*() {
      yield* seed(entries)
      const result = yield* recover({ pageSize: 3 })
      return { result, state: yield* storeState }
    }).pipe(Effect.provide(world()))

    // Interrupt between the gates and the enqueue of page k (the redrive pauses 1 s first), or while the
    // Stash lookup of page k is in flight; then run again.
    for (const where of ["before the enqueue", "during the Stash lookup"] as const) {
      // Pages of 3: [1 2 3] [4 5 6] [7 8 9] [10 3 99999] [8]; the last one has nothing left to look up.
      for (const page of [1, 2, 3, 4]) {
        it.scoped(`killed ${where} of page ${page}, a rerun ends as one clean run`, () =>
          Effect.gen(function*() {
            const clean = yield* cleanRun
            const crashed = yield* Effect.gen(function*() {
              const stash = yield* SimStash.SimStash
              if (where === "during the Stash lookup") yield* stash.setLatency("1 second", "existingSceneIds")
              yield* seed(entries)
              const fiber = yield* Effect.fork(recover({ pageSize: 3 }))
              yield* TestClock.adjust(Duration.millis((page - 1) * 1_000 + 500))
              const exit = yield* Fiber.interrupt(fiber)
              assert.isTrue(Exit.isInterrupted(exit), "the run was still going when killed")
              const partial = yield* storeState
              const rerun = yield* Effect.fork(recover({ pageSize: 3 }))
              yield* TestClock.adjust("1 minute")
              const second = yield* Fiber.join(rerun)
              return { partial, second, state: yield* storeState }
            }).pipe(Effect.provide(world({ redrivePauseMs: where === "before the enqueue" ? 1_000 : 0 })))
            assert.deepStrictEqual(crashed.state, clean.state)
            const queuedScenes = (crashed.state.jobs as ReadonlyArray<{ scene_id: string }>).map((j) => j.scene_id)
            assert.strictEqual(new Set(queuedScenes).size, queuedScenes.length, "no scene queued twice")
            const partialRecovered =
              (crashed.partial.deadLetters as ReadonlyArray<{ recovered: number; job_scene: string }>)
                .filter((d) => d.recovered).map((d) => d.job_scene)
            // The kill came mid-run: some pages done (none for page 1), not all.
            assert.isBelow(partialRecovered.length, clean.result.recovered)
            if (page > 1) assert.isAbove(partialRecovered.length, 0)
            // What the killed run recovered plus what the rerun recovered is what one run recovers.
            assert.deepStrictEqual(
              [...partialRecovered, ...crashed.second.recoveredSceneIds].sort(),
              [...clean.result.recoveredSceneIds].sort()
            )
          }))
      }
    }
  })

  describe("dry run and audit", () => {
    it.scoped("a dry run gives the real run's counts and leaves the database byte-for-byte unchanged", () =>
      Effect.gen(function*() {
        yield* queuedThreeAndDeletedFive
        yield* seed([...Array.from({ length: 9 }, (_, i) => ({ scene: i + 1, at: T0 + i })), { scene: 1, at: T0 + 10 }])
        const before = yield* wholeDatabase
        const dry = yield* recover({ dryRun: true, pageSize: 4 })
        assert.deepStrictEqual(yield* wholeDatabase, before)
        assert.isTrue(Option.isNone(yield* RecoveryLog.pipe(Effect.flatMap((log) => log.latest))))
        assert.strictEqual(yield* calls("dlq.redrive"), 0)

        const real = yield* recover({ pageSize: 4, trigger: "automatic" })
        assert.deepStrictEqual({ ...dry, dryRun: false }, real)
        assert.deepStrictEqual(counts(real), { ...zero, recovered: 7, skippedAlreadyQueued: 2, skippedSceneMissing: 1 })
        const log = yield* RecoveryLog
        const runs = yield* log.list({ limit: 10 })
        assert.strictEqual(runs.length, 1)
        assert.strictEqual(runs[0]!.trigger, "automatic")
        assert.deepStrictEqual(runs[0]!.result, real)
      }).pipe(Effect.provide(world())))
  })

  describe("scale", () => {
    it.scoped("10 000 entries: one Stash request per page, one queue lookup per page", () =>
      Effect.gen(function*() {
        const pageSize = 500
        const n = 10_000
        yield* seed(Array.from({ length: n }, (_, i) => ({ scene: i + 1, at: T0 + i })))
        const stash = yield* SimStash.SimStash
        const result = yield* recover({ pageSize })
        assert.strictEqual(result.recovered, n)
        assert.strictEqual(result.recoveredSceneIds.length, n)
        assert.isAtMost(yield* stash.requests(), Math.ceil(n / pageSize) + 1)
        assert.strictEqual(yield* calls("queue.activeScenes"), n / pageSize)
        assert.strictEqual((yield* jobs).length, n)
        assert.strictEqual((yield* unrecovered).length, 0)
      }).pipe(Effect.provide(world({ scenes: Array.from({ length: 10_000 }, (_, i) => i + 1) }))), 60_000)
  })

  describe("why a run stopped", () => {
    it.scoped("went through its selection: stoppedBy is null, in the result and in the audit row", () =>
      Effect.gen(function*() {
        yield* seed([{ scene: 1, at: T0 }, { scene: 2, at: T0 + 1 }])
        const result = yield* recover()
        assert.deepStrictEqual([counts(result), result.stoppedBy], [{ ...zero, recovered: 2 }, null])
        const audit = Option.getOrThrow(yield* RecoveryLog.pipe(Effect.flatMap((log) => log.latest)))
        assert.strictEqual(audit.result.stoppedBy, null)
      }).pipe(Effect.provide(world())))

    it.scoped("Plex unhealthy at the start gate: PlexDown, in the result and in the audit row", () =>
      Effect.gen(function*() {
        yield* plexDown
        yield* seed([{ scene: 1, at: T0 }, { scene: 2, at: T0 + 1 }])
        const result = yield* recover()
        assert.deepStrictEqual([counts(result), result.stoppedBy], [{ ...zero, skippedPlexDown: 2 }, "PlexDown"])
        const audit = Option.getOrThrow(yield* RecoveryLog.pipe(Effect.flatMap((log) => log.latest)))
        assert.strictEqual(audit.result.stoppedBy, "PlexDown")
      }).pipe(Effect.provide(world())))

    it.scoped("Plex unhealthy at the start gate with nothing selected: still PlexDown", () =>
      Effect.gen(function*() {
        yield* plexDown
        const result = yield* recover()
        assert.deepStrictEqual([counts(result), result.stoppedBy], [zero, "PlexDown"])
      }).pipe(Effect.provide(world())))

    it.scoped("Stash stopping the run is RecoveryStopped; its result and audit row say StashFailed", () =>
      Effect.gen(function*() {
        yield* stashKeyRefused
        yield* seed([{ scene: 1, at: T0 }])
        const stopped = yield* Effect.flip(recover())
        assert.strictEqual(stopped._tag, "RecoveryStopped")
        if (stopped._tag !== "RecoveryStopped") return
        assert.strictEqual(stopped.result.stoppedBy, "StashFailed")
        const log = yield* RecoveryLog
        const audit = Option.getOrThrow(yield* log.latest)
        assert.strictEqual(recoveryOutcome(audit), "stopped")
        assert.isTrue(Option.isNone(yield* log.lastCompleted), "a stopped run is not the last recovery")
      }).pipe(Effect.provide(world())))

    it.scoped("a run killed mid-way leaves its audit row, unfinished", () =>
      Effect.gen(function*() {
        yield* seed(Array.from({ length: 9 }, (_, i) => ({ scene: i + 1, at: T0 + i })))
        const fiber = yield* Effect.fork(recover({ pageSize: 3 }))
        yield* TestClock.adjust(Duration.millis(1_500))
        const exit = yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.isInterrupted(exit), "the run was still going when killed")
        const [row, ...others] = yield* Effect.flatMap(RecoveryLog, (log) => log.list({ limit: 10 }))
        assert.lengthOf(others, 0)
        assert.isNull(row!.finishedAt)
        assert.strictEqual(recoveryOutcome(row!), "unfinished")
        assert.strictEqual(row!.result.window.from, T0)
      }).pipe(Effect.provide(world({ redrivePauseMs: 1_000 }))))
  })

  describe("selection: the last outage", () => {
    /** Plex down 10–50 min (ended last), Stash down 20–30 min (started and ended in between), Plex again from 60. */
    const outagesAndEntries = Effect.gen(function*() {
      const outages = yield* OutageHistory
      const plex = yield* outages.open("plex", { startedAt: T0 + 10 * minute, cause: "refused" })
      const stash = yield* outages.open("stash", { startedAt: T0 + 20 * minute, cause: "refused" })
      yield* outages.close("stash", T0 + 30 * minute)
      yield* outages.close("plex", T0 + 50 * minute)
      yield* outages.open("plex", { startedAt: T0 + 60 * minute, cause: "refused" })
      yield* seed([
        { scene: 1, at: T0 + 5 * minute },
        { scene: 2, at: T0 + 15 * minute, outageId: plex.id },
        { scene: 3, at: T0 + 25 * minute, outageId: stash.id, tag: "StashUnavailable" },
        { scene: 4, at: T0 + 45 * minute, outageId: plex.id },
        { scene: 5, at: T0 + 65 * minute }
      ])
      return { plex, stash }
    })

    it.scoped("of any target: the outage that ended last, not the one started or numbered last", () =>
      Effect.gen(function*() {
        const { plex } = yield* outagesAndEntries
        const result = yield* recoverOutageJobs({ window: { lastOutage: "any" } })
        assert.deepStrictEqual(result.window, { from: T0 + 10 * minute, to: T0 + 50 * minute, outageId: plex.id })
        assert.deepStrictEqual(result.recoveredSceneIds, sceneIds(2, 3, 4))
      }).pipe(Effect.provide(world())))

    it.scoped("of one target: that target's last ended outage, never an open one", () =>
      Effect.gen(function*() {
        const { plex, stash } = yield* outagesAndEntries
        const ofStash = yield* recoverOutageJobs({ window: { lastOutage: "stash" }, dryRun: true })
        assert.deepStrictEqual(ofStash.window, { from: T0 + 20 * minute, to: T0 + 30 * minute, outageId: stash.id })
        assert.deepStrictEqual(ofStash.recoveredSceneIds, sceneIds(3))
        const ofPlex = yield* recoverOutageJobs({ window: { lastOutage: "plex" }, dryRun: true })
        assert.deepStrictEqual(ofPlex.window, { from: T0 + 10 * minute, to: T0 + 50 * minute, outageId: plex.id })
      }).pipe(Effect.provide(world())))

    it.scoped("no ended outage (of the target): NoCompletedOutage, and nothing is touched", () =>
      Effect.gen(function*() {
        const outages = yield* OutageHistory
        yield* seed([{ scene: 1, at: T0 }])
        const none = yield* Effect.flip(recoverOutageJobs({ window: { lastOutage: "any" } }))
        assert.strictEqual(none._tag, "NoCompletedOutage")

        yield* outages.open("stash", { startedAt: T0, cause: "refused" })
        yield* outages.close("stash", T0 + minute)
        yield* outages.open("plex", { startedAt: T0 + 2 * minute, cause: "refused" })
        const ofPlex = yield* Effect.flip(recoverOutageJobs({ window: { lastOutage: "plex" } }))
        assert.deepStrictEqual(ofPlex._tag === "NoCompletedOutage" ? ofPlex.target : ofPlex._tag, "plex")
        assert.strictEqual((yield* jobs).length, 0)
        assert.isTrue(Option.isNone(yield* RecoveryLog.pipe(Effect.flatMap((log) => log.latest))))
      }).pipe(Effect.provide(world())))
  })
})
