import type { JobId } from "@plexsync/domain/Ids"
import { Millis, OutageId, Target } from "@plexsync/domain/Ids"
import type { MetricsWindow, OutageHistoryService } from "@plexsync/domain/OutageHistory"
import { Outage, OutageHistory } from "@plexsync/domain/OutageHistory"
import { Effect, Either, Layer, Option, ParseResult, Schema } from "effect"
import { Database } from "./Database.js"
import { chunksOf } from "./JobRows.js"
import { decodeEach, rowDecoder, rowErrorAsStoreError } from "./SqliteErrors.js"

interface OutageRecord {
  readonly id: number
  readonly target: string
  readonly started_at: number
  readonly ended_at: number | null
  readonly jobs_affected: number
  readonly cause: string | null
}

const OutageRow = Schema.Struct({
  id: OutageId,
  target: Target,
  started_at: Millis,
  ended_at: Schema.NullOr(Millis),
  jobs_affected: Schema.Int.pipe(Schema.nonNegative()),
  cause: Schema.NullOr(Schema.String)
})

const decodeRow = rowDecoder(OutageRow, "outages")

/** `YYYY-MM-DD HH:MM:SS` in UTC, as SQLite's CURRENT_TIMESTAMP writes it, to epoch ms. */
const CreatedAt = Schema.transformOrFail(
  Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)),
  Schema.Number,
  {
    strict: true,
    decode: (text, _, ast) => {
      const ms = Date.parse(`${text.replace(" ", "T")}Z`)
      return Number.isNaN(ms)
        ? ParseResult.fail(new ParseResult.Type(ast, text, "not a date"))
        : ParseResult.succeed(ms)
    },
    encode: (ms) => ParseResult.succeed(new Date(ms).toISOString().slice(0, 19).replace("T", " "))
  }
)
const decodeCreatedAt = Schema.decodeUnknownEither(CreatedAt)

const decodeOutage = (row: OutageRecord) =>
  Either.map(decodeRow(row, row.id), (r) =>
    new Outage({
      id: r.id,
      target: r.target,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      jobsAffected: r.jobs_affected,
      cause: r.cause
    }, true))

/**
 * Outage history on the `outages` table: at most one open outage per target (a partial unique index). A damaged
 * row read alone is a `StoreError` naming it; in a list it is logged and skipped.
 */
export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const one = (rows: ReadonlyArray<OutageRecord>) =>
    rows[0] === undefined
      ? Effect.succeedNone
      : Effect.map(Effect.mapError(decodeOutage(rows[0]), rowErrorAsStoreError), Option.some)

  const openOf = (target: Target) =>
    sql<OutageRecord>`SELECT * FROM outages WHERE target = ${target} AND ended_at IS NULL`

  const open = Effect.fn("OutageHistory.open")(function*(
    target: Target,
    options: { readonly startedAt: number; readonly cause: string | null }
  ) {
    const rows = yield* db.immediate(Effect.gen(function*() {
      const existing = yield* openOf(target)
      if (existing.length > 0) return existing
      return yield* sql<OutageRecord>`INSERT INTO outages ${
        sql.insert({ target, started_at: Math.trunc(options.startedAt), cause: options.cause })
      } RETURNING *`
    }))
    return Option.getOrThrow(yield* one(rows))
  }, db.operation)

  const close = Effect.fn("OutageHistory.close")(function*(target: Target, endedAt: number) {
    // An end before the start (a clock stepped back) is clamped: an outage never lasts a negative time.
    const rows = yield* sql<OutageRecord>`UPDATE outages SET ended_at = max(started_at, ${Math.trunc(endedAt)})
      WHERE target = ${target} AND ended_at IS NULL RETURNING *`
    // The jobs counted for outages over for a day are not needed any more (their count stays on the outage).
    yield* sql`DELETE FROM outage_jobs WHERE outage_id IN
      (SELECT id FROM outages WHERE ended_at IS NOT NULL AND ended_at < ${Math.trunc(endedAt) - 86_400_000})`
    return yield* one(rows)
  }, db.operation)

  const current = Effect.fn("OutageHistory.current")(function*(target: Target) {
    return yield* one(yield* openOf(target))
  }, db.operation)

  const addAffected = Effect.fn("OutageHistory.addAffected")(function*(id: OutageId, jobs: number) {
    yield* sql`UPDATE outages SET jobs_affected = max(0, jobs_affected + ${Math.trunc(jobs)}) WHERE id = ${id}`
  }, db.operation)

  const addAffectedJobs = Effect.fn("OutageHistory.addAffectedJobs")(
    function*(id: OutageId, jobs: ReadonlyArray<JobId>) {
      const unique = [...new Set(jobs)]
      if (unique.length === 0) return 0
      return yield* db.immediate(Effect.gen(function*() {
        let added = 0
        for (const chunk of chunksOf(unique, 500)) {
          const rows = yield* sql<{ readonly job_id: number }>`INSERT INTO outage_jobs ${
            sql.insert(chunk.map((job) => ({ outage_id: id, job_id: job })))
          } ON CONFLICT DO NOTHING RETURNING job_id`
          added += rows.length
        }
        if (added > 0) yield* sql`UPDATE outages SET jobs_affected = jobs_affected + ${added} WHERE id = ${id}`
        return added
      }))
    },
    db.operation
  )

  const get = Effect.fn("OutageHistory.get")(function*(id: OutageId) {
    return yield* one(yield* sql<OutageRecord>`SELECT * FROM outages WHERE id = ${id}`)
  }, db.operation)

  const list = Effect.fn("OutageHistory.list")(
    function*(options: { readonly limit: number; readonly target?: Target }) {
      const limit = Math.max(0, Math.trunc(options.limit))
      const rows = yield* sql<OutageRecord>`SELECT * FROM outages
      ${options.target === undefined ? sql`` : sql`WHERE target = ${options.target}`}
      ORDER BY started_at DESC, id DESC LIMIT ${limit}`
      return yield* decodeEach(rows, decodeOutage)
    },
    db.operation
  )

  const lastCompleted = Effect.fn("OutageHistory.lastCompleted")(function*(target?: Target) {
    const rows = yield* sql<OutageRecord>`SELECT * FROM outages WHERE ended_at IS NOT NULL
      ${target === undefined ? sql`` : sql`AND target = ${target}`}
      ORDER BY ended_at DESC, id DESC LIMIT 1`
    return yield* one(rows)
  }, db.operation)

  const countByTarget = Effect.map(
    sql<{ readonly target: string; readonly n: number }>`SELECT target, count(*) AS n FROM outages GROUP BY target`,
    (rows) => {
      const counts: Record<Target, number> = { plex: 0, stash: 0 }
      for (const row of rows) if (Schema.is(Target)(row.target)) counts[row.target] = row.n
      return counts
    }
  ).pipe(db.operation, Effect.withSpan("OutageHistory.countByTarget"))

  const overlapping = Effect.fn("OutageHistory.overlapping")(function*(window: MetricsWindow) {
    const rows = yield* sql<OutageRecord>`SELECT * FROM outages
      WHERE started_at <= ${Math.trunc(window.to)} AND (ended_at IS NULL OR ended_at >= ${Math.trunc(window.from)})
      ORDER BY started_at, id`
    return yield* decodeEach(rows, decodeOutage)
  }, db.operation)

  // The migrator stamps each migration it runs (SQLite's CURRENT_TIMESTAMP, UTC): the first one is the creation.
  const watchingSince = Effect.gen(function*() {
    const rows = yield* sql<{ readonly created_at: unknown }>`SELECT created_at FROM effect_sql_migrations
      ORDER BY migration_id LIMIT 1`
    return Option.flatMap(Option.fromNullable(rows[0]), (row) => Option.getRight(decodeCreatedAt(row.created_at)))
  }).pipe(db.operation, Effect.withSpan("OutageHistory.watchingSince"))

  return OutageHistory.of(
    {
      open,
      close,
      current,
      addAffected,
      addAffectedJobs,
      get,
      list,
      lastCompleted,
      overlapping,
      watchingSince,
      countByTarget
    } satisfies OutageHistoryService
  )
})

export const layer: Layer.Layer<OutageHistory, never, Database> = Layer.effect(OutageHistory, make)
