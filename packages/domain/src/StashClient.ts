import type { Effect, Option } from "effect"
import { Context } from "effect"
import type { StashError } from "./Errors.js"
import type { SceneId } from "./Ids.js"
import type { RelatedKind, RelatedObjectRef } from "./RelatedObjects.js"
import type { SceneRef, StashScene } from "./StashScene.js"

export interface StashHealth {
  readonly version: string
  /** `systemStatus.status`: only `OK` is healthy (`SETUP`, `NEEDS_MIGRATION` are not). */
  readonly status: string
  readonly healthy: boolean
}

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** Total matching rows across all pages. */
  readonly count: number
}

export interface StashClientService {
  readonly health: Effect.Effect<StashHealth, StashError>
  readonly findScene: (id: SceneId) => Effect.Effect<Option.Option<StashScene>, StashError>
  /** Many scenes in one request; missing ids are simply absent from the answer. */
  readonly findScenes: (ids: ReadonlyArray<SceneId>) => Effect.Effect<ReadonlyArray<StashScene>, StashError>
  /** Which of these ids exist, in as few requests as the batch size allows. */
  readonly existingSceneIds: (ids: ReadonlyArray<SceneId>) => Effect.Effect<ReadonlySet<SceneId>, StashError>
  /**
   * Scenes whose `updated_at` is after `since` (Stash's own string; null = all), sorted by `updated_at`
   * ascending, one page (1-based) at a time.
   */
  readonly scenesUpdatedSince: (
    options: { readonly since: string | null; readonly page: number; readonly perPage: number }
  ) => Effect.Effect<Page<SceneRef>, StashError>
  /**
   * The same scenes (`updated_at` after `since`; null = all) in id order, at most `perPage` after `afterId` (null:
   * from the start): keyset pages for when more scenes share one `updated_at` second than a page holds — an edit
   * meanwhile moves a scene's time, never its id, so nothing shifts past the reader.
   */
  readonly scenesUpdatedSinceById: (
    options: { readonly since: string | null; readonly afterId: SceneId | null; readonly perPage: number }
  ) => Effect.Effect<Page<SceneRef>, StashError>
  /** Full scenes, paged (1-based), optionally only those created or updated after `changedSince` (Stash's string). */
  readonly listScenes: (
    options: { readonly page: number; readonly perPage: number; readonly changedSince?: string }
  ) => Effect.Effect<Page<StashScene>, StashError>
  /**
   * Tags, performers, studios or groups whose own `updated_at` is after `since` (Stash's string; null = all),
   * sorted by `updated_at` ascending (ties by id within a page), one page (1-based) at a time: ids, times and
   * names only. Editing one of them does not touch its scenes' `updated_at`.
   */
  readonly relatedUpdatedSince: (
    options: {
      readonly kind: RelatedKind
      readonly since: string | null
      readonly page: number
      readonly perPage: number
    }
  ) => Effect.Effect<Page<RelatedObjectRef>, StashError>
  /** The most recently updated object of the kind, if there is any: where a new feed starts. */
  readonly relatedLatest: (kind: RelatedKind) => Effect.Effect<Option.Option<RelatedObjectRef>, StashError>
  /** How many objects of the kind Stash has (a count-only query). */
  readonly relatedCount: (kind: RelatedKind) => Effect.Effect<number, StashError>
  /** Every id of the kind, sorted by id, one page at a time. */
  readonly relatedIds: (
    options: { readonly kind: RelatedKind; readonly page: number; readonly perPage: number }
  ) => Effect.Effect<Page<string>, StashError>
  /**
   * The ids of the scenes that use any of these objects (exactly these: no sub-tags or sub-studios), in id order,
   * at most `perPage` after `afterId` (null: from the start): keyset pages, so scenes gaining or losing the
   * objects meanwhile neither shift nor repeat the rest. `count` is how many remain from `afterId` on. An empty
   * `ids` answers an empty page without asking Stash.
   */
  readonly scenesWithRelated: (
    options: {
      readonly kind: RelatedKind
      readonly ids: ReadonlyArray<string>
      readonly afterId: SceneId | null
      readonly perPage: number
    }
  ) => Effect.Effect<Page<SceneId>, StashError>
  /**
   * The scenes that may have a file at this path, with their files: Stash's `path` filter, which ignores case and
   * treats `_` and `%` as wildcards — candidates, for the caller to compare as its paths compare.
   */
  readonly scenesWithFile: (
    path: string
  ) => Effect.Effect<ReadonlyArray<{ readonly id: SceneId; readonly files: ReadonlyArray<string> }>, StashError>
  /** The cover image bytes of a scene. */
  readonly screenshot: (
    scene: StashScene
  ) => Effect.Effect<Option.Option<{ readonly bytes: Uint8Array; readonly contentType: string }>, StashError>
}

export class StashClient extends Context.Tag("@plexsync/domain/StashClient")<StashClient, StashClientService>() {}
