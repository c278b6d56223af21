import { SqlClient } from "@effect/sql/SqlClient"
import { assert, describe } from "@effect/vitest"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { OutageId } from "@plexsync/domain/Ids"
import type { JobFailure } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Effect, Option, TestClock } from "effect"
import { CLAIM_CANDIDATES } from "../src/SyncQueueSqlite.js"
import { refuseInserts, scene, test } from "./support.js"

const down: JobFailure = { tag: "PlexServerDown", message: "connect ECONNREFUSED 127.0.0.1:32400" }
const notFound: JobFailure = { tag: "PlexNotFound", message: "no Plex item for /media/a.mp4" }

/** Queues scene 1 and claims its job, with a lease of `leaseMs`. */
const enqueueAndClaim = (leaseMs: number) =>
  Effect.flatMap(SyncQueue, (q) =>
    Effect.zipRight(
      q.enqueue({ sceneId: scene(1), reason: "hook" }),
      Effect.map(q.claim({ limit: 1, leaseMs }), ([claimed]) => claimed)
    ))

const getJob = (id: number) => Effect.flatMap(SyncQueue, (q) => Effect.map(q.get(id), Option.getOrThrow))

describe("SyncQueue on SQLite", () => {
  describe("enqueue", () => {
    test.queue("coalesces into the scene's queued job: the earlier due time wins, the first reason is kept", (q) =>
      Effect.gen(function*() {
        const first = yield* q.enqueue({ sceneId: scene(1), reason: "hook", availableAt: 5000 })
        const earlier = yield* q.enqueue({ sceneId: scene(1), reason: "poll", availableAt: 2000 })
        const later = yield* q.enqueue({ sceneId: scene(1), reason: "bulk", availableAt: 9000 })
        const other = yield* q.enqueue({ sceneId: scene(2), reason: "poll" })
        assert.isFalse(first.coalesced)
        assert.isTrue(earlier.coalesced)
        assert.isTrue(later.coalesced)
        assert.strictEqual(earlier.jobId, first.jobId)
        assert.strictEqual(later.jobId, first.jobId)
        assert.isFalse(other.coalesced)
        const job = yield* getJob(first.jobId)
        assert.strictEqual(job.availableAt, 2000)
        assert.strictEqual(job.reason, "hook")
        assert.strictEqual(job.state, "queued")
        assert.strictEqual(job.attempts, 0)
        assert.strictEqual((yield* q.counts).queued, 2)
      }))

    test.queue("a job waiting out a retry keeps its due time when a new event for the scene arrives", (q) =>
      Effect.gen(function*() {
        const claimed = yield* enqueueAndClaim(60_000)
        yield* q.retryLater(claimed!, { availableAt: 30_000, failure: notFound, countAttempt: true, held: false })
        const again = yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
        assert.isTrue(again.coalesced)
        assert.strictEqual((yield* getJob(again.jobId)).availableAt, 30_000)
        assert.deepStrictEqual(yield* q.claim({ limit: 10, leaseMs: 60_000 }), [])
      }))

    test.queue("enqueueMany counts inserts and merges, including a scene repeated in the batch", (q) =>
      Effect.gen(function*() {
        yield* q.enqueue({ sceneId: scene(1), reason: "hook", availableAt: 100 })
        const result = yield* q.enqueueMany([
          { sceneId: scene(1), reason: "bulk", availableAt: 50 },
          { sceneId: scene(2), reason: "bulk" },
          { sceneId: scene(3), reason: "bulk" },
          { sceneId: scene(2), reason: "bulk" }
        ])
        assert.deepStrictEqual(result, { inserted: 2, coalesced: 2 })
        const jobs = yield* q.list({ limit: 10 })
        assert.deepStrictEqual(jobs.map((j) => [j.sceneId, j.availableAt]), [["2", 0], ["3", 0], ["1", 50]])
        assert.deepStrictEqual(yield* q.enqueueMany([]), { inserted: 0, coalesced: 0 })
      }))

    test.queue("enqueueMany is one transaction: a failure part way leaves nothing behind", (q) =>
      Effect.gen(function*() {
        yield* refuseInserts("jobs", scene(7))
        const inputs = Array.from({ length: 10 }, (_, i) => ({ sceneId: scene(i + 1), reason: "bulk" as const }))
        const error = yield* Effect.flip(q.enqueueMany(inputs))
        assert.strictEqual(error._tag, "StoreError")
        assert.strictEqual((yield* q.counts).queued, 0)
      }))

    test.queue("an operation running beside a failing transaction is not rolled back with it", (q) =>
      Effect.gen(function*() {
        yield* refuseInserts("jobs", scene(3000))
        const batch = Array.from({ length: 3000 }, (_, i) => ({ sceneId: scene(i + 1), reason: "bulk" as const }))
        const singles = Array.from({ length: 20 }, (_, i) => q.enqueue({ sceneId: scene(10_000 + i), reason: "hook" }))
        const [batchResult] = yield* Effect.all([Effect.either(q.enqueueMany(batch)), ...singles], {
          concurrency: "unbounded"
        })
        assert.strictEqual(batchResult._tag, "Left")
        assert.strictEqual((yield* q.counts).queued, 20)
      }))
  })

  describe("claim and leases", () => {
    test.queue("claims due jobs in due order with a lease and a distinct token, never before they are due", (q) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(1_000)
        yield* q.enqueue({ sceneId: scene(3), reason: "poll", availableAt: 900 })
        yield* q.enqueue({ sceneId: scene(1), reason: "poll", availableAt: 500 })
        yield* q.enqueue({ sceneId: scene(2), reason: "poll", availableAt: 900 })
        yield* q.enqueue({ sceneId: scene(4), reason: "poll", availableAt: 1_001 })
        const claimed = yield* q.claim({ limit: 10, leaseMs: 30_000 })
        assert.deepStrictEqual(claimed.map((c) => c.job.sceneId), ["1", "3", "2"])
        for (const c of claimed) {
          assert.strictEqual(c.job.state, "running")
          assert.strictEqual(c.job.leaseUntil, 31_000)
        }
        assert.strictEqual(new Set(claimed.map((c) => c.leaseToken)).size, 3)
        assert.deepStrictEqual(yield* q.claim({ limit: 10, leaseMs: 30_000 }), [])
        yield* TestClock.adjust(1)
        const next = yield* q.claim({ limit: 10, leaseMs: 30_000 })
        assert.deepStrictEqual(next.map((c) => c.job.sceneId), ["4"])
      }))

    test.queue("respects the limit", (q) =>
      Effect.gen(function*() {
        yield* q.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ sceneId: scene(i + 1), reason: "bulk" })))
        assert.strictEqual((yield* q.claim({ limit: 2, leaseMs: 1000 })).length, 2)
        assert.strictEqual((yield* q.claim({ limit: 0, leaseMs: 1000 })).length, 0)
        assert.strictEqual((yield* q.claim({ limit: 10, leaseMs: 1000 })).length, 3)
      }))

    test.queue("a running and a queued job for one scene coexist; the queued one waits for the running one", (q) =>
      Effect.gen(function*() {
        yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
        const [running] = yield* q.claim({ limit: 1, leaseMs: 10_000 })
        const queued = yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
        assert.isFalse(queued.coalesced)
        assert.notStrictEqual(queued.jobId, running!.job.id)
        const merged = yield* q.enqueue({ sceneId: scene(1), reason: "poll" })
        assert.isTrue(merged.coalesced)
        assert.strictEqual(merged.jobId, queued.jobId)
        assert.deepStrictEqual(yield* q.counts, { queued: 1, due: 1, running: 1, held: 0 })
        // The scene is busy: its queued job is not claimed beside the running one.
        assert.deepStrictEqual(yield* q.claim({ limit: 10, leaseMs: 10_000 }), [])
        yield* q.complete(running!)
        const [next] = yield* q.claim({ limit: 10, leaseMs: 10_000 })
        assert.strictEqual(next!.job.id, queued.jobId)
      }))

    test.queue("a stale token is refused after the lease expired and the job was claimed again", (q) =>
      Effect.gen(function*() {
        const { jobId } = yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
        const [first] = yield* q.claim({ limit: 1, leaseMs: 1000 })
        yield* TestClock.adjust(1000)
        const [second] = yield* q.claim({ limit: 1, leaseMs: 1000 })
        assert.strictEqual(second!.job.id, jobId)
        assert.notStrictEqual(second!.leaseToken, first!.leaseToken)
        assert.strictEqual(second!.job.attempts, 0)
        for (
          const attempt of [
            q.complete(first!),
            q.renew(first!, 1000),
            q.release(first!),
            q.retryLater(first!, { availableAt: 0, failure: down, countAttempt: true, held: false }),
            q.deadLetter(first!, { failure: down, outageId: null, countAttempt: true })
          ]
        ) {
          const error = yield* Effect.flip(attempt)
          assert.strictEqual(error._tag, "LeaseLost")
        }
        const job = yield* getJob(jobId)
        assert.strictEqual(job.state, "running")
        assert.strictEqual(job.attempts, 0)
        assert.strictEqual(job.leaseUntil, 2000)
        const dlq = yield* DeadLetterQueue
        assert.strictEqual(yield* dlq.count({}), 0)
        yield* q.complete(second!)
        assert.isTrue(Option.isNone(yield* q.get(jobId)))
      }))

    test.queue("an expired lease is refused even before anyone claims the job again", (q) =>
      Effect.gen(function*() {
        const claimed = yield* enqueueAndClaim(1000)
        yield* TestClock.adjust(999)
        yield* q.renew(claimed!, 1000)
        yield* TestClock.adjust(1000)
        assert.strictEqual((yield* Effect.flip(q.complete(claimed!)))._tag, "LeaseLost")
        assert.strictEqual((yield* q.counts).running, 0)
      }))

    test.queue("an expired job is claimable again without touching others' live leases", (q) =>
      Effect.gen(function*() {
        yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
        yield* q.enqueue({ sceneId: scene(2), reason: "hook" })
        const [a] = yield* q.claim({ limit: 1, leaseMs: 1000 })
        yield* TestClock.adjust(500)
        const [b] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        assert.strictEqual(a!.job.sceneId, "1")
        assert.strictEqual(b!.job.sceneId, "2")
        yield* TestClock.adjust(600)
        const again = yield* q.claim({ limit: 10, leaseMs: 1000 })
        assert.deepStrictEqual(again.map((c) => c.job.id), [a!.job.id])
        assert.strictEqual(again[0]!.job.attempts, 0)
        const bNow = yield* getJob(b!.job.id)
        assert.strictEqual(bNow.leaseUntil, 60_500)
        assert.strictEqual(bNow.state, "running")
        yield* q.complete(b!)
        yield* q.complete(again[0]!)
        assert.deepStrictEqual(yield* q.counts, { queued: 0, due: 0, running: 0, held: 0 })
      }))

    test.queue("an expired job whose scene was queued again is dropped: the queued job syncs the scene", (q) =>
      Effect.gen(function*() {
        const crashed = yield* enqueueAndClaim(1000)
        const queued = yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
        yield* TestClock.adjust(1000)
        const claimed = yield* q.claim({ limit: 10, leaseMs: 1000 })
        assert.deepStrictEqual(claimed.map((c) => c.job.id), [queued.jobId])
        assert.isTrue(Option.isNone(yield* q.get(crashed!.job.id)))
      }))

    test.queue("renew extends a live lease", (q) =>
      Effect.gen(function*() {
        const claimed = yield* enqueueAndClaim(1000)
        yield* TestClock.adjust(800)
        yield* q.renew(claimed!, 5000)
        assert.strictEqual((yield* getJob(claimed!.job.id)).leaseUntil, 5800)
        yield* TestClock.adjust(4000)
        assert.deepStrictEqual(yield* q.claim({ limit: 1, leaseMs: 1000 }), [])
        yield* q.complete(claimed!)
      }))

    test.queue("the claim query is an index range scan in due order (EXPLAIN QUERY PLAN)", (q) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient
        yield* q.enqueueMany(
          Array.from({ length: 2000 }, (_, i) => ({ sceneId: scene(i + 1), reason: "bulk", availableAt: i }))
        )
        yield* q.claim({ limit: 20, leaseMs: 60_000 })
        yield* sql`ANALYZE`
        const plan = yield* sql.unsafe<{ readonly detail: string }>(`EXPLAIN QUERY PLAN ${CLAIM_CANDIDATES}`, [
          1000,
          1000,
          10
        ])
        const details = plan.map((row) => row.detail)
        const text = details.join("\n")
        assert.match(text, /SEARCH q USING (COVERING )?INDEX jobs_due \(available_at<\?\)/, text)
        assert.notMatch(text, /SCAN q\b/, text)
        assert.notMatch(text, /TEMP B-TREE/, text)
        assert.match(text, /SEARCH r USING (COVERING )?INDEX jobs_running/, text)
      }))

    test.queue("a job that does not decode is moved to the DLQ by the claim, and the next due job claimed instead", (q) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient
        const dlq = yield* DeadLetterQueue
        const bad = yield* q.enqueue({ sceneId: scene(7), reason: "hook", availableAt: 100 })
        yield* q.enqueue({ sceneId: scene(8), reason: "poll", availableAt: 200 })
        yield* sql`UPDATE jobs SET reason = 'telepathy', attempts = 2 WHERE id = ${bad.jobId}`
        yield* TestClock.setTime(1000)
        const claimed = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        assert.deepStrictEqual(claimed.map((c) => c.job.sceneId), ["8"])
        // Neither queued nor running: it cannot be claimed again or hold its scene.
        assert.deepStrictEqual(yield* q.counts, { queued: 0, due: 0, running: 1, held: 0 })
        const listed = yield* dlq.list({})
        assert.deepStrictEqual(listed.entries.map((e) => [e.sceneId, e.errorTag, e.attempts]), [[
          "7",
          "JobUndecodable",
          2
        ]])
        assert.match(listed.entries[0]!.message, /Job \d+ \(scene 7\) does not decode.*reason: Expected "hook"/)
        const [row] = yield* sql<
          { error_tag: string; scene_id: string; attempts: number; message: string; detail: string }
        >`
          SELECT error_tag, scene_id, attempts, message, detail FROM dead_letters`
        assert.strictEqual(row!.error_tag, "JobUndecodable")
        assert.strictEqual(row!.scene_id, "7")
        assert.strictEqual(JSON.parse(row!.detail).row.reason, "telepathy")
        // Nothing was left behind to be claimed later.
        yield* TestClock.adjust(120_000)
        assert.deepStrictEqual((yield* q.claim({ limit: 5, leaseMs: 60_000 })).map((c) => c.job.sceneId), ["8"])
      }))

    test.queue("a damaged field other than scene and reason leaves a DLQ entry that `dlq retry` can queue again", (q) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient
        const dlq = yield* DeadLetterQueue
        const bad = yield* q.enqueue({ sceneId: scene(7), reason: "hook" })
        yield* sql`UPDATE jobs SET attempts = -3 WHERE id = ${bad.jobId}`
        assert.deepStrictEqual(yield* q.claim({ limit: 3, leaseMs: 60_000 }), [])
        const { entries } = yield* dlq.list({})
        assert.deepStrictEqual(entries.map((e) => [e.sceneId, e.errorTag]), [["7", "JobUndecodable"]])
        assert.strictEqual(Option.getOrThrow(yield* dlq.get(entries[0]!.id)).payload.reason, "hook")
        const [outcome] = yield* dlq.redrive(entries, { reason: "recovery" })
        assert.strictEqual(outcome!._tag, "Recovered")
        const [again] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        assert.deepStrictEqual([again!.job.sceneId, again!.job.attempts], ["7", 0])
      }))
  })

  describe("retry, release, dead letter", () => {
    test.queue("a retried job is never claimable before its due time and spends an attempt", (q) =>
      Effect.gen(function*() {
        const claimed = yield* enqueueAndClaim(60_000)
        yield* q.retryLater(claimed!, { availableAt: 1000, failure: notFound, countAttempt: true, held: false })
        const job = yield* getJob(claimed!.job.id)
        assert.strictEqual(job.state, "queued")
        assert.strictEqual(job.attempts, 1)
        assert.strictEqual(job.lastErrorTag, "PlexNotFound")
        assert.strictEqual(job.lastError, notFound.message)
        assert.isNull(job.leaseUntil)
        assert.isNull(job.heldSince)
        assert.deepStrictEqual(yield* q.claim({ limit: 1, leaseMs: 60_000 }), [])
        yield* TestClock.adjust(999)
        assert.deepStrictEqual(yield* q.claim({ limit: 1, leaseMs: 60_000 }), [])
        yield* TestClock.adjust(1)
        const [again] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        assert.strictEqual(again!.job.id, claimed!.job.id)
        assert.strictEqual(again!.job.attempts, 1)
      }))

    test.queue("a held job keeps the time of its first hold and spends no attempt; an unheld retry clears it", (q) =>
      Effect.gen(function*() {
        yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
        yield* TestClock.setTime(100)
        const [c1] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        yield* q.retryLater(c1!, { availableAt: 200, failure: down, countAttempt: false, held: true })
        let job = yield* getJob(c1!.job.id)
        assert.strictEqual(job.heldSince, 100)
        assert.strictEqual(job.attempts, 0)
        assert.strictEqual((yield* q.counts).held, 1)
        yield* TestClock.setTime(300)
        const [c2] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        yield* q.retryLater(c2!, { availableAt: 400, failure: down, countAttempt: false, held: true })
        job = yield* getJob(c1!.job.id)
        assert.strictEqual(job.heldSince, 100)
        assert.strictEqual(job.availableAt, 400)
        yield* TestClock.setTime(400)
        const [c3] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        yield* q.retryLater(c3!, { availableAt: 500, failure: notFound, countAttempt: true, held: false })
        job = yield* getJob(c1!.job.id)
        assert.isNull(job.heldSince)
        assert.strictEqual(job.attempts, 1)
        assert.strictEqual((yield* q.counts).held, 0)
      }))

    test.queue("a retry whose scene was queued again merges into that job, keeping the later due time", (q) =>
      Effect.gen(function*() {
        const claimed = yield* enqueueAndClaim(60_000)
        const queued = yield* q.enqueue({ sceneId: scene(1), reason: "poll" })
        yield* q.retryLater(claimed!, { availableAt: 5000, failure: down, countAttempt: true, held: true })
        assert.isTrue(Option.isNone(yield* q.get(claimed!.job.id)))
        const job = yield* getJob(queued.jobId)
        assert.strictEqual(job.availableAt, 5000)
        assert.strictEqual(job.attempts, 1)
        assert.strictEqual(job.lastErrorTag, "PlexServerDown")
        assert.strictEqual(job.heldSince, 0)
        assert.strictEqual(job.reason, "poll")
        assert.deepStrictEqual(yield* q.counts, { queued: 1, due: 0, running: 0, held: 1 })
        assert.deepStrictEqual(yield* q.claim({ limit: 1, leaseMs: 60_000 }), [])
      }))

    test.queue("release puts the job back due now, or drops it when the scene is queued again", (q) =>
      Effect.gen(function*() {
        yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
        yield* q.enqueue({ sceneId: scene(2), reason: "hook" })
        const [a, b] = yield* q.claim({ limit: 2, leaseMs: 60_000 })
        yield* TestClock.adjust(50)
        yield* q.release(a!)
        const released = yield* getJob(a!.job.id)
        assert.strictEqual(released.state, "queued")
        assert.strictEqual(released.availableAt, 50)
        assert.isNull(released.leaseUntil)
        const again = yield* q.enqueue({ sceneId: scene(2), reason: "poll" })
        yield* q.release(b!)
        assert.isTrue(Option.isNone(yield* q.get(b!.job.id)))
        assert.strictEqual((yield* getJob(again.jobId)).state, "queued")
        assert.deepStrictEqual(yield* q.counts, { queued: 2, due: 2, running: 0, held: 0 })
      }))

    test.queue("deadLetter moves the job to the DLQ: the job is gone and the entry holds the failure", (q) =>
      Effect.gen(function*() {
        const dlq = yield* DeadLetterQueue
        yield* q.enqueue({ sceneId: scene(42), reason: "poll" })
        yield* TestClock.setTime(7_000)
        const [claimed] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        const detail = { _tag: "PlexServerDown", message: "down", code: "ECONNREFUSED" }
        const id = yield* q.deadLetter(claimed!, {
          failure: { ...down, detail },
          outageId: 3 as OutageId,
          countAttempt: true
        })
        assert.isTrue(Option.isNone(yield* q.get(claimed!.job.id)))
        const entry = Option.getOrThrow(yield* dlq.get(id))
        assert.strictEqual(entry.sceneId, "42")
        assert.strictEqual(entry.errorTag, "PlexServerDown")
        assert.strictEqual(entry.message, down.message)
        assert.deepStrictEqual(entry.detail, detail)
        assert.strictEqual(entry.attempts, 1)
        assert.strictEqual(entry.failedAt, 7_000)
        assert.strictEqual(entry.outageId, 3)
        assert.deepStrictEqual(entry.payload, { sceneId: "42", reason: "poll" })
        assert.isNull(entry.recoveredAt)
      }))

    test.queue("a scene dead-lettered again supersedes its older open entry: the DLQ shows each scene once", (q) =>
      Effect.gen(function*() {
        const dlq = yield* DeadLetterQueue
        const fail = (n: number, at: number) =>
          Effect.gen(function*() {
            yield* q.enqueue({ sceneId: scene(n), reason: "poll" })
            yield* TestClock.setTime(at)
            const [claimed] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
            return yield* q.deadLetter(claimed!, { failure: down, outageId: null, countAttempt: true })
          })
        const first = yield* fail(42, 1_000)
        const other = yield* fail(43, 2_000)
        const recovered = yield* fail(44, 2_500)
        yield* dlq.redrive([{ id: recovered, sceneId: scene(44) }], { reason: "recovery" })
        const [claimed44] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        yield* q.complete(claimed44!)
        const second = yield* fail(42, 3_000)
        const again44 = yield* fail(44, 4_000)
        const open = yield* dlq.list({ recovered: false, resolved: false })
        assert.deepStrictEqual(open.entries.map((e) => e.id), [other, second, again44])
        const older = Option.getOrThrow(yield* dlq.get(first))
        assert.strictEqual(older.resolution, "superseded")
        assert.strictEqual(older.resolvedAt, 3_000)
        const kept = Option.getOrThrow(yield* dlq.get(recovered))
        assert.isNull(kept.resolution, "a recovered entry stays what it was")
      }))

    test.queue("deadLetter is atomic: when the DLQ insert fails the job stays, still leased to its worker", (q) =>
      Effect.gen(function*() {
        const dlq = yield* DeadLetterQueue
        const claimed = yield* enqueueAndClaim(60_000)
        const acceptInserts = yield* refuseInserts("dead_letters")
        const error = yield* Effect.flip(q.deadLetter(claimed!, { failure: down, outageId: null, countAttempt: true }))
        assert.strictEqual(error._tag, "StoreError")
        const job = yield* getJob(claimed!.job.id)
        assert.strictEqual(job.state, "running")
        assert.strictEqual(yield* dlq.count({}), 0)
        yield* acceptInserts
        yield* q.deadLetter(claimed!, { failure: down, outageId: null, countAttempt: false })
        assert.strictEqual(yield* dlq.count({}), 1)
        assert.deepStrictEqual(yield* q.counts, { queued: 0, due: 0, running: 0, held: 0 })
      }))

    test.queue("deadLetterHeld moves the jobs held since before the cutoff, in one go", (q) =>
      Effect.gen(function*() {
        const dlq = yield* DeadLetterQueue
        yield* q.enqueueMany([1, 2, 3].map((n) => ({ sceneId: scene(n), reason: "hook" as const })))
        const [c1] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        yield* q.retryLater(c1!, { availableAt: 10_000, failure: down, countAttempt: false, held: true })
        yield* TestClock.setTime(1000)
        const [c2] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
        yield* q.retryLater(c2!, { availableAt: 10_000, failure: down, countAttempt: false, held: true })
        yield* TestClock.setTime(2000)
        const moved = yield* q.deadLetterHeld({
          heldBefore: 500,
          errorTags: ["PlexServerDown"],
          failure: { tag: "PlexServerDown", message: "Plex was down for too long" },
          outageId: 9 as OutageId
        })
        assert.strictEqual(moved, 1)
        const { entries } = yield* dlq.list({})
        assert.deepStrictEqual(entries.map((e) => [e.sceneId, e.errorTag, e.outageId, e.failedAt]), [
          [c1!.job.sceneId, "PlexServerDown", 9, 2000]
        ])
        assert.deepStrictEqual(yield* q.counts, { queued: 2, due: 1, running: 0, held: 1 })
      }))
  })

  describe("queries", () => {
    test.queue("counts: queued, due, running (live leases only), held", (q) =>
      Effect.gen(function*() {
        yield* q.enqueueMany([
          { sceneId: scene(1), reason: "poll" },
          { sceneId: scene(2), reason: "poll" },
          { sceneId: scene(3), reason: "poll" },
          { sceneId: scene(4), reason: "poll", availableAt: 10_000 }
        ])
        assert.deepStrictEqual(yield* q.counts, { queued: 4, due: 3, running: 0, held: 0 })
        const [a, b] = yield* q.claim({ limit: 2, leaseMs: 1000 })
        yield* q.retryLater(b!, { availableAt: 5000, failure: down, countAttempt: false, held: true })
        assert.deepStrictEqual(yield* q.counts, { queued: 3, due: 1, running: 1, held: 1 })
        yield* TestClock.adjust(1000)
        // a's lease expired: it is no longer counted as running.
        assert.deepStrictEqual(yield* q.counts, { queued: 3, due: 1, running: 0, held: 1 })
        assert.strictEqual((yield* Effect.flip(q.complete(a!)))._tag, "LeaseLost")
      }))

    test.queue("activeScenes finds queued and running scenes, not finished ones, over many ids", (q) =>
      Effect.gen(function*() {
        yield* q.enqueueMany([1, 2, 3].map((n) => ({ sceneId: scene(n), reason: "poll" as const })))
        const claimed = yield* q.claim({ limit: 2, leaseMs: 1000 })
        yield* q.complete(claimed.find((c) => c.job.sceneId === "1")!)
        yield* q.enqueue({ sceneId: scene(1500), reason: "poll" })
        const ids = Array.from({ length: 1600 }, (_, i) => scene(i + 1))
        const active = yield* q.activeScenes(ids)
        assert.deepStrictEqual([...active].sort(), ["1500", "2", "3"])
        assert.strictEqual((yield* q.activeScenes([])).size, 0)
      }))

    test.queue("nextDueAt: the next due job not blocked by its running scene, or an earlier lease expiry", (q) =>
      Effect.gen(function*() {
        assert.isTrue(Option.isNone(yield* q.nextDueAt))
        yield* q.enqueue({ sceneId: scene(1), reason: "poll", availableAt: 500 })
        yield* q.enqueue({ sceneId: scene(2), reason: "poll", availableAt: 800 })
        assert.deepStrictEqual(yield* q.nextDueAt, Option.some(500))
        yield* TestClock.setTime(500)
        const [claimed] = yield* q.claim({ limit: 1, leaseMs: 10_000 })
        yield* q.enqueue({ sceneId: scene(1), reason: "poll", availableAt: 600 })
        // Scene 1's queued job waits for its running one; scene 2 is next.
        assert.deepStrictEqual(yield* q.nextDueAt, Option.some(800))
        yield* TestClock.setTime(800)
        yield* q.claim({ limit: 1, leaseMs: 10_000 })
        assert.deepStrictEqual(yield* q.nextDueAt, Option.some(10_500))
        yield* q.complete(claimed!)
        assert.deepStrictEqual(yield* q.nextDueAt, Option.some(600))
      }))

    test.queue("list gives jobs in due order across states; get of a damaged row names table and row", (q) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient
        yield* q.enqueue({ sceneId: scene(1), reason: "poll", availableAt: 300 })
        yield* q.enqueue({ sceneId: scene(2), reason: "poll", availableAt: 100 })
        const bad = yield* q.enqueue({ sceneId: scene(3), reason: "poll", availableAt: 200 })
        yield* TestClock.setTime(100)
        yield* q.claim({ limit: 1, leaseMs: 1000 })
        yield* sql`UPDATE jobs SET reason = 'telepathy' WHERE id = ${bad.jobId}`
        const jobs = yield* q.list({ limit: 10 })
        assert.deepStrictEqual(jobs.map((j) => [j.sceneId, j.state]), [["2", "running"], ["1", "queued"]])
        const error = yield* Effect.flip(q.get(bad.jobId))
        assert.strictEqual(error._tag, "RowDecodeError")
        if (error._tag === "RowDecodeError") {
          assert.strictEqual(error.table, "jobs")
          assert.strictEqual(error.rowId, String(bad.jobId))
        }
        assert.isTrue(Option.isNone(yield* q.get(999)))
      }))
  })

  describe("makeDue", () => {
    test.queue("makes the jobs failed with the given tags due now and unheld; attempts and other jobs are untouched", (q) =>
      Effect.gen(function*() {
        const temporary: JobFailure = { tag: "PlexTemporaryError", message: "503" }
        for (const id of [1, 2, 3, 4, 5]) yield* q.enqueue({ sceneId: scene(id), reason: "hook" })
        const claimed = yield* q.claim({ limit: 5, leaseMs: 10_000 })
        const bySceneId = new Map(claimed.map((c) => [c.job.sceneId, c] as const))
        const retries = [
          { id: 1, availableAt: 25_000, failure: down, countAttempt: true, held: false },
          { id: 2, availableAt: 0, failure: down, countAttempt: false, held: true },
          { id: 3, availableAt: 9_000, failure: temporary, countAttempt: true, held: false },
          { id: 4, availableAt: 40_000, failure: notFound, countAttempt: true, held: false }
        ]
        for (const { id, ...retry } of retries) yield* q.retryLater(bySceneId.get(scene(id))!, retry)
        yield* q.release(bySceneId.get(scene(5))!)
        yield* TestClock.setTime(1_000)

        assert.strictEqual(yield* q.makeDue({ errorTags: ["PlexServerDown", "PlexTemporaryError"] }), 3)
        const jobs = new Map((yield* q.list({ limit: 10 })).map((job) => [job.sceneId, job] as const))
        for (const id of [1, 3]) {
          assert.strictEqual(jobs.get(scene(id))!.availableAt, 1_000, `scene ${id} is due now`)
          assert.strictEqual(jobs.get(scene(id))!.attempts, 1, `scene ${id} keeps its attempts`)
        }
        assert.strictEqual(jobs.get(scene(2))!.availableAt, 0, "a held job already due keeps its place")
        assert.isNull(jobs.get(scene(2))!.heldSince, "and is no longer held")
        assert.strictEqual(jobs.get(scene(2))!.attempts, 0)
        assert.strictEqual(jobs.get(scene(4))!.availableAt, 40_000, "PlexNotFound keeps its backoff")
        assert.strictEqual(jobs.get(scene(4))!.attempts, 1)
        assert.strictEqual(jobs.get(scene(5))!.availableAt, 0)
        assert.strictEqual((yield* q.counts).held, 0)
        assert.strictEqual(yield* q.makeDue({ errorTags: [] }), 0)
        assert.strictEqual(yield* q.makeDue({ errorTags: ["StashUnavailable"] }), 0)
      }))
  })
})
