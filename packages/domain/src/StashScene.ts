import { Schema } from "effect"
import { SceneId } from "./Ids.js"

export const NamedRef = Schema.Struct({ id: Schema.String, name: Schema.String })
export type NamedRef = typeof NamedRef.Type

/**
 * One of a scene's files as Stash sees it: its path, and what identifies its content when names do not — the size
 * in bytes and the duration in seconds (null when Stash has not probed the file).
 */
export class StashFile extends Schema.Class<StashFile>("StashFile")({
  path: Schema.String,
  size: Schema.NullOr(Schema.Number),
  /** Seconds (Stash's `VideoFile.duration`, a float). */
  duration: Schema.NullOr(Schema.Number)
}) {}

/** A file known by its path alone (its content facts unknown). */
export const fileAt = (
  path: string,
  facts: { readonly size?: number | null; readonly duration?: number | null } = {}
) => new StashFile({ path, size: facts.size ?? null, duration: facts.duration ?? null })

/**
 * The view of a Stash scene that a sync needs. Decoded from Stash's GraphQL answer by the client, which
 * papers over version differences (`groups` vs `movies`) so this model has one shape.
 */
export class StashScene extends Schema.Class<StashScene>("StashScene")({
  id: SceneId,
  title: Schema.NullOr(Schema.String),
  details: Schema.NullOr(Schema.String),
  /** `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, as Stash stores it. */
  date: Schema.NullOr(Schema.String),
  /** 1–100, or null when unrated. */
  rating100: Schema.NullOr(Schema.Int),
  studio: Schema.NullOr(NamedRef),
  performers: Schema.Array(NamedRef),
  tags: Schema.Array(NamedRef),
  groups: Schema.Array(NamedRef),
  /** The scene's files; the first is the primary file. */
  files: Schema.Array(StashFile),
  /** URL of the scene's cover image (Stash's screenshot), if any. */
  screenshot: Schema.NullOr(Schema.String),
  /** Stash's `updated_at`, exactly as returned (RFC 3339 with Stash's local offset). */
  updatedAt: Schema.String,
  createdAt: Schema.String
}) {}

/** A change-feed row: enough to queue and to advance the watermark. */
export const SceneRef = Schema.Struct({ id: SceneId, updatedAt: Schema.String })
export type SceneRef = typeof SceneRef.Type
