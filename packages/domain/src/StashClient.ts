import type { Effect, Option } from "effect"
import { Context } from "effect"
import type { StashError } from "./Errors.js"
import type { SceneId } from "./Ids.js"
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
  /** Full scenes, paged (1-based), optionally only those created after `createdSince` (Stash's string). */
  readonly listScenes: (
    options: { readonly page: number; readonly perPage: number; readonly createdSince?: string }
  ) => Effect.Effect<Page<StashScene>, StashError>
  /** The cover image bytes of a scene. */
  readonly screenshot: (
    scene: StashScene
  ) => Effect.Effect<Option.Option<{ readonly bytes: Uint8Array; readonly contentType: string }>, StashError>
}

export class StashClient extends Context.Tag("@plexsync/domain/StashClient")<StashClient, StashClientService>() {}
