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
  ratingKey: Schema.NullOr(Schema.String),
  /** The matched Plex file path, to verify a remembered rating key. */
  plexFile: Schema.NullOr(Schema.String),
  imageHash: Schema.NullOr(Schema.String),
  written: WrittenFields,
  syncedAt: Millis,
  /**
   * The tags, performers, studio and groups the synced version of the scene referred to (by Stash id): when one of
   * them is deleted, these are the scenes to sync again. Absent on states recorded before plexsync kept them.
   */
  related: Schema.optional(RelatedIds)
}) {}

export interface SyncStateService {
  readonly get: (sceneId: SceneId) => Effect.Effect<Option.Option<SceneSyncState>, StoreError>
  readonly getMany: (sceneIds: ReadonlyArray<SceneId>) => Effect.Effect<ReadonlyArray<SceneSyncState>, StoreError>
  readonly put: (state: SceneSyncState) => Effect.Effect<void, StoreError>
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
}

export class SyncState extends Context.Tag("@plexsync/domain/SyncState")<SyncState, SyncStateService>() {}
