import { Millis } from "@plexsync/domain/Ids"
import type { RecoveryLogService, RecoveryResult as RecoveryResultType } from "@plexsync/domain/RecoveryLog"
import { RecoveryLog, RecoveryResult, RecoveryRun, RecoveryTrigger } from "@plexsync/domain/RecoveryLog"
import { Effect, Either, Layer, Option, Schema } from "effect"
import { Database } from "./Database.js"
import { decodeEach, rowDecoder, rowErrorAsStoreError } from "./SqliteErrors.js"

interface RecoveryRunRecord {
  readonly id: number
}

const RecoveryRunRow = Schema.Struct({
  id: Schema.Int,
  started_at: Millis,
  finished_at: Millis,
  trigger: RecoveryTrigger,
  result: Schema.parseJson(RecoveryResult)
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
      result: r.result
    }, true))

/** The audit trail of recovery runs (`recovery_runs`), newest first. A damaged row in a list is logged and skipped. */
export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const record = Effect.fn("RecoveryLog.record")(function*(run: {
    readonly startedAt: number
    readonly finishedAt: number
    readonly trigger: RecoveryTrigger
    readonly result: RecoveryResultType
  }) {
    const result = yield* Effect.orDie(encodeResult(run.result))
    const rows = yield* sql<RecoveryRunRecord>`INSERT INTO recovery_runs ${
      sql.insert({
        started_at: Math.trunc(run.startedAt),
        finished_at: Math.trunc(run.finishedAt),
        trigger: run.trigger,
        result
      })
    } RETURNING *`
    return yield* Effect.mapError(decodeRun(rows[0]!), rowErrorAsStoreError)
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

  return RecoveryLog.of({ record, latest, list } satisfies RecoveryLogService)
})

export const layer: Layer.Layer<RecoveryLog, never, Database> = Layer.effect(RecoveryLog, make)
