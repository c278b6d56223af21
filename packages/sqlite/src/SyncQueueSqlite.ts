import type { ErrorTag } from "@plexsync/domain/Errors"
import type { DeadLetterId, JobId, SceneId } from "@plexsync/domain/Ids"
import { LeaseLost, type StoreError } from "@plexsync/domain/StoreError"
import type { ClaimedJob, EnqueueInput, EnqueueResult, JobState, QueueCounts, SyncJob } from "@plexsync/domain/SyncJob"
import type { JobFailure, SyncQueueService } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Clock, Effect, Either, Layer, Option, ParseResult } from "effect"
import { randomUUID } from "node:crypto"
import { Database } from "./Database.js"
import type { JobRecord } from "./JobRows.js"
import { chunksOf, decodeJob, decodeJobClaimed, encodeDetail, encodePayload } from "./JobRows.js"
import { ENQUEUE, upsertText } from "./JobStatements.js"
import { decodeEach } from "./SqliteErrors.js"

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
 *
 * The hot paths run fixed statements prepared once (`Database.query`); most operations are a single statement.
 * The per-job operations (enqueue, claim, renew, complete, retryLater, release, deadLetter) are not traced: a span
 * costs several times the SQLite statement it would wrap, and the worker traces each job around them anyway.
 */

const IN_CHUNK = 500

/** Rows per multi-row upsert in `enqueueMany`; a scene repeated within one statement coalesces like separate ones. */
const UPSERT_BATCH = 100
const UPSERT = ENQUEUE
const UPSERT_FULL = upsertText(UPSERT_BATCH)

/**
 * Due queued jobs in due order, skipping scenes whose job is running under a live lease: a range scan of
 * `jobs_due` (queued jobs only). Parameters: now, now, limit. Exported so a test can check its query plan.
 */
export const CLAIM_CANDIDATES = `SELECT q.id FROM jobs q INDEXED BY jobs_due WHERE q.state = 'queued'
  AND q.available_at <= ?
  AND NOT EXISTS (SELECT 1 FROM jobs r INDEXED BY jobs_running WHERE r.state = 'running' AND r.scene_id = q.scene_id
    AND r.lease_until > ?)
  ORDER BY q.available_at, q.id LIMIT ?`

const CLAIM = `UPDATE jobs SET state = 'running', lease_until = ?, lease_token = ? || '.' || id, updated_at = ?
  WHERE id IN (${CLAIM_CANDIDATES}) RETURNING *`

/**
 * The same for one job (the worker's usual claim: one slot freed). `id = (…)` compares with one scalar where
 * `IN (…)` builds and probes an ephemeral table per call, which made this statement about twice as slow.
 */
const CLAIM_ONE = `UPDATE jobs SET state = 'running', lease_until = ?, lease_token = ? || '.' || id, updated_at = ?
  WHERE id = (${CLAIM_CANDIDATES}) RETURNING *`

// Running jobs are few (one per worker slot): the lease checks read the whole `jobs_running` index.
const EXPIRED = `SELECT 1 FROM jobs INDEXED BY jobs_running WHERE state = 'running' AND lease_until <= ?`
const ANY_EXPIRED = `${EXPIRED} LIMIT 1`

/**
 * The claims as the first statement of a claim's transaction: they claim nothing while some lease has expired, so
 * the usual claim is one statement and crash recovery (below) runs only when a lease expired or nothing was due.
 * Parameters: those of `CLAIM`, then now.
 */
const GUARD = ` AND NOT EXISTS (${EXPIRED})`
const CLAIM_GUARDED = CLAIM.replace(" RETURNING *", `${GUARD} RETURNING *`)
const CLAIM_ONE_GUARDED = CLAIM_ONE.replace(" RETURNING *", `${GUARD} RETURNING *`)

/** An expired lease whose scene is queued again is dropped: the queued job syncs the scene. */
const DROP_EXPIRED = `DELETE FROM jobs INDEXED BY jobs_running WHERE state = 'running' AND lease_until <= ?
  AND EXISTS (SELECT 1 FROM jobs q WHERE q.state = 'queued' AND q.scene_id = jobs.scene_id)`

/** Any other expired job is queued again, due now, attempts unchanged. */
const REQUEUE_EXPIRED = `UPDATE jobs INDEXED BY jobs_running SET state = 'queued', available_at = ?,
  lease_until = NULL, lease_token = NULL, updated_at = ? WHERE state = 'running' AND lease_until <= ?`

/** The claimant still holds a live lease. Parameters: id, token, now. */
const HELD = `id = ? AND lease_token = ? AND state = 'running' AND lease_until > ?`
const SIBLING = `SELECT 1 FROM jobs q WHERE q.state = 'queued' AND q.scene_id = jobs.scene_id`

const RENEW = `UPDATE jobs SET lease_until = ?, updated_at = ? WHERE ${HELD} RETURNING id`
const COMPLETE = `DELETE FROM jobs WHERE ${HELD} RETURNING id`

const RETRY = `UPDATE jobs SET state = 'queued', available_at = ?, attempts = attempts + ?, last_error_tag = ?,
  last_error = ?, held_since = CASE WHEN ? THEN coalesce(held_since, ?) ELSE NULL END, lease_until = NULL,
  lease_token = NULL, updated_at = ?
  WHERE ${HELD} AND NOT EXISTS (${SIBLING}) RETURNING id`
const DROP_FOR_SIBLING = `DELETE FROM jobs WHERE ${HELD} AND EXISTS (${SIBLING})
  RETURNING scene_id, attempts, held_since`
const MERGE_RETRY = `UPDATE jobs SET available_at = max(available_at, ?), attempts = max(attempts, ?),
  last_error_tag = ?, last_error = ?,
  held_since = CASE WHEN ? THEN min(coalesce(held_since, ?), ?) ELSE NULL END, updated_at = ?
  WHERE state = 'queued' AND scene_id = ?`

const RELEASE = `UPDATE jobs SET state = 'queued', available_at = ?, lease_until = NULL, lease_token = NULL,
  updated_at = ? WHERE ${HELD} AND NOT EXISTS (${SIBLING}) RETURNING id`

const TAKE_FOR_DLQ = `DELETE FROM jobs WHERE ${HELD} RETURNING attempts`
const INSERT_DEAD_LETTER = `INSERT INTO dead_letters
  (scene_id, error_tag, message, detail, attempts, failed_at, outage_id, payload)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

/**
 * A scene dead-lettered again supersedes its older open entries (neither recovered nor resolved): the newest failure
 * is what needs a person, and the DLQ shows each scene once. Parameters: now, scene id, the new entry's id.
 */
const SUPERSEDE_OLDER = `UPDATE dead_letters SET resolved_at = ?, resolution = 'superseded'
  WHERE scene_id = ? AND id < ? AND resolved_at IS NULL AND recovered_at IS NULL`

const DELETE_JOB = `DELETE FROM jobs WHERE id = ?`
const DELETE_CLAIMED = `DELETE FROM jobs WHERE id = ? AND lease_token = ? RETURNING id`

const COUNTS = `SELECT
  (SELECT count(*) FROM jobs WHERE state = 'queued') AS queued,
  (SELECT count(*) FROM jobs WHERE state = 'queued' AND available_at <= ? AND held_since IS NULL) AS due,
  (SELECT count(*) FROM jobs WHERE state = 'running' AND lease_until > ?) AS running,
  (SELECT count(*) FROM jobs WHERE held_since IS NOT NULL AND state = 'queued') AS held`

/**
 * The earliest time a claim can return a job: the first queued job not blocked by a live running job of its
 * scene, or the expiry of a running job's lease (its job is claimable again then), whichever is earlier.
 */
const NEXT_DUE = `SELECT min(at) AS at FROM (
  SELECT * FROM (SELECT q.available_at AS at FROM jobs q WHERE q.state = 'queued'
    AND NOT EXISTS (SELECT 1 FROM jobs r INDEXED BY jobs_running WHERE r.state = 'running' AND r.scene_id = q.scene_id
      AND r.lease_until > ?)
    ORDER BY q.available_at LIMIT 1)
  UNION ALL
  SELECT min(lease_until) AS at FROM jobs WHERE state = 'running')`

/**
 * After the wall clock was set back, rows written "in the future" keep the wait they had when written, counted
 * from now: without this a job due in 30 s would wait out the whole jump, and so would a crashed worker's lease.
 */
const REBASE_QUEUED = `UPDATE jobs SET available_at = ? + max(0, available_at - updated_at), updated_at = ?
  WHERE state = 'queued' AND updated_at > ?`
const REBASE_RUNNING = `UPDATE jobs SET lease_until = ? + max(0, lease_until - updated_at), updated_at = ?
  WHERE state = 'running' AND updated_at > ?`
/** How far the clock may step back before due times are rebased (ordinary jitter between processes is less). */
const CLOCK_STEP_MS = 1_000

const GET = `SELECT * FROM jobs WHERE id = ?`
// Queued jobs come off `jobs_due` in order; running ones (a few) are sorted. Merging avoids sorting the queue.
const LIST_RUNNING = `SELECT * FROM jobs WHERE state = 'running' ORDER BY available_at, id LIMIT ?`
const LIST_QUEUED = `SELECT * FROM jobs WHERE state = 'queued' ORDER BY available_at, id LIMIT ?`
const FOR_SCENE = `SELECT * FROM jobs INDEXED BY jobs_queued_scene WHERE state = 'queued' AND scene_id = ?
  UNION ALL SELECT * FROM jobs INDEXED BY jobs_running WHERE state = 'running' AND scene_id = ?`

const leaseLost = (claimed: ClaimedJob) =>
  new LeaseLost({
    jobId: claimed.job.id,
    message: `The lease on job ${claimed.job.id} (scene ${claimed.job.sceneId}) is no longer held: it expired ` +
      `and the job may have been claimed again. Nothing was changed.`
  })

/** SQLite binds no booleans. */
const bit = (flag: boolean) => (flag ? 1 : 0)

const byDueOrder = (a: JobRecord, b: JobRecord) => a.available_at - b.available_at || a.id - b.id

export const make = Effect.gen(function*() {
  const db = yield* Database
  const { query, sql } = db
  const op = db.operation

  /** Rows that do not decode are logged (naming table and row) and left in place. */
  const decodeAll = (rows: ReadonlyArray<JobRecord>) => decodeEach(rows, decodeJob, Effect.logError)

  const upsert = (input: EnqueueInput, now: number) =>
    Effect.map(
      query<{ readonly id: JobId; readonly coalesced: number }>(UPSERT, [
        input.sceneId,
        input.reason,
        Math.trunc(input.availableAt ?? now),
        now,
        now
      ]),
      (rows) => rows[0]!
    )

  const enqueue = Effect.fnUntraced(function*(input: EnqueueInput) {
    const now = yield* Clock.currentTimeMillis
    const row = yield* upsert(input, now)
    return { jobId: row.id, coalesced: row.coalesced > 0 } satisfies EnqueueResult
  }, op)

  const enqueueMany = Effect.fn("SyncQueue.enqueueMany")(function*(inputs: ReadonlyArray<EnqueueInput>) {
    if (inputs.length === 0) return { inserted: 0, coalesced: 0 }
    const now = yield* Clock.currentTimeMillis
    return yield* db.immediate(Effect.gen(function*() {
      let inserted = 0
      for (const chunk of chunksOf(inputs, UPSERT_BATCH)) {
        const params: Array<unknown> = []
        for (const input of chunk) {
          params.push(input.sceneId, input.reason, Math.trunc(input.availableAt ?? now), now, now)
        }
        const text = chunk.length === UPSERT_BATCH ? UPSERT_FULL : upsertText(chunk.length)
        for (const row of yield* query<{ readonly coalesced: number }>(text, params)) {
          if (row.coalesced === 0) inserted++
        }
      }
      return { inserted, coalesced: inputs.length - inserted }
    }))
  }, op)

  // The latest time this process has claimed at: a claim at an earlier time means the clock was set back.
  // `undefined` until the first claim, which also rebases (the jump may have happened while no process ran).
  let lastClaimAt: number | undefined

  const rebaseFutureRows = (now: number) =>
    db.immediate(Effect.gen(function*() {
      yield* query(REBASE_QUEUED, [now, now, now])
      yield* query(REBASE_RUNNING, [now, now, now])
    }))

  /**
   * A claimed row that does not decode is moved to the DLQ as `JobUndecodable`, with the row as it was in the
   * entry's detail: never run, and never left `running` under a lease nobody renews. It happens in an IMMEDIATE
   * transaction under the lease just taken (the claim's own, or the one right after a one-statement claim; should
   * the process die in between, the lease expires and the claim that takes the row again parks it).
   */
  /**
   * Writes a DLQ entry (the values of `INSERT_DEAD_LETTER`, the scene first and the time sixth) and supersedes the
   * scene's older open entries, in the caller's transaction; returns the new entry's id.
   */
  const insertDeadLetter = (values: readonly [string, ...ReadonlyArray<unknown>], now: number) =>
    Effect.gen(function*() {
      const inserted = yield* query<{ readonly id: DeadLetterId }>(INSERT_DEAD_LETTER, values)
      const id = inserted[0]!.id
      yield* query(SUPERSEDE_OLDER, [now, values[0], id])
      return id
    })

  const park = (row: JobRecord, error: ParseResult.ParseError, now: number) =>
    Effect.gen(function*() {
      const gone = yield* query(DELETE_CLAIMED, [row.id, row.lease_token])
      if (gone.length === 0) return
      const problems = ParseResult.ArrayFormatter.formatErrorSync(error)
        .map((issue) => `${issue.path.join(".")}: ${issue.message}`)
      const message = `Job ${row.id} (scene ${row.scene_id}) does not decode, so it was moved to the DLQ instead ` +
        `of running (${problems.join("; ")}).`
      const { lease_token: _token, ...stored } = row
      const id = yield* insertDeadLetter([
        row.scene_id,
        "JobUndecodable" satisfies ErrorTag,
        message,
        encodeDetail({ _tag: "JobUndecodable", message, row: stored }),
        Number.isSafeInteger(row.attempts) && row.attempts >= 0 ? row.attempts : 0,
        now,
        null,
        // The scene id and reason as stored: the entry decodes (and `dlq retry` works) when they were intact.
        JSON.stringify({ sceneId: row.scene_id, reason: row.reason })
      ], now)
      yield* Effect.logError(`${message} (DLQ entry ${id})`)
    })

  const claim = Effect.fnUntraced(function*(options: { readonly limit: number; readonly leaseMs: number }) {
    const limit = Math.trunc(options.limit)
    if (limit <= 0) return []
    const now = yield* Clock.currentTimeMillis
    if (lastClaimAt === undefined || now + CLOCK_STEP_MS < lastClaimAt) {
      yield* rebaseFutureRows(now)
    }
    lastClaimAt = now
    const leaseUntil = now + Math.max(0, Math.trunc(options.leaseMs))
    const token = randomUUID()
    const claimRows = (n: number, guarded: boolean) =>
      guarded
        ? query<JobRecord>(n === 1 ? CLAIM_ONE_GUARDED : CLAIM_GUARDED, [leaseUntil, token, now, now, now, n, now])
        : query<JobRecord>(n === 1 ? CLAIM_ONE : CLAIM, [leaseUntil, token, now, now, now, n])
    const claimed: Array<ClaimedJob> = []
    /** Decodes `rows` into `claimed`; gives those that do not decode. */
    const decodeInto = (rows: ReadonlyArray<JobRecord>) => {
      const bad: Array<[JobRecord, ParseResult.ParseError]> = []
      for (const row of rows.length > 1 ? [...rows].sort(byDueOrder) : rows) {
        const job = decodeJobClaimed(row)
        if (Either.isRight(job)) claimed.push({ job: job.right, leaseToken: row.lease_token! })
        else bad.push([row, job.left])
      }
      return bad
    }
    // The usual claim is this one statement: it claims nothing while some lease has expired.
    const first = yield* claimRows(limit, true)
    let bad = decodeInto(first)
    if (first.length > 0 && bad.length === 0) return claimed
    // Otherwise one IMMEDIATE transaction: crash recovery and the claim see the same rows, and a row that does not
    // decode is parked (under the lease just taken), the next due jobs claimed in its place.
    return yield* db.immediate(Effect.gen(function*() {
      let wanted = limit
      if (first.length === 0) {
        if ((yield* query(ANY_EXPIRED, [now])).length === 0) return claimed
        yield* query(DROP_EXPIRED, [now])
        yield* query(REQUEUE_EXPIRED, [now, now, now])
        const rows = yield* claimRows(wanted, false)
        bad = decodeInto(rows)
        if (rows.length < wanted) wanted = 0
      } else if (first.length < wanted) wanted = 0
      while (bad.length > 0) {
        for (const [row, error] of bad) yield* park(row, error, now)
        // Fewer rows than asked for: none is left to claim in their place.
        if (wanted === 0) break
        wanted = bad.length
        const rows = yield* claimRows(wanted, false)
        bad = decodeInto(rows)
        if (rows.length < wanted) wanted = 0
      }
      return claimed
    }))
  }, op)

  const held = (claimed: ClaimedJob, now: number) => [claimed.job.id, claimed.leaseToken, now] as const

  const renew = Effect.fnUntraced(function*(claimed: ClaimedJob, leaseMs: number) {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* query(RENEW, [now + Math.max(0, Math.trunc(leaseMs)), now, ...held(claimed, now)])
    if (rows.length === 0) return yield* leaseLost(claimed)
  }, op)

  const complete = Effect.fnUntraced(function*(claimed: ClaimedJob) {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* query(COMPLETE, held(claimed, now))
    if (rows.length === 0) return yield* leaseLost(claimed)
  }, op)

  const retryLater = Effect.fnUntraced(function*(
    claimed: ClaimedJob,
    options: Parameters<SyncQueueService["retryLater"]>[1]
  ) {
    const now = yield* Clock.currentTimeMillis
    const availableAt = Math.trunc(options.availableAt)
    const increment = bit(options.countAttempt)
    const { message, tag } = options.failure
    // Common case, one statement: no newer queued job for the scene.
    const updated = yield* query(RETRY, [
      availableAt,
      increment,
      tag,
      message,
      bit(options.held),
      now,
      now,
      ...held(claimed, now)
    ])
    if (updated.length > 0) return
    yield* db.immediate(Effect.gen(function*() {
      const gone = yield* query<Pick<JobRecord, "scene_id" | "attempts" | "held_since">>(
        DROP_FOR_SIBLING,
        held(claimed, now)
      )
      const row = gone[0]
      if (row === undefined) return yield* leaseLost(claimed)
      yield* query(MERGE_RETRY, [
        availableAt,
        row.attempts + increment,
        tag,
        message,
        bit(options.held),
        now,
        row.held_since ?? now,
        now,
        row.scene_id
      ])
    }))
  }, op)

  const release = Effect.fnUntraced(function*(claimed: ClaimedJob) {
    const now = yield* Clock.currentTimeMillis
    const updated = yield* query(RELEASE, [now, now, ...held(claimed, now)])
    if (updated.length > 0) return
    // The scene has a newer queued job: it will sync the scene, so this one just leaves.
    const gone = yield* query(DROP_FOR_SIBLING, held(claimed, now))
    if (gone.length === 0) return yield* leaseLost(claimed)
  }, op)

  const deadLetter = Effect.fnUntraced(function*(
    claimed: ClaimedJob,
    options: { readonly failure: JobFailure; readonly outageId: number | null; readonly countAttempt: boolean }
  ) {
    const now = yield* Clock.currentTimeMillis
    const payload = yield* encodePayload({ sceneId: claimed.job.sceneId, reason: claimed.job.reason }).pipe(
      Effect.orDie
    )
    const detail = encodeDetail(options.failure.detail)
    return yield* db.immediate(Effect.gen(function*() {
      const gone = yield* query<Pick<JobRecord, "attempts">>(TAKE_FOR_DLQ, held(claimed, now))
      const row = gone[0]
      if (row === undefined) return yield* leaseLost(claimed)
      return yield* insertDeadLetter([
        claimed.job.sceneId,
        options.failure.tag,
        options.failure.message,
        detail,
        row.attempts + bit(options.countAttempt),
        now,
        options.outageId,
        payload
      ], now)
    }))
  }, op)

  const deadLetterHeld = Effect.fn("SyncQueue.deadLetterHeld")(function*(
    options: {
      readonly heldBefore: number
      readonly errorTags: ReadonlyArray<ErrorTag>
      readonly failure: JobFailure
      readonly outageId: number | null
    }
  ) {
    const tags = [...new Set(options.errorTags)]
    if (tags.length === 0) return 0
    const now = yield* Clock.currentTimeMillis
    const detail = encodeDetail(options.failure.detail)
    return yield* db.immediate(Effect.gen(function*() {
      const rows = yield* sql<JobRecord>`SELECT * FROM jobs
        WHERE held_since < ${Math.trunc(options.heldBefore)} AND state = 'queued' AND last_error_tag IN ${sql.in(tags)}`
      const jobs = yield* decodeAll(rows)
      let moved = 0
      for (const job of jobs) {
        const payload = encodePayload({ sceneId: job.sceneId, reason: job.reason })
        if (Either.isLeft(payload)) continue
        yield* insertDeadLetter([
          job.sceneId,
          options.failure.tag,
          options.failure.message,
          detail,
          job.attempts,
          now,
          options.outageId,
          payload.right
        ], now)
        yield* query(DELETE_JOB, [job.id])
        moved++
      }
      return moved
    }))
  }, op)

  const makeDue = Effect.fn("SyncQueue.makeDue")(function*(options: {
    readonly errorTags: ReadonlyArray<ErrorTag>
    readonly sceneIds?: ReadonlyArray<SceneId>
  }) {
    const tags = [...new Set(options.errorTags)]
    if (tags.length === 0) return 0
    const now = yield* Clock.currentTimeMillis
    // Only jobs still waiting (due later) or held can change: a range of `jobs_due` and the `jobs_held`
    // index, so queued jobs already due are never read (8.6 ms → 0.5 ms with 100 000 due jobs and 100 to change).
    const update = (scenes: ReadonlyArray<SceneId> | undefined) =>
      sql<{ readonly id: JobId }>`UPDATE jobs SET available_at = min(available_at, ${now}),
      held_since = NULL, updated_at = ${now}
      WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND available_at > ${now}
          UNION SELECT id FROM jobs INDEXED BY jobs_held WHERE held_since IS NOT NULL AND state = 'queued')
        AND last_error_tag IN ${sql.in(tags)}
        ${scenes === undefined ? sql`` : sql`AND scene_id IN ${sql.in(scenes)}`} RETURNING id`
    if (options.sceneIds === undefined) return (yield* update(undefined)).length
    let changed = 0
    for (const chunk of chunksOf([...new Set(options.sceneIds)], IN_CHUNK)) changed += (yield* update(chunk)).length
    return changed
  }, op)

  const endLeases = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* sql<{ readonly id: JobId }>`UPDATE jobs INDEXED BY jobs_running SET lease_until = ${now}
      WHERE state = 'running' AND lease_until > ${now} RETURNING id`
    return rows.length
  }).pipe(Effect.withSpan("SyncQueue.endLeases"), op)

  const holdFailed = Effect.fn("SyncQueue.holdFailed")(
    function*(options: { readonly errorTags: ReadonlyArray<ErrorTag>; readonly heldSince: number }) {
      const tags = [...new Set(options.errorTags)]
      if (tags.length === 0) return []
      const now = yield* Clock.currentTimeMillis
      const rows = yield* sql<{ readonly id: JobId }>`UPDATE jobs SET held_since = ${Math.trunc(options.heldSince)},
        updated_at = ${now}
        WHERE state = 'queued' AND held_since IS NULL AND last_error_tag IN ${sql.in(tags)} RETURNING id`
      return rows.map((row) => row.id)
    },
    op
  )

  const counts: Effect.Effect<QueueCounts, StoreError> = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const row = (yield* query<QueueCounts>(COUNTS, [now, now]))[0]!
    return { queued: row.queued, due: row.due, running: row.running, held: row.held }
  }).pipe(op, Effect.withSpan("SyncQueue.counts"))

  const nextDueAt: Effect.Effect<Option.Option<number>, StoreError> = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* query<{ readonly at: number | null }>(NEXT_DUE, [now])
    return Option.fromNullable(rows[0]?.at ?? null)
  }).pipe(op, Effect.withSpan("SyncQueue.nextDueAt"))

  const activeScenes = Effect.fn("SyncQueue.activeScenes")(function*(sceneIds: ReadonlyArray<SceneId>) {
    const active = new Set<SceneId>()
    for (const chunk of chunksOf([...new Set(sceneIds)], IN_CHUNK)) {
      // Two lookups so each uses its index (the queued unique index, the running index).
      // INDEXED BY: without ANALYZE statistics SQLite prefers (state, available_at) and scans every queued job.
      const rows = yield* sql<{ readonly scene_id: SceneId }>`SELECT scene_id FROM jobs INDEXED BY jobs_queued_scene
        WHERE state = 'queued' AND scene_id IN ${sql.in(chunk)}
        UNION SELECT scene_id FROM jobs INDEXED BY jobs_running
        WHERE state = 'running' AND scene_id IN ${sql.in(chunk)}`
      for (const row of rows) active.add(row.scene_id)
    }
    return active as ReadonlySet<SceneId>
  }, op)

  const get = Effect.fn("SyncQueue.get")(function*(id: number) {
    const row = (yield* query<JobRecord>(GET, [id]))[0]
    if (row === undefined) return Option.none<SyncJob>()
    return Option.some(yield* decodeJob(row))
  }, op)

  const list = Effect.fn("SyncQueue.list")(
    function*(options: { readonly limit: number; readonly state?: JobState }) {
      const limit = Math.max(0, Math.trunc(options.limit))
      if (limit === 0) return []
      const running = options.state === "queued" ? [] : yield* query<JobRecord>(LIST_RUNNING, [limit])
      const queued = options.state === "running" ? [] : yield* query<JobRecord>(LIST_QUEUED, [limit])
      return yield* decodeAll([...running, ...queued].sort(byDueOrder).slice(0, limit))
    },
    op
  )

  const forScene = Effect.fn("SyncQueue.forScene")(function*(sceneId: SceneId) {
    return yield* decodeAll(yield* query<JobRecord>(FOR_SCENE, [sceneId, sceneId]))
  }, op)

  return SyncQueue.of(
    {
      enqueue,
      enqueueMany,
      claim,
      renew,
      complete,
      retryLater,
      release,
      endLeases,
      deadLetter,
      deadLetterHeld,
      makeDue,
      holdFailed,
      counts,
      nextDueAt,
      activeScenes,
      get,
      list,
      forScene
    } satisfies SyncQueueService
  )
})

export const layer: Layer.Layer<SyncQueue, never, Database> = Layer.effect(SyncQueue, make)
