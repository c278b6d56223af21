import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * The notification outbox: one row per event a person is told about, under a key that names it for good
 * (`outage.started:12`), so an event is recorded once however often it is seen and whichever process restarts;
 * and one delivery row per event and notify URL, retried until it is delivered or given up. And an index for the
 * time of the last sync (`plexsync_last_sync_timestamp_seconds`), read at every scrape.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient

  yield* sql`CREATE TABLE notify_events (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    created_at INTEGER NOT NULL
  )`
  yield* sql`CREATE INDEX notify_events_created ON notify_events (created_at)`
  // sink: a digest of the URL (the URL itself may carry a token, so it is never stored).
  yield* sql`CREATE TABLE notify_deliveries (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES notify_events (id) ON DELETE CASCADE,
    sink TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER,
    abandoned_at INTEGER,
    last_error TEXT,
    last_attempt_at INTEGER,
    UNIQUE (event_id, sink)
  )`
  yield* sql`CREATE INDEX notify_deliveries_due ON notify_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND abandoned_at IS NULL`
  yield* sql`CREATE INDEX sync_state_synced ON sync_state (synced_at)`
})
