import type { Effect, Option } from "effect"
import { Context, Schema } from "effect"
import { Millis, SceneId } from "./Ids.js"
import type { RelatedKind } from "./RelatedObjects.js"
import { RelatedIds } from "./RelatedObjects.js"
import type { StoreError } from "./StoreError.js"

/** What plexsync last wrote to a Plex item: lets it remove only the tags it added, and notice Plex-side edits. */
export const WrittenFields = Schema.Struct({
  scalars: Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) }),
  rating: Schema.NullOr(Schema.Number),
  genres: Schema.Array(Schema.String),
  actors: Schema.Array(Schema.String),
  collections: Schema.Array(Schema.String)
})
export type WrittenFields = typeof WrittenFields.Type

export class SceneSyncState extends Schema.Class<SceneSyncState>("SceneSyncState")({
  sceneId: SceneId,
  /** Stash's `updated_at`, exactly as Stash returned it. */
  stashUpdatedAt: Schema.String,
  /** Hash of the wanted Plex fields computed from the scene: equal hash → nothing to write. */
  contentHash: Schema.String,
  /** The matched item (the first, where several libraries hold the file); null once the match is forgotten. */
  ratingKey: Schema.NullOr(Schema.String),
  /** The same file's items in other libraries (libraries that overlap), written alike. */
  copies: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /**
   * The Plex path the items were matched through: one of the scene's mapped files, or — matched by content — the
   * path of a namesake with the same size and duration, until Plex has the file's own path.
   */
  plexFile: Schema.NullOr(Schema.String),
  /** What was written to `ratingKey` (its `ItemWrite`; kept here too for reading a scene at once). */
  imageHash: Schema.NullOr(Schema.String),
  written: WrittenFields,
  syncedAt: Millis,
  /**
   * The tags, performers, studio and groups the synced version of the scene referred to (by Stash id): when one of
   * them is deleted, these are the scenes to sync again. Absent on states recorded before plexsync kept them.
   */
  related: Schema.optional(RelatedIds)
}) {}

/**
 * What plexsync last wrote to one Plex item, and for which scene. Belongs to the item, not the scene: a scene
 * taking over an item (a scene deleted in Stash and created again for the same file) finds what was written there
 * for the old one, and a sync removes it.
 */
export class ItemWrite extends Schema.Class<ItemWrite>("ItemWrite")({
  ratingKey: Schema.String,
  sceneId: SceneId,
  written: WrittenFields,
  imageHash: Schema.NullOr(Schema.String),
  writtenAt: Millis
}) {}

export interface SyncStateService {
  readonly get: (sceneId: SceneId) => Effect.Effect<Option.Option<SceneSyncState>, StoreError>
  readonly getMany: (sceneIds: ReadonlyArray<SceneId>) => Effect.Effect<ReadonlyArray<SceneSyncState>, StoreError>
  readonly put: (state: SceneSyncState) => Effect.Effect<void, StoreError>
  /**
   * A sync: the scene's state and what was written to each of its items, in one transaction. An item written for
   * another scene before is now this one's, and that scene's remembered match to it is forgotten.
   */
  readonly record: (state: SceneSyncState, items: ReadonlyArray<ItemWrite>) => Effect.Effect<void, StoreError>
  /** What plexsync last wrote to these items (those it never wrote to are absent). */
  readonly writtenOn: (
    ratingKeys: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, ItemWrite>, StoreError>
  readonly remove: (sceneId: SceneId) => Effect.Effect<void, StoreError>
  /** Forgets the remembered Plex match (after a 404 or a changed file) but keeps the rest. */
  readonly forgetMatch: (sceneId: SceneId) => Effect.Effect<void, StoreError>
  /** The synced scenes whose last sync referred to any of these objects: an indexed lookup. */
  readonly scenesRelatedTo: (
    kind: RelatedKind,
    objectIds: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<SceneId>, StoreError>
  /**
   * The synced scenes whose related objects are not known (synced before plexsync kept them): any deleted object
   * may have been theirs. An indexed lookup that finds nothing once each of them has synced again.
   */
  readonly scenesWithUnknownRelated: Effect.Effect<ReadonlyArray<SceneId>, StoreError>
  /** When a scene was last synced (epoch ms), if any was: an indexed lookup. */
  readonly lastSyncedAt: Effect.Effect<Option.Option<number>, StoreError>
  /**
   * Scenes whose last sync falls in each of `buckets` consecutive windows of `bucketMs` from `from` (epoch ms): an
   * indexed range. A scene synced twice counts in the window of its last sync only.
   */
  readonly syncedPerBucket: (
    window: { readonly from: number; readonly bucketMs: number; readonly buckets: number }
  ) => Effect.Effect<ReadonlyArray<number>, StoreError>
}

export class SyncState extends Context.Tag("@plexsync/domain/SyncState")<SyncState, SyncStateService>() {}
