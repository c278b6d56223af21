import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * The history of reconciliation runs: one row per (non-dry) run with its stored record, so the runs a person looks
 * back at are not only the last one (`reconcile.last`, kept for the schedule). That last run, if any, is its first
 * row.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient
  yield* sql`CREATE TABLE reconcile_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    record TEXT NOT NULL
  )`
  // ISO-8601 times in the record, as epoch milliseconds.
  yield* sql`INSERT INTO reconcile_runs (started_at, finished_at, record)
    SELECT
      CAST(round((julianday(json_extract(value, '$.startedAt')) - 2440587.5) * 86400000) AS INTEGER),
      CAST(round((julianday(json_extract(value, '$.finishedAt')) - 2440587.5) * 86400000) AS INTEGER),
      value
    FROM settings
    WHERE key = 'reconcile.last' AND json_valid(value)
      AND julianday(json_extract(value, '$.startedAt')) IS NOT NULL
      AND julianday(json_extract(value, '$.finishedAt')) IS NOT NULL`
})
