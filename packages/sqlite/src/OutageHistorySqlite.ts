import { Millis, OutageId, Target } from "@plexsync/domain/Ids"
import type { OutageHistoryService } from "@plexsync/domain/OutageHistory"
import { Outage, OutageHistory } from "@plexsync/domain/OutageHistory"
import { Effect, Either, Layer, Option, Schema } from "effect"
import { Database } from "./Database.js"
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
    return yield* one(rows)
  }, db.operation)

  const current = Effect.fn("OutageHistory.current")(function*(target: Target) {
    return yield* one(yield* openOf(target))
  }, db.operation)

  const addAffected = Effect.fn("OutageHistory.addAffected")(function*(id: OutageId, jobs: number) {
    yield* sql`UPDATE outages SET jobs_affected = max(0, jobs_affected + ${Math.trunc(jobs)}) WHERE id = ${id}`
  }, db.operation)

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

  return OutageHistory.of(
    { open, close, current, addAffected, get, list, lastCompleted, countByTarget } satisfies OutageHistoryService
  )
})

export const layer: Layer.Layer<OutageHistory, never, Database> = Layer.effect(OutageHistory, make)
