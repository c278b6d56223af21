import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Related objects (tags, performers, studios, groups): renaming or deleting one in Stash leaves its scenes'
 * `updated_at` alone, so plexsync keeps what it needs to find the scenes itself. And when a breaker's streak of
 * failures began, so that an outage starts at its first failure.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient

  // The related object ids of each synced scene's last synced version (JSON `RelatedIds`); NULL on states
  // recorded before this migration, until the scene next syncs.
  yield* sql`ALTER TABLE sync_state ADD COLUMN related TEXT`
  // Those scenes, for a deletion to queue as well (their objects are unknown): empty once each has synced again.
  yield* sql`CREATE INDEX sync_state_related_unknown ON sync_state (scene_id) WHERE related IS NULL`

  // The same, one row per (kind, object, scene), keyed for "which synced scenes used these objects": what a
  // deletion requeues, read from plexsync's own state because the object is gone from Stash.
  yield* sql`CREATE TABLE sync_related (
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    scene_id TEXT NOT NULL,
    PRIMARY KEY (kind, object_id, scene_id)
  )`
  yield* sql`CREATE INDEX sync_related_scene ON sync_related (scene_id)`

  // The objects known to exist in Stash, with the `updated_at` their scenes were last queued at (NULL: never).
  yield* sql`CREATE TABLE stash_objects (
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    updated_at TEXT,
    PRIMARY KEY (kind, object_id)
  )`
  // Their number per kind, kept with every change so that comparing with Stash's count reads one row.
  yield* sql`CREATE TABLE stash_object_kinds (
    kind TEXT PRIMARY KEY NOT NULL,
    count INTEGER NOT NULL
  )`

  // What the plugin hooks for tags, performers, studios and groups recorded (`Tag.Update.Post`, …), waiting to be
  // expanded into scene jobs (that needs Stash, and Stash waits for its hooks). `change` is `changed` or `deleted`;
  // `merged_from` is the JSON array of a tag merge's sources (NULL otherwise). Written by the hook's fast path
  // without Effect: its statement is `ObjectEventStatements.RECORD_OBJECT_EVENT`.
  yield* sql`CREATE TABLE object_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    change TEXT NOT NULL,
    merged_from TEXT,
    recorded_at INTEGER NOT NULL
  )`

  // When a closed breaker's current streak of failures began: it becomes the outage's start when the streak opens
  // the breaker (NULL while no failure is counted).
  yield* sql`ALTER TABLE breakers ADD COLUMN failing_since INTEGER`
})
