import type { Effect, Option } from "effect"
import { Context, Schema } from "effect"
import type { StashScene } from "./StashScene.js"
import type { StoreError } from "./StoreError.js"

/**
 * Stash objects a scene refers to: tags, performers, studios and groups. Renaming, editing, deleting or merging
 * one bumps only the object's own `updated_at` (or removes it), never the scenes' — so plexsync watches them
 * separately and requeues the scenes that use them.
 */

export const RelatedKind = Schema.Literal("tag", "performer", "studio", "group")
export type RelatedKind = typeof RelatedKind.Type

export const relatedKinds: ReadonlyArray<RelatedKind> = ["tag", "performer", "studio", "group"]

/** The ids of the objects one scene refers to, per kind: what its last sync was computed from. */
export const RelatedIds = Schema.Struct({
  tag: Schema.Array(Schema.String),
  performer: Schema.Array(Schema.String),
  studio: Schema.Array(Schema.String),
  group: Schema.Array(Schema.String)
})
export type RelatedIds = typeof RelatedIds.Type

const uniqueIds = (refs: ReadonlyArray<{ readonly id: string }>): Array<string> =>
  Array.from(new Set(refs.map((ref) => ref.id)))

/** The related object ids of a scene as Stash returned it. */
export const relatedIdsOf = (scene: StashScene): RelatedIds => ({
  tag: uniqueIds(scene.tags),
  performer: uniqueIds(scene.performers),
  studio: scene.studio === null ? [] : [scene.studio.id],
  group: uniqueIds(scene.groups)
})

/** One row of a related-object change listing (`findTags(tag_filter: { updated_at > … })` and friends). */
export interface RelatedObjectRef {
  readonly id: string
  /** Stash's `updated_at`, exactly as returned. */
  readonly updatedAt: string
  /** For logs only. */
  readonly name: string | null
}

/** The job reason for a scene queued because one of its related objects changed or disappeared. */
export const changedReason = (kind: RelatedKind) => `${kind}-changed` as const
export const deletedReason = (kind: RelatedKind) => `${kind}-deleted` as const

/**
 * The related objects plexsync knows exist in Stash, per kind, each with the `updated_at` at which its scenes were
 * last queued (null: known to exist, never queued). Lets the feed notice deletions without a plugin: the count is
 * compared with Stash's every poll, and the full id list is read only when the two differ.
 */
export interface KnownObjectsService {
  /** How many objects of the kind are known; none before the kind was first listed in full. */
  readonly count: (kind: RelatedKind) => Effect.Effect<Option.Option<number>, StoreError>
  /** The known ones among `ids`, with the `updated_at` their scenes were last queued at. */
  readonly versions: (
    kind: RelatedKind,
    ids: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, string | null>, StoreError>
  /** Every known id of the kind (read only when the counts differ). */
  readonly ids: (kind: RelatedKind) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /**
   * Records objects as existing, with the version their scenes were queued at (null keeps a known version, or
   * stores none for a new id). The first call for a kind starts its count.
   */
  readonly record: (
    kind: RelatedKind,
    objects: ReadonlyArray<{ readonly id: string; readonly updatedAt: string | null }>
  ) => Effect.Effect<void, StoreError>
  /** Forgets objects that no longer exist in Stash. */
  readonly forget: (kind: RelatedKind, ids: ReadonlyArray<string>) => Effect.Effect<void, StoreError>
}

export class KnownObjects extends Context.Tag("@plexsync/domain/KnownObjects")<KnownObjects, KnownObjectsService>() {}
