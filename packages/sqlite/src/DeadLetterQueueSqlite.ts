import type { SqlClient } from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type {
  DeadLetterFilter,
  DeadLetterList,
  DeadLetterQueueService,
  NewDeadLetter,
  RedriveOutcome
} from "@plexsync/domain/DeadLetterQueue"
import {
  DeadLetterEntry,
  DeadLetterPayload,
  DeadLetterQueue,
  DeadLetterResolution,
  DeadLetterSummary
} from "@plexsync/domain/DeadLetterQueue"
import { ErrorTag } from "@plexsync/domain/Errors"
import { DeadLetterId, JobId, Millis, OutageId, SceneId } from "@plexsync/domain/Ids"
import type { RowDecodeError, StoreError } from "@plexsync/domain/StoreError"
import type { JobReason } from "@plexsync/domain/SyncJob"
import { Clock, Effect, Either, Layer, Option, Schema } from "effect"
import { Database } from "./Database.js"
import { chunksOf, encodeDetail, encodePayload } from "./JobRows.js"
import { rowDecoder } from "./SqliteErrors.js"

/** The columns a list shows (`DeadLetterSummary`): not the JSON detail and payload. */
export interface SummaryRecord {
  readonly id: number
  readonly scene_id: string
  readonly error_tag: string
  readonly message: string
  readonly attempts: number
  readonly failed_at: number
  readonly outage_id: number | null
  readonly recovered_at: number | null
  readonly recovered_job_id: number | null
  readonly resolved_at: number | null
  readonly resolution: string | null
}

interface DeadLetterRecord extends SummaryRecord {
  readonly detail: string | null
  readonly payload: string
}

const SUMMARY_COLUMNS =
  "id, scene_id, error_tag, message, attempts, failed_at, outage_id, recovered_at, recovered_job_id, resolved_at, " +
  "resolution"

const summaryFields = {
  id: DeadLetterId,
  scene_id: SceneId,
  error_tag: ErrorTag,
  message: Schema.String,
  attempts: Schema.Int.pipe(Schema.nonNegative()),
  failed_at: Millis,
  outage_id: Schema.NullOr(OutageId),
  recovered_at: Schema.NullOr(Millis),
  recovered_job_id: Schema.NullOr(JobId),
  resolved_at: Schema.NullOr(Millis),
  resolution: Schema.NullOr(DeadLetterResolution)
}

/** A list's row as the schema reads it (exported for the test that holds `surelySummary` to it). */
export const SummaryRow = Schema.Struct(summaryFields)

const decodeSummaryRow = rowDecoder(SummaryRow, "dead_letters")

const decodeRow = rowDecoder(
  Schema.Struct({
    ...summaryFields,
    detail: Schema.NullOr(Schema.parseJson()),
    payload: Schema.parseJson(DeadLetterPayload)
  }),
  "dead_letters"
)

// The row schemas have validated every field already.
const summaryOf = (r: Schema.Struct.Type<typeof summaryFields>) => ({
  id: r.id,
  sceneId: r.scene_id,
  errorTag: r.error_tag,
  message: r.message,
  attempts: r.attempts,
  failedAt: r.failed_at,
  outageId: r.outage_id,
  recoveredAt: r.recovered_at,
  recoveredJobId: r.recovered_job_id,
  resolvedAt: r.resolved_at,
  resolution: r.resolution
})

const errorTags: ReadonlySet<unknown> = new Set(ErrorTag.literals)
const resolutions: ReadonlySet<unknown> = new Set(DeadLetterResolution.literals)
const sceneIdPattern = /^[0-9]{1,19}$/
const isPositiveInt = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0
const isMillis = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0

/**
 * Whether the row certainly decodes with `summaryFields`: the same checks, field by field, without the schema's
 * parse results. A listing decodes hundreds of rows, and the schema's generic decoder costs several µs a row (a
 * one-hour window of 10⁶ entries: most of the call). A row this rejects goes through the schema, which decides
 * (and names what is wrong); the test holds the check to the schema.
 */
export const surelySummary = (row: SummaryRecord): row is SummaryRecord & Schema.Struct.Type<typeof summaryFields> =>
  isPositiveInt(row.id) &&
  typeof row.scene_id === "string" && sceneIdPattern.test(row.scene_id) &&
  errorTags.has(row.error_tag) &&
  typeof row.message === "string" &&
  isMillis(row.attempts) &&
  isMillis(row.failed_at) &&
  (row.outage_id === null || isPositiveInt(row.outage_id)) &&
  (row.recovered_at === null || isMillis(row.recovered_at)) &&
  (row.recovered_job_id === null || isPositiveInt(row.recovered_job_id)) &&
  (row.resolved_at === null || isMillis(row.resolved_at)) &&
  (row.resolution === null || resolutions.has(row.resolution))

const decodeSummary = (row: SummaryRecord): Either.Either<DeadLetterSummary, RowDecodeError> =>
  surelySummary(row)
    ? Either.right(new DeadLetterSummary(summaryOf(row), true))
    : Either.map(decodeSummaryRow(row, row.id), (r) => new DeadLetterSummary(summaryOf(r), true))

const decodeEntry = (row: DeadLetterRecord): Either.Either<DeadLetterEntry, RowDecodeError> =>
  Either.map(
    decodeRow(row, row.id),
    (r) => new DeadLetterEntry({ ...summaryOf(r), detail: r.detail, payload: r.payload }, true)
  )

/** Rows fetched per query while listing; `limit` counts decodable entries only. */
const PAGE = 1000
const REDRIVE_CHUNK = 500
/** Scenes per lookup in `unrecoveredScenes` (two bound lists stay far below SQLite's parameter limit). */
const SCENE_CHUNK = 500

const changes = (result: unknown): number => {
  const n = (result as { readonly changes?: unknown } | null)?.changes
  return typeof n === "number" ? n : 0
}

/** The filter's conditions; `undefined` when it selects nothing (an empty tag set). */
const conditions = (sql: SqlClient, filter: DeadLetterFilter): Array<Fragment> | undefined => {
  const clauses: Array<Fragment> = []
  if (filter.errorTags !== undefined) {
    if (filter.errorTags.length === 0) return undefined
    clauses.push(sql`error_tag IN ${sql.in([...new Set(filter.errorTags)])}`)
  }
  if (filter.from !== undefined) clauses.push(sql`failed_at >= ${Math.trunc(filter.from)}`)
  if (filter.to !== undefined) clauses.push(sql`failed_at <= ${Math.trunc(filter.to)}`)
  if (filter.sceneId !== undefined) clauses.push(sql`scene_id = ${filter.sceneId}`)
  if (filter.recovered === true) clauses.push(sql`recovered_at IS NOT NULL`)
  if (filter.recovered === false) clauses.push(sql`recovered_at IS NULL`)
  if (filter.resolved === true) clauses.push(sql`resolved_at IS NOT NULL`)
  if (filter.resolved === false) clauses.push(sql`resolved_at IS NULL`)
  if (filter.after !== undefined) {
    // Strictly after (failedAt, id), written so the failed_at index still gives the range.
    const { failedAt, id } = filter.after
    clauses.push(sql`failed_at >= ${failedAt} AND (failed_at > ${failedAt} OR id > ${id})`)
  }
  return clauses
}

const whereOf = (sql: SqlClient, clauses: ReadonlyArray<Fragment>) =>
  clauses.length === 0 ? sql`` : sql`WHERE ${sql.and(clauses)}`

/**
 * One page of the selection, oldest first by (failed_at, id); `undefined` when the filter selects nothing.
 * Exported so a test can check its query plan.
 */
export const pageQuery = (sql: SqlClient, filter: DeadLetterFilter, limit: number) => {
  const clauses = conditions(sql, filter)
  return clauses === undefined
    ? undefined
    : sql<SummaryRecord>`SELECT ${sql.literal(SUMMARY_COLUMNS)} FROM dead_letters ${
      whereOf(sql, clauses)
    } ORDER BY failed_at, id LIMIT ${limit}`
}

export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const add = Effect.fn("DeadLetterQueue.add")(function*(entry: NewDeadLetter) {
    const now = yield* Clock.currentTimeMillis
    const payload = yield* encodePayload(entry.payload).pipe(Effect.orDie)
    const rows = yield* sql<{ readonly id: DeadLetterId }>`INSERT INTO dead_letters ${
      sql.insert({
        scene_id: entry.sceneId,
        error_tag: entry.errorTag,
        message: entry.message,
        detail: encodeDetail(entry.detail),
        attempts: Math.trunc(entry.attempts),
        failed_at: Math.trunc(entry.failedAt ?? now),
        outage_id: entry.outageId,
        payload
      })
    } RETURNING id`
    return rows[0]!.id
  }, db.operation)

  const list = Effect.fn("DeadLetterQueue.list")(function*(filter: DeadLetterFilter) {
    const entries: Array<DeadLetterSummary> = []
    const undecodable: Array<RowDecodeError> = []
    const limit = filter.limit === undefined ? Infinity : Math.max(0, Math.trunc(filter.limit))
    let after = filter.after
    while (entries.length < limit) {
      const page = Math.min(PAGE, limit - entries.length)
      const query = pageQuery(sql, after === undefined ? filter : { ...filter, after }, page)
      if (query === undefined) break
      // On the prepared path (as the queue's hot statements): the builder's own execution costs more than the
      // statement for a page of a few hundred rows.
      const [text, params] = query.compile()
      const rows = yield* db.query<SummaryRecord>(text, params)
      for (const row of rows) {
        const decoded = decodeSummary(row)
        if (Either.isRight(decoded)) entries.push(decoded.right)
        else undecodable.push(decoded.left)
      }
      if (rows.length < page) break
      const last = rows[rows.length - 1]!
      after = { failedAt: last.failed_at, id: last.id as DeadLetterId }
    }
    return { entries, undecodable } satisfies DeadLetterList
  }, db.operation)

  const count = Effect.fn("DeadLetterQueue.count")(function*(filter: DeadLetterFilter) {
    const clauses = conditions(sql, filter)
    if (clauses === undefined) return 0
    const rows = yield* sql<{ readonly n: number }>`SELECT count(*) AS n FROM dead_letters ${whereOf(sql, clauses)}`
    return rows[0]?.n ?? 0
  }, db.operation)

  const get = Effect.fn("DeadLetterQueue.get")(function*(id: DeadLetterId) {
    const rows = yield* sql<DeadLetterRecord>`SELECT * FROM dead_letters WHERE id = ${id}`
    const row = rows[0]
    if (row === undefined) return Option.none<DeadLetterEntry>()
    return Option.some(yield* decodeEntry(row))
  }, db.operation)

  const countByTag: Effect.Effect<Readonly<Record<string, number>>, StoreError> = Effect.gen(function*() {
    const rows = yield* sql<{ readonly error_tag: string; readonly n: number }>`SELECT error_tag, count(*) AS n
      FROM dead_letters WHERE recovered_at IS NULL AND resolved_at IS NULL GROUP BY error_tag ORDER BY error_tag`
    const out: Record<string, number> = {}
    for (const row of rows) out[row.error_tag] = row.n
    return out
  }).pipe(db.operation, Effect.withSpan("DeadLetterQueue.countByTag"))

  const unrecoveredScenes = Effect.fn("DeadLetterQueue.unrecoveredScenes")(function*(
    sceneIds: ReadonlyArray<SceneId>,
    errorTags: ReadonlyArray<ErrorTag>
  ) {
    const found = new Map<SceneId, number>()
    const tags = [...new Set(errorTags)]
    if (tags.length === 0) return found as ReadonlyMap<SceneId, number>
    for (const chunk of chunksOf([...new Set(sceneIds)], SCENE_CHUNK)) {
      // INDEXED BY: without ANALYZE statistics SQLite may prefer (failed_at, error_tag) and read the whole DLQ.
      const rows = yield* sql<{ readonly scene_id: SceneId; readonly failed_at: number }>`SELECT scene_id,
        max(failed_at) AS failed_at FROM dead_letters INDEXED BY dead_letters_scene
        WHERE scene_id IN ${sql.in(chunk)} AND recovered_at IS NULL AND resolved_at IS NULL
          AND error_tag IN ${sql.in(tags)}
        GROUP BY scene_id`
      for (const row of rows) found.set(row.scene_id, row.failed_at)
    }
    return found as ReadonlyMap<SceneId, number>
  }, db.operation)

  const resolveIn = (ids: ReadonlyArray<DeadLetterId>, resolution: DeadLetterResolution, now: number) =>
    Effect.gen(function*() {
      let changed = 0
      for (const chunk of chunksOf([...new Set(ids)], REDRIVE_CHUNK)) {
        changed += changes(
          yield* sql`UPDATE dead_letters SET resolved_at = ${now}, resolution = ${resolution}
            WHERE id IN ${sql.in(chunk)} AND recovered_at IS NULL AND resolved_at IS NULL`.raw
        )
      }
      return changed
    })

  const resolve = Effect.fn("DeadLetterQueue.resolve")(function*(
    ids: ReadonlyArray<DeadLetterId>,
    resolution: DeadLetterResolution
  ) {
    if (ids.length === 0) return 0
    const now = yield* Clock.currentTimeMillis
    return yield* db.immediate(resolveIn(ids, resolution, now))
  }, db.operation)

  const purgeOlderThan = Effect.fn("DeadLetterQueue.purgeOlderThan")(function*(cutoff: number) {
    return changes(yield* sql`DELETE FROM dead_letters WHERE failed_at < ${Math.trunc(cutoff)}`.raw)
  }, db.operation)

  const purgeAll: Effect.Effect<number, StoreError> = sql`DELETE FROM dead_letters`.raw.pipe(
    Effect.map(changes),
    db.operation,
    Effect.withSpan("DeadLetterQueue.purgeAll")
  )

  const purgeIds = Effect.fn("DeadLetterQueue.purgeIds")(function*(ids: ReadonlyArray<DeadLetterId>) {
    let deleted = 0
    for (const chunk of chunksOf(ids, 500)) {
      deleted += changes(yield* sql`DELETE FROM dead_letters WHERE id IN ${sql.in(chunk)}`.raw)
    }
    return deleted
  }, db.operation)

  const redrive = Effect.fn("DeadLetterQueue.redrive")(function*(
    entries: ReadonlyArray<{ readonly id: DeadLetterId; readonly sceneId: SceneId }>,
    options: { readonly reason: JobReason }
  ) {
    const now = yield* Clock.currentTimeMillis
    return yield* db.immediate(Effect.gen(function*() {
      const outcomes: Array<RedriveOutcome> = []
      // Scenes given a job earlier in this batch, and entries recovered earlier in this batch.
      const queuedNow = new Set<SceneId>()
      const recoveredNow = new Set<DeadLetterId>()
      const jobIds = new Map<DeadLetterId, JobId>()
      for (const chunk of chunksOf(entries, REDRIVE_CHUNK)) {
        const stored = yield* sql<{ readonly id: DeadLetterId; readonly recovered_at: number | null }>`SELECT id,
          recovered_at FROM dead_letters WHERE id IN ${sql.in([...new Set(chunk.map((e) => e.id))])}`
        const recoveredAt = new Map(stored.map((row) => [row.id, row.recovered_at]))
        const scenes = [...new Set(chunk.map((e) => e.sceneId))]
        // INDEXED BY: without ANALYZE statistics SQLite prefers (state, available_at) and scans every queued job.
        const activeRows = yield* sql<{ readonly scene_id: SceneId }>`SELECT scene_id
          FROM jobs INDEXED BY jobs_queued_scene WHERE state = 'queued' AND scene_id IN ${sql.in(scenes)}
          UNION SELECT scene_id FROM jobs INDEXED BY jobs_running
          WHERE state = 'running' AND scene_id IN ${sql.in(scenes)}`
        const active = new Set(activeRows.map((row) => row.scene_id))
        const toQueue: Array<{ readonly id: DeadLetterId; readonly sceneId: SceneId }> = []
        for (const entry of chunk) {
          // An entry no longer in the DLQ (purged meanwhile) has nothing to redrive and is left out.
          if (!recoveredAt.has(entry.id)) continue
          if (recoveredAt.get(entry.id) !== null || recoveredNow.has(entry.id)) {
            outcomes.push({ _tag: "AlreadyRecovered", id: entry.id, sceneId: entry.sceneId })
          } else if (active.has(entry.sceneId) || queuedNow.has(entry.sceneId)) {
            outcomes.push({ _tag: "AlreadyQueued", id: entry.id, sceneId: entry.sceneId })
          } else {
            queuedNow.add(entry.sceneId)
            recoveredNow.add(entry.id)
            toQueue.push(entry)
            outcomes.push({ _tag: "Recovered", id: entry.id, sceneId: entry.sceneId, jobId: 0 as JobId })
          }
        }
        if (toQueue.length === 0) continue
        const jobs = yield* sql<{ readonly id: JobId; readonly scene_id: SceneId }>`INSERT INTO jobs ${
          sql.insert(toQueue.map((entry) => ({
            scene_id: entry.sceneId,
            reason: options.reason,
            state: "queued",
            attempts: 0,
            available_at: now,
            created_at: now,
            updated_at: now
          })))
        } RETURNING id, scene_id`
        const jobOf = new Map(jobs.map((row) => [row.scene_id, row.id]))
        for (const entry of toQueue) jobIds.set(entry.id, jobOf.get(entry.sceneId)!)
        const pairs = toQueue.map((entry) => sql`(${entry.id}, ${jobIds.get(entry.id)!})`)
        yield* sql`WITH m (dl_id, job_id) AS (VALUES ${sql.csv(pairs)})
          UPDATE dead_letters SET recovered_at = ${now}, recovered_job_id = m.job_id
          FROM m WHERE m.dl_id = dead_letters.id`
      }
      // An entry whose scene is queued already is superseded by that job: it no longer needs a person.
      yield* resolveIn(outcomes.flatMap((o) => o._tag === "AlreadyQueued" ? [o.id] : []), "superseded", now)
      return outcomes.map((outcome): RedriveOutcome =>
        outcome._tag === "Recovered" ? { ...outcome, jobId: jobIds.get(outcome.id)! } : outcome
      )
    }))
  }, db.operation)

  return DeadLetterQueue.of(
    {
      add,
      list,
      count,
      get,
      countByTag,
      unrecoveredScenes,
      resolve,
      purgeOlderThan,
      purgeAll,
      purgeIds,
      redrive
    } satisfies DeadLetterQueueService
  )
})

export const layer: Layer.Layer<DeadLetterQueue, never, Database> = Layer.effect(DeadLetterQueue, make)
