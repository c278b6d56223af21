/**
 * The enqueue statement, shared by `SyncQueueSqlite` and the CLI's hook fast path (which writes the job without
 * loading Effect). Dependency-free so that path stays lean.
 */

const UPSERT_HEAD = `INSERT INTO jobs (scene_id, reason, state, attempts, available_at, created_at, updated_at)
  VALUES `
const UPSERT_ROW = `(?, ?, 'queued', 0, ?, ?, ?)`
const UPSERT_TAIL = `
  ON CONFLICT (scene_id) WHERE state = 'queued' DO UPDATE SET
    available_at = CASE WHEN jobs.last_error_tag IS NULL AND jobs.held_since IS NULL
      THEN min(jobs.available_at, excluded.available_at) ELSE jobs.available_at END,
    updated_at = excluded.updated_at,
    coalesced = jobs.coalesced + 1
  RETURNING id, coalesced`

/**
 * Enqueues `rows` jobs, coalescing into each scene's queued job. Parameters per row: scene id, reason, available
 * at, created at, updated at. A job waiting out a retry or a hold keeps its due time; otherwise the earlier wins.
 */
export const upsertText = (rows: number): string =>
  UPSERT_HEAD + Array.from({ length: rows }, () => UPSERT_ROW).join(", ") + UPSERT_TAIL

/** `upsertText(1)`. */
export const ENQUEUE = upsertText(1)
