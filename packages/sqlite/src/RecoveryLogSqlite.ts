import { Millis } from "@plexsync/domain/Ids"
import type { RecoveryLogService, RecoveryResult as RecoveryResultType } from "@plexsync/domain/RecoveryLog"
import { RecoveryLog, RecoveryResult, RecoveryRun, RecoveryTrigger } from "@plexsync/domain/RecoveryLog"
import { StoreError } from "@plexsync/domain/StoreError"
import { Effect, Either, Layer, Option, Schema } from "effect"
import { Database } from "./Database.js"
import { decodeEach, rowDecoder, rowErrorAsStoreError } from "./SqliteErrors.js"

interface RecoveryRunRecord {
  readonly id: number
  readonly started_at: number
  readonly finished_at: number | null
  readonly trigger: string
  readonly result: string
  readonly attempts: number
}

const RecoveryRunRow = Schema.Struct({
  id: Schema.Int,
  started_at: Millis,
  finished_at: Schema.NullOr(Millis),
  trigger: RecoveryTrigger,
  result: Schema.parseJson(RecoveryResult),
  attempts: Schema.Int.pipe(Schema.positive())
})

const decodeRow = rowDecoder(RecoveryRunRow, "recovery_runs")
const encodeResult = Schema.encode(Schema.parseJson(RecoveryResult))

const decodeRun = (row: RecoveryRunRecord) =>
  Either.map(decodeRow(row, row.id), (r) =>
    new RecoveryRun({
      id: r.id,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      trigger: r.trigger,
      result: r.result,
      attempts: r.attempts
    }, true))

/** Two results over the same selection (window, tags, dry run). */
const sameSelection = (a: RecoveryResultType, b: RecoveryResultType) =>
  a.window.from === b.window.from && a.window.to === b.window.to && a.window.outageId === b.window.outageId &&
  a.dryRun === b.dryRun && a.errorTags.length === b.errorTags.length && a.errorTags.every((t, i) =>
    b.errorTags[i] === t
  )

/**
 * The audit trail of recovery runs (`recovery_runs`), newest first. A row is written when a run starts and finished
 * when it ends; a damaged row in a list is logged and skipped.
 */
export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const decodeOne = (rows: ReadonlyArray<RecoveryRunRecord>) =>
    Effect.mapError(decodeRun(rows[0]!), rowErrorAsStoreError)

  const start = Effect.fn("RecoveryLog.start")(function*(run: {
    readonly startedAt: number
    readonly trigger: RecoveryTrigger
    readonly result: RecoveryResultType
  }) {
    const result = yield* Effect.orDie(encodeResult(run.result))
    const rows = yield* sql<RecoveryRunRecord>`INSERT INTO recovery_runs ${
      sql.insert({ started_at: Math.trunc(run.startedAt), finished_at: null, trigger: run.trigger, result })
    } RETURNING *`
    return yield* decodeOne(rows)
  }, db.operation)

  const finish = Effect.fn("RecoveryLog.finish")(function*(id: number, run: {
    readonly finishedAt: number
    readonly result: RecoveryResultType
  }) {
    const result = yield* Effect.orDie(encodeResult(run.result))
    const finishedAt = Math.trunc(run.finishedAt)
    return yield* db.immediate(Effect.gen(function*() {
      const current = yield* sql<RecoveryRunRecord>`SELECT * FROM recovery_runs WHERE id = ${id}`
      if (run.result.stoppedBy === "PlexDown" && current[0] !== undefined) {
        // The previous row, when it is the same kind of run stopped the same way, takes this attempt.
        const previous = yield* sql<RecoveryRunRecord>`SELECT * FROM recovery_runs WHERE id < ${id}
          ORDER BY id DESC LIMIT 1`
        const before = previous[0] === undefined ? undefined : Either.getOrUndefined(decodeRun(previous[0]))
        if (
          before !== undefined && before.finishedAt !== null && before.trigger === current[0].trigger &&
          before.result.stoppedBy === "PlexDown" && sameSelection(before.result, run.result)
        ) {
          yield* sql`DELETE FROM recovery_runs WHERE id = ${id}`
          return yield* decodeOne(
            yield* sql<RecoveryRunRecord>`UPDATE recovery_runs SET finished_at = ${finishedAt}, result = ${result},
              attempts = attempts + 1 WHERE id = ${before.id} RETURNING *`
          )
        }
      }
      const rows = yield* sql<RecoveryRunRecord>`UPDATE recovery_runs SET finished_at = ${finishedAt},
        result = ${result} WHERE id = ${id} RETURNING *`
      if (rows.length > 0) return yield* decodeOne(rows)
      return yield* new StoreError({
        reason: "other",
        message: `The audit row ${id} of this recovery run is gone (deleted while the run went on).`
      })
    }))
  }, db.operation)

  const list = Effect.fn("RecoveryLog.list")(function*(options: { readonly limit: number }) {
    const rows = yield* sql<RecoveryRunRecord>`SELECT * FROM recovery_runs ORDER BY id DESC LIMIT ${
      Math.max(0, Math.trunc(options.limit))
    }`
    return yield* decodeEach(rows, decodeRun)
  }, db.operation)

  const latest = Effect.map(list({ limit: 1 }), (runs) => Option.fromNullable(runs[0])).pipe(
    Effect.withSpan("RecoveryLog.latest")
  )

  const lastCompleted = Effect.gen(function*() {
    const rows = yield* sql<RecoveryRunRecord>`SELECT * FROM recovery_runs
      WHERE finished_at IS NOT NULL AND json_extract(result, '$.stoppedBy') IS NULL ORDER BY id DESC LIMIT 1`
    const runs = yield* decodeEach(rows, decodeRun)
    return Option.fromNullable(runs[0])
  }).pipe(db.operation, Effect.withSpan("RecoveryLog.lastCompleted"))

  const prune = Effect.fn("RecoveryLog.prune")(function*(cutoff: number) {
    const result = yield* sql`DELETE FROM recovery_runs WHERE started_at < ${Math.trunc(cutoff)} AND id IS NOT
      (SELECT id FROM recovery_runs WHERE finished_at IS NOT NULL AND json_extract(result, '$.stoppedBy') IS NULL
        ORDER BY id DESC LIMIT 1)`.raw
    const n = (result as { readonly changes?: unknown } | null)?.changes
    return typeof n === "number" ? n : 0
  }, db.operation)

  return RecoveryLog.of({ start, finish, latest, lastCompleted, list, prune } satisfies RecoveryLogService)
})

export const layer: Layer.Layer<RecoveryLog, never, Database> = Layer.effect(RecoveryLog, make)
