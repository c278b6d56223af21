import type { SqlClient } from "@effect/sql/SqlClient"
import type { DeadLetterId, JobId, SceneId } from "@plexsync/domain/Ids"
import { LeaseLost, type StoreError } from "@plexsync/domain/StoreError"
import type { ClaimedJob, EnqueueInput, EnqueueResult, QueueCounts, SyncJob } from "@plexsync/domain/SyncJob"
import type { JobFailure, SyncQueueService } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Clock, Effect, Either, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import { Database } from "./Database.js"
import type { JobRecord } from "./JobRows.js"
import { chunksOf, decodeJob, encodeDetail, encodePayload } from "./JobRows.js"

/**
 * The job queue on the `jobs` table.
 *
 * Coalescing: an enqueue for a scene that already has a queued job merges into it and keeps that job's reason
 * (it says why the job first existed). The earlier due time wins — except for a job waiting out a retry backoff or
 * held by an open breaker (it has a last error or `held_since`): that one keeps its due time, so a burst of events
 * for a failing scene can never pull its retry forward (no retry storms).
 *
 * A job put back (retry, release) while its scene already has a newer queued job merges into that job: the running
 * row is deleted and the queued one takes over the later due time, the higher attempt count, the last error and
 * the hold. So there is never more than one queued and one running job per scene.
 */

const ENQUEUE_CHUNK = 500
const IN_CHUNK = 500

const leaseLost = (claimed: ClaimedJob) =>
  new LeaseLost({
    jobId: claimed.job.id,
    message: `The lease on job ${claimed.job.id} (scene ${claimed.job.sceneId}) is no longer held: it expired ` +
      `and the job may have been claimed again. Nothing was changed.`
  })

/**
 * Due queued jobs in due order, skipping scenes whose job is running under a live lease: a range scan of
 * `jobs_state_due` (exported so a test can check its query plan).
 */
export const claimCandidates = (sql: SqlClient, now: number, limit: number) =>
  sql`SELECT q.id FROM jobs q WHERE q.state = 'queued' AND q.available_at <= ${now}
    AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.state = 'running' AND r.scene_id = q.scene_id
      AND r.lease_until > ${now})
    ORDER BY q.available_at, q.id LIMIT ${limit}`

export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const logUndecodable = (rows: ReadonlyArray<JobRecord>) =>
    Effect.forEach(rows, (row) =>
      Either.match(decodeJob(row), {
        onLeft: (error) => Effect.as(Effect.logError(error.message), Option.none<SyncJob>()),
        onRight: (job) => Effect.succeed(Option.some(job))
      })).pipe(Effect.map((jobs) => jobs.flatMap(Option.toArray)))

  const upsertRows = (rows: ReadonlyArray<Record<string, unknown>>) =>
    sql<{ readonly id: JobId; readonly coalesced: number }>`INSERT INTO jobs ${sql.insert(rows)}
      ON CONFLICT (scene_id) WHERE state = 'queued' DO UPDATE SET
        available_at = CASE WHEN jobs.last_error_tag IS NULL AND jobs.held_since IS NULL
          THEN min(jobs.available_at, excluded.available_at) ELSE jobs.available_at END,
        updated_at = excluded.updated_at,
        coalesced = jobs.coalesced + 1
      RETURNING id, coalesced`

  const newRow = (input: EnqueueInput, now: number) => ({
    scene_id: input.sceneId,
    reason: input.reason,
    state: "queued",
    attempts: 0,
    available_at: Math.trunc(input.availableAt ?? now),
    created_at: now,
    updated_at: now
  })

  const enqueue = Effect.fn("SyncQueue.enqueue")(function*(input: EnqueueInput) {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* upsertRows([newRow(input, now)])
    const row = rows[0]!
    return { jobId: row.id, coalesced: row.coalesced > 0 } satisfies EnqueueResult
  }, db.mapError)

  const enqueueMany = Effect.fn("SyncQueue.enqueueMany")(function*(inputs: ReadonlyArray<EnqueueInput>) {
    if (inputs.length === 0) return { inserted: 0, coalesced: 0 }
    const now = yield* Clock.currentTimeMillis
    const rows = inputs.map((input) => newRow(input, now))
    // A multi-row upsert handles a scene repeated within the batch like separate enqueues would.
    const results = yield* db.immediate(
      Effect.forEach(chunksOf(rows, ENQUEUE_CHUNK), upsertRows)
    )
    let inserted = 0
    for (const chunk of results) for (const row of chunk) if (row.coalesced === 0) inserted++
    return { inserted, coalesced: inputs.length - inserted }
  }, db.mapError)

  const claim = Effect.fn("SyncQueue.claim")(function*(options: { readonly limit: number; readonly leaseMs: number }) {
    const limit = Math.trunc(options.limit)
    if (limit <= 0) return []
    const now = yield* Clock.currentTimeMillis
    const leaseUntil = now + Math.max(0, Math.trunc(options.leaseMs))
    const token = randomUUID()
    const rows = yield* db.immediate(Effect.gen(function*() {
      // Crash recovery, per job: an expired lease whose scene is queued again is dropped (the queued job syncs the
      // scene); any other expired job is queued again, due now, attempts unchanged.
      yield* sql`DELETE FROM jobs WHERE state = 'running' AND lease_until <= ${now}
        AND EXISTS (SELECT 1 FROM jobs q WHERE q.state = 'queued' AND q.scene_id = jobs.scene_id)`
      yield* sql`UPDATE jobs SET state = 'queued', available_at = ${now}, lease_until = NULL, lease_token = NULL,
        updated_at = ${now} WHERE state = 'running' AND lease_until <= ${now}`
      return yield* sql<JobRecord>`UPDATE jobs SET state = 'running', lease_until = ${leaseUntil},
        lease_token = ${token} || '.' || id, updated_at = ${now}
        WHERE id IN (${claimCandidates(sql, now, limit)})
        RETURNING *`
    }))
    const sorted = [...rows].sort((a, b) => a.available_at - b.available_at || a.id - b.id)
    const jobs = yield* logUndecodable(sorted)
    const tokens = new Map(sorted.map((row) => [row.id, row.lease_token!]))
    return jobs.map((job): ClaimedJob => ({ job, leaseToken: tokens.get(job.id)! }))
  }, db.mapError)

  /** The claimant still holds a live lease on the job. */
  const held = (claimed: ClaimedJob, now: number) =>
    sql`id = ${claimed.job.id} AND lease_token = ${claimed.leaseToken} AND state = 'running'
      AND lease_until > ${now}`

  const sibling = sql`SELECT 1 FROM jobs q WHERE q.state = 'queued' AND q.scene_id = jobs.scene_id`

  const renew = Effect.fn("SyncQueue.renew")(function*(claimed: ClaimedJob, leaseMs: number) {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* sql`UPDATE jobs SET lease_until = ${now + Math.max(0, Math.trunc(leaseMs))},
      updated_at = ${now} WHERE ${held(claimed, now)} RETURNING id`
    if (rows.length === 0) return yield* leaseLost(claimed)
  }, db.mapError)

  const complete = Effect.fn("SyncQueue.complete")(function*(claimed: ClaimedJob) {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* sql`DELETE FROM jobs WHERE ${held(claimed, now)} RETURNING id`
    if (rows.length === 0) return yield* leaseLost(claimed)
  }, db.mapError)

  const retryLater = Effect.fn("SyncQueue.retryLater")(function*(
    claimed: ClaimedJob,
    options: {
      readonly availableAt: number
      readonly failure: JobFailure
      readonly countAttempt: boolean
      readonly held: boolean
    }
  ) {
    const now = yield* Clock.currentTimeMillis
    const availableAt = Math.trunc(options.availableAt)
    const increment = options.countAttempt ? 1 : 0
    const holdSince = options.held ? sql`coalesce(held_since, ${now})` : sql`NULL`
    // Common case, one statement: no newer queued job for the scene.
    const updated = yield* sql`UPDATE jobs SET state = 'queued', available_at = ${availableAt},
      attempts = attempts + ${increment}, last_error_tag = ${options.failure.tag},
      last_error = ${options.failure.message}, held_since = ${holdSince}, lease_until = NULL, lease_token = NULL,
      updated_at = ${now}
      WHERE ${held(claimed, now)} AND NOT EXISTS (${sibling}) RETURNING id`
    if (updated.length > 0) return
    yield* db.immediate(Effect.gen(function*() {
      const gone = yield* sql<Pick<JobRecord, "scene_id" | "attempts" | "held_since">>`DELETE FROM jobs
        WHERE ${held(claimed, now)} AND EXISTS (${sibling}) RETURNING scene_id, attempts, held_since`
      const row = gone[0]
      if (row === undefined) return yield* leaseLost(claimed)
      const mergedHold = options.held
        ? sql`coalesce(min(coalesce(held_since, ${now}), ${row.held_since ?? now}), ${now})`
        : sql`NULL`
      yield* sql`UPDATE jobs SET available_at = max(available_at, ${availableAt}),
        attempts = max(attempts, ${row.attempts + increment}), last_error_tag = ${options.failure.tag},
        last_error = ${options.failure.message}, held_since = ${mergedHold}, updated_at = ${now}
        WHERE state = 'queued' AND scene_id = ${row.scene_id}`
    }))
  }, db.mapError)

  const release = Effect.fn("SyncQueue.release")(function*(claimed: ClaimedJob) {
    const now = yield* Clock.currentTimeMillis
    const updated = yield* sql`UPDATE jobs SET state = 'queued', available_at = ${now}, lease_until = NULL,
      lease_token = NULL, updated_at = ${now} WHERE ${held(claimed, now)} AND NOT EXISTS (${sibling}) RETURNING id`
    if (updated.length > 0) return
    // The scene has a newer queued job: it will sync the scene, so this one just leaves.
    const gone = yield* sql`DELETE FROM jobs WHERE ${held(claimed, now)} AND EXISTS (${sibling}) RETURNING id`
    if (gone.length === 0) return yield* leaseLost(claimed)
  }, db.mapError)

  const insertDeadLetters = (rows: ReadonlyArray<Record<string, unknown>>) =>
    sql<{ readonly id: DeadLetterId }>`INSERT INTO dead_letters ${sql.insert(rows)} RETURNING id`

  const deadLetter = Effect.fn("SyncQueue.deadLetter")(function*(
    claimed: ClaimedJob,
    options: { readonly failure: JobFailure; readonly outageId: number | null; readonly countAttempt: boolean }
  ) {
    const now = yield* Clock.currentTimeMillis
    const payload = yield* encodePayload({ sceneId: claimed.job.sceneId, reason: claimed.job.reason }).pipe(
      Effect.orDie
    )
    return yield* db.immediate(Effect.gen(function*() {
      const gone = yield* sql<Pick<JobRecord, "attempts">>`DELETE FROM jobs WHERE ${
        held(claimed, now)
      } RETURNING attempts`
      const row = gone[0]
      if (row === undefined) return yield* leaseLost(claimed)
      const inserted = yield* insertDeadLetters([{
        scene_id: claimed.job.sceneId,
        error_tag: options.failure.tag,
        message: options.failure.message,
        detail: encodeDetail(options.failure.detail),
        attempts: row.attempts + (options.countAttempt ? 1 : 0),
        failed_at: now,
        outage_id: options.outageId,
        payload
      }])
      return inserted[0]!.id
    }))
  }, db.mapError)

  const deadLetterHeld = Effect.fn("SyncQueue.deadLetterHeld")(function*(
    options: { readonly heldBefore: number; readonly failure: JobFailure; readonly outageId: number | null }
  ) {
    const now = yield* Clock.currentTimeMillis
    const detail = encodeDetail(options.failure.detail)
    return yield* db.immediate(Effect.gen(function*() {
      const rows = yield* sql<JobRecord>`SELECT * FROM jobs WHERE held_since < ${Math.trunc(options.heldBefore)}
        AND state = 'queued'`
      const moved: Array<number> = []
      const letters: Array<Record<string, unknown>> = []
      for (const row of rows) {
        const decoded = decodeJob(row)
        if (Either.isLeft(decoded)) {
          yield* Effect.logError(decoded.left.message)
          continue
        }
        const job = decoded.right
        const payload = encodePayload({ sceneId: job.sceneId, reason: job.reason })
        if (Either.isLeft(payload)) continue
        moved.push(job.id)
        letters.push({
          scene_id: job.sceneId,
          error_tag: options.failure.tag,
          message: options.failure.message,
          detail,
          attempts: job.attempts,
          failed_at: now,
          outage_id: options.outageId,
          payload: payload.right
        })
      }
      for (const chunk of chunksOf(letters, 200)) yield* insertDeadLetters(chunk)
      for (const chunk of chunksOf(moved, IN_CHUNK)) yield* sql`DELETE FROM jobs WHERE id IN ${sql.in(chunk)}`
      return moved.length
    }))
  }, db.mapError)

  const counts: Effect.Effect<QueueCounts, StoreError> = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* sql<QueueCounts>`SELECT
      (SELECT count(*) FROM jobs WHERE state = 'queued') AS queued,
      (SELECT count(*) FROM jobs WHERE state = 'queued' AND available_at <= ${now}) AS due,
      (SELECT count(*) FROM jobs WHERE state = 'running' AND lease_until > ${now}) AS running,
      (SELECT count(*) FROM jobs WHERE held_since IS NOT NULL AND state = 'queued') AS held`
    const row = rows[0]!
    return { queued: row.queued, due: row.due, running: row.running, held: row.held }
  }).pipe(db.mapError, Effect.withSpan("SyncQueue.counts"))

  /**
   * The earliest time a claim can return a job: the first queued job not blocked by a live running job of its
   * scene, or the expiry of a running job's lease (its job is claimable again then), whichever is earlier.
   */
  const nextDueAt: Effect.Effect<Option.Option<number>, StoreError> = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* sql<{ readonly at: number | null }>`SELECT min(at) AS at FROM (
      SELECT * FROM (SELECT q.available_at AS at FROM jobs q WHERE q.state = 'queued'
        AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.state = 'running' AND r.scene_id = q.scene_id
          AND r.lease_until > ${now})
        ORDER BY q.available_at LIMIT 1)
      UNION ALL
      SELECT min(lease_until) AS at FROM jobs WHERE state = 'running')`
    return Option.fromNullable(rows[0]?.at ?? null)
  }).pipe(db.mapError, Effect.withSpan("SyncQueue.nextDueAt"))

  const activeScenes = Effect.fn("SyncQueue.activeScenes")(function*(sceneIds: ReadonlyArray<SceneId>) {
    const active = new Set<SceneId>()
    const unique = [...new Set(sceneIds)]
    for (const chunk of chunksOf(unique, IN_CHUNK)) {
      // Two lookups so each uses its index (the queued unique index, the running index).
      const rows = yield* sql<{ readonly scene_id: SceneId }>`SELECT scene_id FROM jobs
        WHERE state = 'queued' AND scene_id IN ${sql.in(chunk)}
        UNION SELECT scene_id FROM jobs WHERE state = 'running' AND scene_id IN ${sql.in(chunk)}`
      for (const row of rows) active.add(row.scene_id)
    }
    return active as ReadonlySet<SceneId>
  }, db.mapError)

  const get = Effect.fn("SyncQueue.get")(function*(id: number) {
    const rows = yield* sql<JobRecord>`SELECT * FROM jobs WHERE id = ${id}`
    const row = rows[0]
    if (row === undefined) return Option.none<SyncJob>()
    return Option.some(yield* decodeJob(row))
  }, db.mapError)

  const list = Effect.fn("SyncQueue.list")(function*(options: { readonly limit: number }) {
    const limit = Math.max(0, Math.trunc(options.limit))
    if (limit === 0) return []
    // Both halves come off the (state, available_at) index; merging keeps it from sorting the whole table.
    const running = yield* sql<JobRecord>`SELECT * FROM jobs WHERE state = 'running'
      ORDER BY available_at, id LIMIT ${limit}`
    const queued = yield* sql<JobRecord>`SELECT * FROM jobs WHERE state = 'queued'
      ORDER BY available_at, id LIMIT ${limit}`
    const merged = [...running, ...queued].sort((a, b) => a.available_at - b.available_at || a.id - b.id)
    return yield* logUndecodable(merged.slice(0, limit))
  }, db.mapError)

  return SyncQueue.of(
    {
      enqueue,
      enqueueMany,
      claim,
      renew,
      complete,
      retryLater,
      release,
      deadLetter,
      deadLetterHeld,
      counts,
      nextDueAt,
      activeScenes,
      get,
      list
    } satisfies SyncQueueService
  )
})

export const layer: Layer.Layer<SyncQueue, never, Database> = Layer.effect(SyncQueue, make)
