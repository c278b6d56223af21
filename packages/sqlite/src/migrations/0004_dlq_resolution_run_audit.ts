import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * What the DLQ and the outage history need to tell the truth:
 * - a DLQ entry that outage recovery found superseded (its scene queued again) or whose scene is gone from Stash is
 *   resolved with that reason, so the DLQ lists only what still needs a person;
 * - a recovery run's audit row is written when it starts and finished when it ends (`finished_at` NULL: it never
 *   finished), and repeated attempts that changed nothing (Plex still down) share one row (`attempts`);
 * - the jobs an outage affected are stored (one row per outage and job), so a job is counted once whichever
 *   process or restart saw it.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient

  yield* sql`ALTER TABLE dead_letters ADD COLUMN resolved_at INTEGER`
  yield* sql`ALTER TABLE dead_letters ADD COLUMN resolution TEXT`

  yield* sql`CREATE TABLE recovery_runs_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    trigger TEXT NOT NULL,
    result TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1
  )`
  yield* sql`INSERT INTO recovery_runs_v2 (id, started_at, finished_at, trigger, result)
    SELECT id, started_at, finished_at, trigger, result FROM recovery_runs`
  yield* sql`DROP TABLE recovery_runs`
  yield* sql`ALTER TABLE recovery_runs_v2 RENAME TO recovery_runs`
  yield* sql`CREATE INDEX recovery_runs_started ON recovery_runs (started_at)`

  yield* sql`CREATE TABLE outage_jobs (
    outage_id INTEGER NOT NULL,
    job_id INTEGER NOT NULL,
    PRIMARY KEY (outage_id, job_id)
  )`
})
