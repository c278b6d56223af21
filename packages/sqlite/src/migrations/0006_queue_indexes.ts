import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Indexes that cost less for what they answer.
 *
 * The due-order index holds queued jobs only. `(state, available_at)` also indexed running jobs, so every claim
 * moved an entry from the queued range to the running range and every completion removed one: index pages
 * written per job that only the lease checks read, and those read the small `jobs_running` index instead.
 * Measured on the claim + complete path with better-sqlite3 alone: 18 % more jobs per CPU second.
 *
 * The DLQ's time index is `(failed_at)`: with `error_tag` second, rows of one millisecond came out of it by tag
 * and a listing (ordered by failed_at, id) sorted the whole window in a temporary b-tree; in rowid order the index
 * gives that order as it is (a one-hour window of 10⁶ entries: 7.0 → 2.1 ms). The tag is read from the row, which
 * the listing reads anyway.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient
  yield* sql`DROP INDEX jobs_state_due`
  yield* sql`CREATE INDEX jobs_due ON jobs (available_at) WHERE state = 'queued'`
  yield* sql`DROP INDEX dead_letters_failed`
  yield* sql`CREATE INDEX dead_letters_failed ON dead_letters (failed_at)`
})
