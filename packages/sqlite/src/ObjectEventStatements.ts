/**
 * The statement that records a Stash object event, shared by `ObjectEventsSqlite` and the CLI's hook fast path
 * (which records without loading Effect). Dependency-free so that path stays lean.
 */

/** Parameters: kind, object id, change (`changed` | `deleted`), merged-from (JSON array or null), recorded at. */
export const RECORD_OBJECT_EVENT = `INSERT INTO object_events (kind, object_id, change, merged_from, recorded_at)
  VALUES (?, ?, ?, ?, ?)
  RETURNING id`

/** `merged_from` as stored: a JSON array of ids, NULL when there are none. */
export const mergedFromColumn = (ids: ReadonlyArray<string> | undefined): string | null =>
  ids === undefined || ids.length === 0 ? null : JSON.stringify(ids)
