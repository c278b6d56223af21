import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * The initial schema. Every time column is integer UTC epoch ms; JSON columns hold Schema-encoded values.
 * `jobs` ids are plain rowids (AUTOINCREMENT would add a write to every enqueue); a lease is proven by its random
 * token, never by the id alone. The other tables use AUTOINCREMENT so their ids are never reused.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient

  // One row per pending sync. Finished jobs leave the table; `coalesced` counts events merged into the row.
  yield* sql`CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    scene_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running')),
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    lease_until INTEGER,
    lease_token TEXT,
    last_error_tag TEXT,
    last_error TEXT,
    held_since INTEGER,
    coalesced INTEGER NOT NULL DEFAULT 0
  )`
  // At most one queued job per scene; a running and a queued job for one scene may coexist.
  yield* sql`CREATE UNIQUE INDEX jobs_queued_scene ON jobs (scene_id) WHERE state = 'queued'`
  // Claiming is a range scan of this index in due order.
  yield* sql`CREATE INDEX jobs_state_due ON jobs (state, available_at)`
  // Running jobs are few (one per worker slot): this small index answers "is the scene running under a live
  // lease"; lease expiry reads the running range of jobs_state_due.
  yield* sql`CREATE INDEX jobs_running ON jobs (scene_id, lease_until) WHERE state = 'running'`
  yield* sql`CREATE INDEX jobs_held ON jobs (held_since) WHERE held_since IS NOT NULL`

  yield* sql`CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scene_id TEXT NOT NULL,
    error_tag TEXT NOT NULL,
    message TEXT NOT NULL,
    detail TEXT,
    attempts INTEGER NOT NULL,
    failed_at INTEGER NOT NULL,
    outage_id INTEGER,
    payload TEXT NOT NULL,
    recovered_at INTEGER,
    recovered_job_id INTEGER
  )`
  yield* sql`CREATE INDEX dead_letters_failed ON dead_letters (failed_at, error_tag)`
  yield* sql`CREATE INDEX dead_letters_scene ON dead_letters (scene_id)`

  yield* sql`CREATE TABLE outages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    jobs_affected INTEGER NOT NULL DEFAULT 0,
    cause TEXT
  )`
  yield* sql`CREATE UNIQUE INDEX outages_open ON outages (target) WHERE ended_at IS NULL`
  yield* sql`CREATE INDEX outages_started ON outages (started_at)`

  yield* sql`CREATE TABLE breakers (
    target TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    consecutive_failures INTEGER NOT NULL,
    opened_at INTEGER,
    next_probe_at INTEGER,
    probe_attempt INTEGER NOT NULL,
    last_error TEXT,
    updated_at INTEGER NOT NULL
  )`

  yield* sql`CREATE TABLE sync_state (
    scene_id TEXT PRIMARY KEY NOT NULL,
    stash_updated_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    rating_key TEXT,
    plex_file TEXT,
    image_hash TEXT,
    written TEXT NOT NULL,
    synced_at INTEGER NOT NULL
  )`

  yield* sql`CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  )`

  yield* sql`CREATE TABLE process_leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    lease_until INTEGER NOT NULL
  )`

  yield* sql`CREATE TABLE recovery_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    result TEXT NOT NULL
  )`
})
