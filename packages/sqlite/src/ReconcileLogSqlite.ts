import type { ReconcileLogService, ReconcileRun } from "@plexsync/domain/ReconcileLog"
import { reconcileHistoryLimit, ReconcileLog } from "@plexsync/domain/ReconcileLog"
import { Effect, Layer } from "effect"
import { Database } from "./Database.js"

interface ReconcileRunRecord {
  readonly id: number
  readonly started_at: number
  readonly finished_at: number
  readonly record: string
}

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** `reconcile_runs`, newest first; writing a run deletes those past the newest `reconcileHistoryLimit`. */
export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const record = Effect.fn("ReconcileLog.record")(function*(run: {
    readonly startedAt: number
    readonly finishedAt: number
    readonly record: unknown
  }) {
    yield* db.immediate(Effect.gen(function*() {
      yield* sql`INSERT INTO reconcile_runs ${
        sql.insert({
          started_at: Math.trunc(run.startedAt),
          finished_at: Math.trunc(run.finishedAt),
          record: JSON.stringify(run.record)
        })
      }`
      yield* sql`DELETE FROM reconcile_runs WHERE id <= (SELECT id FROM reconcile_runs ORDER BY id DESC
        LIMIT 1 OFFSET ${reconcileHistoryLimit})`
    }))
  }, db.operation)

  const list = Effect.fn("ReconcileLog.list")(function*(options: { readonly limit: number }) {
    const rows = yield* sql<ReconcileRunRecord>`SELECT * FROM reconcile_runs ORDER BY id DESC LIMIT ${
      Math.max(0, Math.trunc(options.limit))
    }`
    return rows.map((row): ReconcileRun => ({
      id: row.id,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      record: parsed(row.record)
    }))
  }, db.operation)

  return ReconcileLog.of({ record, list } satisfies ReconcileLogService)
})

export const layer: Layer.Layer<ReconcileLog, never, Database> = Layer.effect(ReconcileLog, make)
