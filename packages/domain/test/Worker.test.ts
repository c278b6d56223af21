import { assert, describe, it } from "@effect/vitest"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { PlexAuthError, PlexServerDown, PlexTemporaryError } from "@plexsync/domain/Errors"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { StoreError } from "@plexsync/domain/StoreError"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { SyncQueueService } from "@plexsync/domain/SyncQueue"
import { jobsProcessed, syncLatency } from "@plexsync/domain/Worker"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import { type Context, Effect, Fiber, Metric, Option, Queue, Random, Stream, TestClock } from "effect"
import {
  advanceUntil,
  assertAllSynced,
  enqueue,
  plexItemFor,
  runToEnd,
  sceneIdOf,
  worker,
  world
} from "./WorkerWorld.js"

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const plexWrites = Effect.gen(function*() {
  const sim = yield* SimPlex.SimPlex
  return (yield* sim.requests("edit")) + (yield* sim.requests("rate")) + (yield* sim.requests("uploadPoster"))
})

/** Every DLQ entry in full (a list gives summaries; `get` adds the detail and payload). */
const dlqEntries = Effect.flatMap(
  DeadLetterQueue,
  (dlq) =>
    Effect.flatMap(dlq.list({}), (l) => Effect.forEach(l.entries, (e) => Effect.map(dlq.get(e.id), Option.getOrThrow)))
)
const queued = Effect.flatMap(SyncQueue, (q) => q.list({ limit: 10_000 }))

/** The Plex simulator, answering after `latency` (to `op` only, when given). */
const slowPlex = (...latency: Parameters<Context.Tag.Service<typeof SimPlex.SimPlex>["setLatency"]>) =>
  Effect.tap(SimPlex.SimPlex, (sim) => sim.setLatency(...latency))

/** A worker with these settings, draining the queue in a fiber of its own. */
const drainInBackground = (overrides?: Parameters<typeof worker>[0]) =>
  Effect.flatMap(worker(overrides), (w) => Effect.fork(w.drain()))

describe("worker: the happy path", () => {
  it.scoped("syncs every queued scene, then a second run of unchanged scenes writes nothing", () =>
    Effect.gen(function*() {
      const ids = range(1, 20)
      yield* enqueue(ids)
      const w = yield* worker()
      const syncedCounter = Metric.tagged(jobsProcessed, "outcome", "synced")
      const countBefore = (yield* Metric.value(syncedCounter)).count
      const latencyBefore = (yield* Metric.value(syncLatency)).count
      const first = yield* w.drain()
      assert.strictEqual((yield* Metric.value(syncedCounter)).count - countBefore, 20)
      assert.strictEqual((yield* Metric.value(syncLatency)).count - latencyBefore, 20)
      assert.deepStrictEqual(
        { ...first, stoppedBy: null },
        { processed: 20, synced: 20, unchanged: 0, dropped: 0, retried: 0, held: 0, deadLettered: 0, stoppedBy: null }
      )
      yield* assertAllSynced(ids)
      assert.strictEqual((yield* queued).length, 0)

      const writesBefore = yield* plexWrites
      const sim = yield* SimPlex.SimPlex
      yield* sim.resetCounts
      yield* enqueue(ids, "hook")
      const second = yield* w.drain()
      assert.strictEqual(second.unchanged, 20)
      assert.strictEqual(second.synced, 0)
      assert.strictEqual(yield* sim.requests(), 0, "an unchanged scene makes no Plex request")
      const rated = ids.filter((id) => id % 7 !== 0).length
      assert.strictEqual(writesBefore, 20 + rated + 20, "one edit, one rating (when there is one), one poster each")
    }).pipe(Effect.provide(world())))

  it.scoped("runs up to `concurrency` jobs at once", () =>
    Effect.gen(function*() {
      const sim = yield* slowPlex("1 second")
      yield* enqueue(range(1, 8))
      const fiber = yield* drainInBackground({ concurrency: 4, concurrencyMode: "fixed" })
      // 8 jobs, 4 at a time: two rounds of one-second steps (the section list once; find the file; read the
      // item; then edit, rating and poster together). Until Plex has taken a write with the token, a job's first
      // write goes out alone: the first round pays one more step, the second does not.
      const summary = yield* runToEnd(fiber)
      assert.strictEqual(summary.synced, 8)
      const now = yield* TestClock.currentTimeMillis
      assert.isTrue(now >= 8_000 && now <= 8_500, `took ${now} ms`)
      assert.strictEqual(yield* sim.requests("sections"), 1)
      const log = yield* sim.log
      const firstRound = log.filter((r) => r.op === "findByFile" && r.at < 2_000)
      assert.strictEqual(firstRound.length, 4)
    }).pipe(Effect.provide(world({ scenes: range(1, 8) }))))

  it.scoped("renews the lease of a long job, so it is never claimed twice", () =>
    Effect.gen(function*() {
      const sim = yield* slowPlex("20 seconds", "edit")
      yield* enqueue([1])
      const fiber = yield* drainInBackground({ leaseMs: 15_000 })
      const summary = yield* runToEnd(fiber)
      assert.strictEqual(summary.synced, 1)
      assert.strictEqual(yield* sim.requests("edit"), 1)
      yield* assertAllSynced([1])
    }).pipe(Effect.provide(world({ scenes: [1] }))))
})

describe("worker: job lease renewal", () => {
  /** A renewal that fails `failures` times with a busy database, then goes through. */
  const flakyRenew = (failures: number) => (renew: SyncQueueService["renew"]): SyncQueueService["renew"] => {
    let left = failures
    return (claimed, leaseMs) =>
      left-- > 0
        ? Effect.fail(new StoreError({ reason: "busy", message: "database is locked" }))
        : renew(claimed, leaseMs)
  }

  it.scoped("a renewal that fails once is retried within the lease: the job is never claimed twice", () =>
    Effect.gen(function*() {
      const sim = yield* slowPlex("40 seconds", "edit")
      yield* enqueue([1])
      const fiber = yield* drainInBackground({ leaseMs: 15_000, concurrency: 2 })
      const summary = yield* runToEnd(fiber, { step: "1 second" })
      assert.strictEqual(summary.synced, 1)
      assert.strictEqual(yield* sim.requests("edit"), 1, "the scene was written twice")
      yield* assertAllSynced([1])
    }).pipe(Effect.provide(world({ scenes: [1], renew: flakyRenew(1) }))))

  it.scoped("a lease that cannot be kept interrupts the job before its next Plex write", () =>
    Effect.gen(function*() {
      const sim = yield* slowPlex("40 seconds", "edit")
      yield* enqueue([1])
      const fiber = yield* drainInBackground({ leaseMs: 15_000 })
      const summary = yield* runToEnd(fiber, { step: "1 second" })
      assert.strictEqual(summary.processed, 0)
      // The rating and the poster come after the edit: neither was sent once the lease could not be renewed.
      assert.strictEqual(yield* sim.requests("rate"), 0)
      assert.strictEqual(yield* sim.requests("uploadPoster"), 0)
    }).pipe(Effect.provide(world({ scenes: [1], renew: flakyRenew(1000) }))))
})

describe("worker: error policy", () => {
  it.scoped("a deleted scene is dropped and counted, not dead-lettered", () =>
    Effect.gen(function*() {
      const stash = yield* SimStash.SimStash
      yield* stash.deleteScenes(["2"])
      yield* enqueue([1, 2])
      const summary = yield* (yield* worker()).drain()
      assert.strictEqual(summary.dropped, 1)
      assert.strictEqual(summary.synced, 1)
      assert.strictEqual((yield* dlqEntries).length, 0)
      assert.strictEqual((yield* queued).length, 0)
    }).pipe(Effect.provide(world({ scenes: [1, 2] }))))

  it.scoped("a temporary error is retried with full-jitter backoff, spending an attempt", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* sim.failNext("edit", new PlexTemporaryError({ message: "500", status: 500 }))
      yield* enqueue([1])
      const w = yield* worker()
      const first = yield* w.drain()
      assert.strictEqual(first.retried, 1)
      const [job] = yield* queued
      assert.strictEqual(job!.attempts, 1)
      assert.strictEqual(job!.lastErrorTag, "PlexTemporaryError")
      assert.isTrue(job!.availableAt <= 5_000, "attempt 1 waits at most the 5 s base")
      const fiber = yield* Effect.fork(w.drain({ wait: true }))
      const second = yield* runToEnd(fiber)
      assert.strictEqual(second.synced, 1)
      yield* assertAllSynced([1])
    }).pipe(Effect.provide(world({ scenes: [1] }))))

  it.scoped("an ambiguous match goes straight to the DLQ with its candidates", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* sim.addItem(SimPlex.sampleItem(5000, "/data/scenes/1.mp4"))
      yield* enqueue([1])
      const summary = yield* (yield* worker()).drain()
      assert.strictEqual(summary.deadLettered, 1)
      const [entry] = yield* dlqEntries
      assert.strictEqual(entry!.errorTag, "MatchAmbiguous")
      assert.strictEqual(entry!.attempts, 1)
      const detail = entry!.detail as { candidates: ReadonlyArray<{ ratingKey: string }> }
      assert.deepStrictEqual(detail.candidates.map((c) => c.ratingKey).sort(), ["1001", "5000"])
      assert.strictEqual(yield* plexWrites, 0)
    }).pipe(Effect.provide(world({ scenes: [1] }))))

  it.scoped("NotFound never opens the breaker; it retries 12 times, then the DLQ", () =>
    Effect.gen(function*() {
      const ids = range(1, 8)
      yield* enqueue(ids)
      const w = yield* worker({ breakerThreshold: 5, scanOnMiss: false })
      const first = yield* w.drain()
      assert.strictEqual(first.retried, 8)
      const outages = yield* OutageHistory
      const fiber = yield* Effect.fork(w.drain({ wait: true }))
      const rest = yield* runToEnd(fiber)
      assert.strictEqual(rest.deadLettered, 8)
      const entries = yield* dlqEntries
      assert.deepStrictEqual(new Set(entries.map((e) => e.errorTag)), new Set(["PlexNotFound"]))
      assert.deepStrictEqual(entries.map((e) => e.attempts), ids.map(() => 12))
      assert.strictEqual((yield* outages.list({ limit: 10 })).length, 0, "no outage")
      const sim = yield* SimPlex.SimPlex
      assert.strictEqual(yield* sim.requests("health"), 0, "no probe: the breaker never opened")
    }).pipe(Effect.provide(world({ scenes: range(1, 8), plexItems: [] }))))

  it.scoped("401 stops the worker with a clear error and loses nothing", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const ids = range(1, 10)
      yield* enqueue(ids)
      const w = yield* worker({ concurrency: 1 })
      // the first job gets through (sections, findByFile, getItem, edit, rate, poster), then the token is refused
      yield* sim.authFailAfter(6)
      const summary = yield* w.drain()
      assert.strictEqual(summary.synced, 1)
      assert.strictEqual(summary.stoppedBy?.reason, "PlexAuthError")
      assert.include(summary.stoppedBy!.message, "PLEXSYNC_PLEX_TOKEN")
      const jobs = yield* queued
      assert.strictEqual(jobs.length, 9, "every other job is still queued")
      assert.isTrue(jobs.every((j) => j.attempts === 0 && j.state === "queued"), "no attempt spent")
      assert.strictEqual((yield* dlqEntries).length, 0)
      const outages = yield* OutageHistory
      assert.strictEqual((yield* outages.list({ limit: 10 })).length, 0)
      // the long-running form fails with the typed error
      const run = yield* Effect.either(w.run({ stop: Effect.never }))
      assert.isTrue(run._tag === "Left" && run.left._tag === "WorkerStopped")
      assert.strictEqual((yield* queued).length, 9)
      // with a good token again, everything syncs
      yield* sim.clearAuthFailure
      const after = yield* w.drain()
      assert.strictEqual(after.synced, 9)
      yield* assertAllSynced(ids)
    }).pipe(Effect.provide(world({ scenes: range(1, 10) }))))
})

describe("worker: Plex down for an hour mid-run", () => {
  const T_DOWN = 3_000
  const HOUR = 3_600_000

  it.scoped("holds jobs without spending attempts, records one outage, and syncs everything after", () =>
    Effect.gen(function*() {
      const ids = range(1, 60)
      const sim = yield* slowPlex("200 millis")
      yield* sim.downBetween(T_DOWN, T_DOWN + HOUR)
      yield* enqueue(ids)
      const w = yield* worker()
      const fiber = yield* Effect.fork(w.drain({ wait: true }))

      // Half-way through the outage: the breaker holds the jobs, nothing burns attempts.
      yield* advanceUntil(Effect.map(TestClock.currentTimeMillis, (t) => t >= T_DOWN + HOUR / 2))
      const midway = yield* queued
      const spent = midway.filter((j) => j.attempts > 0)
      assert.isAtMost(spent.length, 4, "only the failures before the breaker opened spent an attempt")
      assert.isTrue(midway.every((j) => j.attempts <= 1))
      assert.isAbove(midway.length, 40, "most scenes are still waiting")
      assert.strictEqual((yield* dlqEntries).length, 0)
      const outages = yield* OutageHistory
      const open = Option.getOrThrow(yield* outages.current("plex"))
      assert.isNull(open.endedAt)
      const probesSoFar = yield* sim.requests("health")
      assert.isTrue(probesSoFar >= 30 && probesSoFar <= 90, `probes back off to about a minute: ${probesSoFar}`)

      const summary = yield* runToEnd(fiber)
      assert.strictEqual(summary.deadLettered, 0)
      assert.isAbove(summary.held, 0)
      assert.strictEqual(summary.synced, 60)
      assert.strictEqual((yield* dlqEntries).length, 0, "nothing reached the DLQ")
      assert.strictEqual((yield* queued).length, 0)
      yield* assertAllSynced(ids)

      const all = yield* outages.list({ limit: 10 })
      assert.strictEqual(all.length, 1, "exactly one outage record")
      const outage = all[0]!
      assert.strictEqual(outage.target, "plex")
      assert.isTrue(outage.startedAt >= T_DOWN && outage.startedAt < T_DOWN + 5_000, `start ${outage.startedAt}`)
      assert.isTrue(
        outage.endedAt! >= T_DOWN + HOUR && outage.endedAt! <= T_DOWN + HOUR + 80_000,
        `end ${outage.endedAt}`
      )
      // The jobs it affected: each job that failed against Plex, counted once.
      const failedScenes = new Set<string>()
      for (const r of yield* sim.log) {
        if (r.failedWith === null || r.op === "health") continue
        const d = r.detail as { path?: string; ratingKey?: string } | string | null
        const key = typeof d === "string" ? d : d?.path ?? d?.ratingKey
        failedScenes.add(String(key).replace(/^.*\/(\d+)\.mp4$/, "$1").replace(/^10*(\d+)$/, "$1"))
      }
      assert.strictEqual(outage.jobsAffected, failedScenes.size)
      assert.isAtLeast(outage.jobsAffected, 5)
    }).pipe(Effect.provide(world({ scenes: range(1, 60) }))))

  it.scoped("C→O→H→O→H→C: a failed trial re-opens the same outage; after close the ramp paces jobs", () =>
    Effect.gen(function*() {
      const ids = range(1, 40)
      const sim = yield* SimPlex.SimPlex
      yield* sim.downBetween(0, 120_000)
      // the first trial job after the outage fails once more
      yield* sim.at(120_000, sim.failNext("findByFile", new PlexServerDown({ message: "reset", code: "ECONNRESET" })))
      yield* enqueue(ids)
      const w = yield* worker()
      const fiber = yield* Effect.fork(w.drain({ wait: true }))
      const summary = yield* runToEnd(fiber)
      assert.strictEqual(summary.synced, 40)
      const outages = yield* OutageHistory
      const all = yield* outages.list({ limit: 10 })
      assert.strictEqual(all.length, 1, "the failed trial opened no second outage")
      const failedTrials = (yield* sim.log).filter((r) =>
        r.op === "findByFile" && r.failedWith !== null && r.at >= 120_000
      )
      assert.strictEqual(failedTrials.length, 1)
      // ramp: jobs start at about 5/s right after the close, not 4 at once per round trip
      const end = all[0]!.endedAt!
      const starts = (yield* sim.log).filter((r) => r.op === "findByFile" && r.at >= end && r.at < end + 2_000)
      assert.isTrue(starts.length >= 8 && starts.length <= 12, `${starts.length} jobs in the first 2 s`)
    }).pipe(Effect.provide(world({ scenes: range(1, 40) }))))

  it.scoped("a job held past the hold limit goes to the DLQ as PlexServerDown with the outage id", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* sim.downBetween(0, 10 * 3_600_000)
      yield* enqueue(range(1, 10))
      const w = yield* worker({ holdLimitMs: 2 * 3_600_000, concurrency: 2 })
      const fiber = yield* Effect.fork(w.drain({ wait: true }))
      yield* advanceUntil(Effect.map(TestClock.currentTimeMillis, (t) => t >= 3 * 3_600_000))
      const outages = yield* OutageHistory
      const outage = Option.getOrThrow(yield* outages.current("plex"))
      const entries = yield* dlqEntries
      assert.isAbove(entries.length, 0)
      for (const e of entries) {
        assert.strictEqual(e.errorTag, "PlexServerDown")
        assert.strictEqual(e.outageId, outage.id)
      }
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(world({ scenes: range(1, 10) }))))
})

describe("worker: after an outage", () => {
  const editTimes = Effect.gen(function*() {
    const sim = yield* SimPlex.SimPlex
    const times = new Map<string, number>()
    for (const r of yield* sim.log) {
      if (r.op !== "edit" || r.failedWith !== null) continue
      const key = (r.detail as { ratingKey: string }).ratingKey
      if (!times.has(key)) times.set(key, r.at)
    }
    return times
  })

  it.scoped("jobs that failed before the breaker opened are due when it closes; other failures keep their backoff", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      // A fixed seed: the backoffs drawn are the same on every run (checked below, so the test can fail).
      const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make("s1"))
      // Fixed concurrency: the jobs that fail before the breaker opens are the ones in flight at once.
      const w = yield* worker({ scanOnMiss: false, concurrencyMode: "fixed" })

      // Scene 6 has no Plex item: PlexNotFound, a failure that says nothing about Plex being down.
      yield* enqueue([6])
      assert.strictEqual((yield* seeded(w.drain())).retried, 1)
      const notFound = (yield* queued)[0]!
      assert.strictEqual(notFound.lastErrorTag, "PlexNotFound")

      // Plex goes down for 12 s; with the default threshold of 5, the first four jobs fail with a backoff
      // before the fifth failure opens the breaker.
      yield* TestClock.setTime(1_000)
      yield* sim.downBetween(1_000, 13_000)
      yield* enqueue(range(1, 5))
      const fiber = yield* Effect.fork(seeded(w.drain({ wait: true })))
      yield* advanceUntil(Effect.map(Effect.flatMap(OutageHistory, (h) => h.current("plex")), Option.isSome), {
        step: "10 millis"
      })
      const before = new Map((yield* queued).map((job) => [job.sceneId, job] as const))
      const backedOff = range(1, 5).filter((id) => {
        const job = before.get(sceneIdOf(id))!
        // They spent an attempt (held jobs do not); the open breaker holds them now too.
        return job.lastErrorTag === "PlexServerDown" && job.attempts === 1
      })
      assert.strictEqual(backedOff.length, 4, "four jobs failed before the breaker opened")

      const outages = yield* OutageHistory
      yield* advanceUntil(Effect.map(outages.list({ limit: 10 }), (all) => all[0]?.endedAt != null), {
        step: "10 millis"
      })
      const closedAt = (yield* outages.list({ limit: 10 }))[0]!.endedAt!
      const late = backedOff.filter((id) => before.get(sceneIdOf(id))!.availableAt > closedAt + 1_000)
      assert.isAtLeast(late.length, 1, "a backoff reaches past the close (otherwise the test shows nothing)")
      assert.isAbove(notFound.availableAt, closedAt + 1_000, "the PlexNotFound backoff reaches past the close")

      yield* advanceUntil(
        Effect.map(queued, (jobs) => jobs.length === 1 && jobs[0]!.sceneId === sceneIdOf(6)),
        { step: "10 millis", maxSteps: 10_000 }
      )
      const edits = yield* editTimes
      for (const id of range(1, 5)) {
        const at = edits.get(plexItemFor(id).ratingKey)
        assert.isDefined(at, `scene ${id} synced`)
        assert.isAtMost(at! - closedAt, 1_000, `scene ${id} synced within a second of the close`)
      }
      yield* assertAllSynced(range(1, 5))

      // The PlexNotFound job kept its due time and its attempt count.
      const [still] = yield* queued
      assert.strictEqual(still!.availableAt, notFound.availableAt)
      assert.strictEqual(still!.attempts, notFound.attempts)
      assert.strictEqual(still!.lastErrorTag, "PlexNotFound")
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(world({ scenes: range(1, 6), plexItems: range(1, 5) }))))
})

describe("worker: Stash down", () => {
  it.scoped("a Stash outage has its own breaker and outage record; the jobs wait and then sync", () =>
    Effect.gen(function*() {
      const ids = range(1, 12)
      const stash = yield* SimStash.SimStash
      yield* stash.downBetween(0, 5 * 60_000)
      yield* enqueue(ids)
      const w = yield* worker()
      const fiber = yield* Effect.fork(w.drain({ wait: true }))
      const summary = yield* runToEnd(fiber)
      assert.strictEqual(summary.synced, 12)
      assert.strictEqual(summary.deadLettered, 0)
      const outages = yield* OutageHistory
      const all = yield* outages.list({ limit: 10 })
      assert.deepStrictEqual(all.map((o) => o.target), ["stash"])
      assert.isTrue(all[0]!.endedAt! >= 5 * 60_000)
      const plex = yield* SimPlex.SimPlex
      assert.strictEqual(yield* plex.requests("health"), 0, "Plex was never suspected")
      yield* assertAllSynced(ids)
    }).pipe(Effect.provide(world({ scenes: range(1, 12) }))))
})

describe("worker: killed mid-job", () => {
  it.scoped("an interrupted worker releases its job; it syncs once more, without repeating the writes", () =>
    Effect.gen(function*() {
      const sim = yield* slowPlex("10 seconds", "uploadPoster")
      yield* enqueue([1])
      const fiber = yield* drainInBackground()
      yield* advanceUntil(sim.requests("uploadPoster").pipe(Effect.map((n) => n === 1)))
      yield* Fiber.interrupt(fiber)
      const [job] = yield* queued
      assert.strictEqual(job!.state, "queued")
      assert.strictEqual(job!.attempts, 0)
      yield* sim.setLatency(0, "uploadPoster")
      const second = yield* (yield* worker()).drain()
      assert.strictEqual(second.synced, 1)
      assert.strictEqual(yield* sim.requests("edit"), 1, "the edit that went through is not sent again")
      assert.strictEqual(yield* sim.requests("rate"), 1)
      assert.strictEqual(yield* sim.posterUploads("1001"), 1)
      yield* assertAllSynced([1])
    }).pipe(Effect.provide(world({ scenes: [1] }))))

  it.scoped("a crashed worker's job is claimable again after the lease and syncs once more", () =>
    Effect.gen(function*() {
      const sim = yield* slowPlex("10 seconds", "uploadPoster")
      yield* enqueue([1])
      const crashed = yield* drainInBackground({ leaseMs: 15_000 })
      yield* advanceUntil(sim.requests("uploadPoster").pipe(Effect.map((n) => n === 1)))
      yield* Fiber.interrupt(crashed)
      yield* sim.setLatency(0, "uploadPoster")
      const restarted = yield* worker({ leaseMs: 15_000 })
      const tooEarly = yield* restarted.drain()
      assert.strictEqual(tooEarly.processed, 0, "the lease is still live")
      yield* TestClock.adjust("16 seconds")
      const after = yield* restarted.drain()
      assert.strictEqual(after.synced, 1)
      assert.strictEqual(yield* sim.requests("edit"), 1)
      assert.strictEqual(yield* sim.posterUploads("1001"), 1)
      yield* assertAllSynced([1])
    }).pipe(Effect.provide(world({ scenes: [1], release: () => Effect.void }))))
})

describe("worker: stop signal", () => {
  it.scoped("run stops claiming on stop and lets the job in flight finish", () =>
    Effect.gen(function*() {
      const sim = yield* slowPlex("1 second")
      yield* enqueue(range(1, 10))
      const w = yield* worker({ concurrency: 1 })
      const stop = yield* Effect.makeLatch(false)
      const fiber = yield* Effect.fork(w.run({ stop: stop.await }))
      yield* advanceUntil(sim.requests("edit").pipe(Effect.map((n) => n === 2)))
      yield* stop.open
      const summary = yield* runToEnd(fiber, { step: "100 millis" })
      assert.strictEqual(summary.synced, 2)
      assert.strictEqual((yield* queued).length, 8)
      assert.isTrue((yield* queued).every((j) => j.state === "queued"))
    }).pipe(Effect.provide(world({ scenes: range(1, 10) }))))

  it.scoped("run picks up jobs queued while it idles", () =>
    Effect.gen(function*() {
      const w = yield* worker()
      const stop = yield* Effect.makeLatch(false)
      const fiber = yield* Effect.fork(w.run({ stop: stop.await }))
      yield* TestClock.adjust("5 seconds")
      yield* enqueue([3])
      yield* advanceUntil(Effect.map(queued, (jobs) => jobs.length === 0))
      yield* stop.open
      const summary = yield* runToEnd(fiber)
      assert.strictEqual(summary.synced, 1)
      const p = yield* SimPlex.SimPlex
      assert.isTrue(Option.isSome(yield* p.item(plexItemFor(3).ratingKey)))
      yield* assertAllSynced([3])
      assert.strictEqual(sceneIdOf(3), "3")
    }).pipe(Effect.provide(world({ scenes: [3] }))))
})

describe("worker: wake-ups", () => {
  /** Lets the fibers run as far as they can without the clock moving (the store and simulators need no time). */
  const withoutTime = <E, R>(done: Effect.Effect<boolean, E, R>) =>
    Effect.gen(function*() {
      for (let i = 0; i < 2_000 && !(yield* done); i++) yield* Effect.yieldNow()
      return yield* done
    })

  it.scoped("an idle run takes a new job the moment it is woken, not at its next idle poll", () =>
    Effect.gen(function*() {
      const w = yield* worker({ idlePollMs: 60_000 })
      const wakeups = yield* Queue.unbounded<void>()
      const stop = yield* Effect.makeLatch(false)
      const fiber = yield* Effect.fork(w.run({ stop: stop.await, wakeups: Stream.fromQueue(wakeups) }))
      yield* TestClock.adjust("5 seconds")
      const drained = Effect.map(queued, (jobs) => jobs.length === 0)
      yield* enqueue([3])
      assert.isFalse(yield* withoutTime(drained), "unwoken, the job waits for the idle poll")
      yield* Queue.offer(wakeups, undefined)
      assert.isTrue(yield* withoutTime(drained), "woken, it is taken at once")
      yield* stop.open
      assert.strictEqual((yield* runToEnd(fiber)).synced, 1)
      yield* assertAllSynced([3])
    }).pipe(Effect.provide(world({ scenes: [3] }))))
})

describe("worker: an idle run sleeps until the next due job", () => {
  it.scoped("a job due later runs at its due time, with no look at the queue in between", () =>
    Effect.gen(function*() {
      let claims = 0
      // No idle poll to speak of: only the job's due time can wake the worker.
      const w = yield* worker({ idlePollMs: 24 * 3_600_000 }).pipe(
        Effect.updateService(SyncQueue, (queue) => ({
          ...queue,
          claim: (options: Parameters<SyncQueueService["claim"]>[0]) =>
            Effect.suspend(() => {
              claims++
              return queue.claim(options)
            })
        }))
      )
      const wakeups = yield* Queue.unbounded<void>()
      const stop = yield* Effect.makeLatch(false)
      const fiber = yield* Effect.fork(w.run({ stop: stop.await, wakeups: Stream.fromQueue(wakeups) }))
      yield* TestClock.adjust("5 seconds")
      const dueAt = (yield* TestClock.currentTimeMillis) + 90_000
      yield* Effect.flatMap(SyncQueue, (q) => q.enqueue({ sceneId: sceneIdOf(3), reason: "hook", availableAt: dueAt }))
      // The enqueue's wake-up: the worker looks once, finds nothing due yet, and sleeps until the due time.
      yield* Queue.offer(wakeups, undefined)
      const synced = Effect.map(queued, (jobs) => jobs.length === 0)
      for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
      const claimsAfterWake = claims
      yield* TestClock.adjust("89 seconds")
      assert.isFalse(yield* synced, "not before its due time")
      assert.strictEqual(claims, claimsAfterWake, "the sleeping worker does not look at the queue")
      yield* TestClock.adjust("1 second")
      for (let i = 0; i < 2_000 && !(yield* synced); i++) yield* Effect.yieldNow()
      assert.isTrue(yield* synced, "taken at its due time")
      yield* stop.open
      assert.strictEqual((yield* runToEnd(fiber)).synced, 1)
      yield* assertAllSynced([3])
    }).pipe(Effect.provide(world({ scenes: [3] }))))
})

// A 401 while probing also stops the worker (a token revoked during an outage).
describe("worker: probes", () => {
  it.scoped("a refused token on a health probe stops the worker", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      yield* sim.downBetween(0, 30_000)
      yield* enqueue(range(1, 6))
      const w = yield* worker()
      yield* sim.at(30_000, sim.authFailAfter(0))
      const fiber = yield* Effect.fork(w.drain({ wait: true }))
      const summary = yield* runToEnd(fiber)
      assert.strictEqual(summary.stoppedBy?.reason, "PlexAuthError")
      assert.isTrue((yield* queued).every((j) => j.state === "queued"))
      assert.strictEqual((yield* dlqEntries).length, 0)
      assert.isTrue(
        (yield* sim.log).some((r) => r.op === "health" && r.failedWith === new PlexAuthError({ message: "" })._tag)
      )
    }).pipe(Effect.provide(world({ scenes: range(1, 6) }))))
})
