import type { SceneId } from "@plexsync/domain/Ids"
import type { RelatedIds } from "@plexsync/domain/RelatedObjects"
import { SceneSyncState } from "@plexsync/domain/SyncState"

/**
 * A scene's sync state as tests need it: synced at `syncedAt` from the Stash version `stashUpdatedAt`, nothing
 * written to Plex, and what it refers to (`related`; absent: recorded before plexsync kept it).
 */
export const syncedState = (
  scene: { readonly id: SceneId; readonly updatedAt: string },
  options: { readonly related?: RelatedIds; readonly syncedAt?: number } = {}
) =>
  new SceneSyncState({
    sceneId: scene.id,
    stashUpdatedAt: scene.updatedAt,
    contentHash: "h",
    ratingKey: null,
    plexFile: null,
    imageHash: null,
    written: { scalars: {}, rating: null, genres: [], actors: [], collections: [] },
    syncedAt: options.syncedAt ?? 0,
    ...(options.related === undefined ? {} : { related: options.related })
  })
