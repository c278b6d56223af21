import { SqlClient } from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * What plexsync wrote belongs to the Plex item: one row per item written, with the scene it was written for. And
 * the other libraries' items of a scene's file (overlapping libraries).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient

  yield* sql`CREATE TABLE item_writes (
    rating_key TEXT PRIMARY KEY,
    scene_id TEXT NOT NULL,
    written TEXT NOT NULL,
    image_hash TEXT,
    written_at INTEGER NOT NULL
  )`
  yield* sql`CREATE INDEX item_writes_scene ON item_writes (scene_id)`
  // Each remembered match so far, the most recent sync winning where two scenes remember one item.
  yield* sql`INSERT INTO item_writes (rating_key, scene_id, written, image_hash, written_at)
    SELECT rating_key, scene_id, written, image_hash, synced_at FROM sync_state
    WHERE rating_key IS NOT NULL ORDER BY synced_at
    ON CONFLICT (rating_key) DO UPDATE SET scene_id = excluded.scene_id, written = excluded.written,
      image_hash = excluded.image_hash, written_at = excluded.written_at`
  // A JSON array of rating keys; NULL: none.
  yield* sql`ALTER TABLE sync_state ADD COLUMN copies TEXT`
})
