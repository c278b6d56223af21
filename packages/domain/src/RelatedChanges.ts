import { Effect } from "effect"
import type { StashError } from "./Errors.js"
import type { SceneId } from "./Ids.js"
import type { ObjectEvent } from "./ObjectEvents.js"
import { ObjectEvents } from "./ObjectEvents.js"
import type { RelatedKind } from "./RelatedObjects.js"
import { changedReason, deletedReason, KnownObjects, relatedKinds } from "./RelatedObjects.js"
import type { Page } from "./StashClient.js"
import { StashClient } from "./StashClient.js"
import type { StoreError } from "./StoreError.js"
import { SyncQueue } from "./SyncQueue.js"
import { SyncState } from "./SyncState.js"

/**
 * From "this tag (performer, studio, group) changed or disappeared" to the scenes to sync again. Used by the
 * scheduler's change feed (which finds the objects by polling Stash) and by both programs when they expand the
 * events the plugin hooks recorded (`ObjectEvents`): `plexsync run` before it processes the queue, the scheduler
 * at once after its own `POST /hooks/stash` and on every change-feed poll.
 *
 * - Changed: the scenes that use the object in Stash now are queued, `<kind>-changed`.
 * - Deleted: Stash no longer knows which scenes used it (the links cascaded away), so they come from plexsync's
 *   own sync state (what each scene was last synced with), `<kind>-deleted`; the object is forgotten.
 * - A tag merge is both: the destination changed (its scenes now include the sources'), the sources are gone.
 *
 * The queue coalesces (one job per scene however many reasons), so expanding an event twice is harmless: an
 * event is removed only after its scenes are queued.
 */

/** Scenes per enqueue transaction and per Stash request for the scenes of changed objects. */
export const scenePageSize = 1000

/** Queues scenes in transactions of at most `size`; returns how many were handed to the queue. */
const enqueueScenes = (
  sceneIds: ReadonlyArray<SceneId>,
  reason: ReturnType<typeof changedReason> | ReturnType<typeof deletedReason>,
  size: number
) =>
  Effect.gen(function*() {
    const queue = yield* SyncQueue
    const unique = Array.from(new Set(sceneIds))
    for (let i = 0; i < unique.length; i += size) {
      yield* queue.enqueueMany(unique.slice(i, i + size).map((sceneId) => ({ sceneId, reason })))
    }
    return unique.length
  })

/**
 * Queues every scene that uses any of `ids` in Stash now, reason `<kind>-changed`: keyset pages of scene ids,
 * each page enqueued in one transaction as it arrives.
 */
export const queueScenesUsing = (
  kind: RelatedKind,
  ids: ReadonlyArray<string>,
  options: { readonly pageSize?: number } = {}
): Effect.Effect<number, StashError | StoreError, StashClient | SyncQueue> =>
  Effect.gen(function*() {
    if (ids.length === 0) return 0
    const stash = yield* StashClient
    const size = Math.max(1, options.pageSize ?? scenePageSize)
    let afterId: SceneId | null = null
    let queued = 0
    for (;;) {
      const page: Page<SceneId> = yield* stash.scenesWithRelated({ kind, ids, afterId, perPage: size })
      queued += yield* enqueueScenes(page.items, changedReason(kind), size)
      const last: SceneId | undefined = page.items[page.items.length - 1]
      if (last === undefined || page.items.length < size || page.count <= page.items.length) break
      afterId = last
    }
    return queued
  })

/**
 * Queues the scenes whose last sync referred to any of `ids` (from plexsync's own sync state: the objects are gone
 * from Stash), reason `<kind>-deleted`, and forgets the objects.
 */
export const queueScenesOfDeleted = (
  kind: RelatedKind,
  ids: ReadonlyArray<string>,
  options: { readonly pageSize?: number } = {}
): Effect.Effect<number, StoreError, SyncState | SyncQueue | KnownObjects> =>
  Effect.gen(function*() {
    if (ids.length === 0) return 0
    const syncState = yield* SyncState
    const known = yield* KnownObjects
    // The scenes whose last sync used the objects, and those synced before plexsync kept what they used (after an
    // upgrade): either may show a deleted object in Plex. The latter record what they use when they sync.
    const [using, unknown] = yield* Effect.all([
      syncState.scenesRelatedTo(kind, ids),
      syncState.scenesWithUnknownRelated
    ])
    const scenes = [...new Set([...using, ...unknown])]
    const queued = yield* enqueueScenes(scenes, deletedReason(kind), Math.max(1, options.pageSize ?? scenePageSize))
    // Only after the jobs committed: a crash before this line finds the objects missing again next poll.
    yield* known.forget(kind, ids)
    return queued
  })

/** An "object changed" event (`Tag.Update.Post`, `Performer.Update.Post`, …). */
export const objectChanged = (event: { readonly kind: RelatedKind; readonly id: string }) =>
  queueScenesUsing(event.kind, [event.id]).pipe(
    Effect.withSpan("RelatedChanges.objectChanged", { attributes: { kind: event.kind, id: event.id } })
  )

/** An "object deleted" event (`Tag.Destroy.Post`, …): its scenes come from sync state. */
export const objectDeleted = (event: { readonly kind: RelatedKind; readonly id: string }) =>
  queueScenesOfDeleted(event.kind, [event.id]).pipe(
    Effect.withSpan("RelatedChanges.objectDeleted", { attributes: { kind: event.kind, id: event.id } })
  )

/** `Tag.Merge.Post` (`input: { source, destination }`): the destination changed, the sources are gone. */
export const tagsMerged = (event: { readonly source: ReadonlyArray<string>; readonly destination: string }) =>
  Effect.gen(function*() {
    const sources = event.source.filter((id) => id !== event.destination)
    const changed = yield* queueScenesUsing("tag", [event.destination])
    const deleted = yield* queueScenesOfDeleted("tag", sources)
    return changed + deleted
  }).pipe(Effect.withSpan("RelatedChanges.tagsMerged"))

// ---------------------------------------------------------------------------------------------------------------
// Draining the events the hooks recorded

/** Events read (and expanded together) at a time. */
export const eventBatchSize = 200

export interface EventDrainResult {
  /** Events expanded and removed. */
  readonly expanded: number
  /** Scenes handed to the queue (a scene counted once per kind and change it was queued for). */
  readonly queued: number
  /** Rows that did not decode, removed (the change feed catches what they meant). */
  readonly unreadable: number
}

/** Per kind, the ids that changed and the ids that are gone, over a batch of events (duplicates merged). */
export const groupEvents = (events: ReadonlyArray<ObjectEvent>) => {
  const changed = new Map<RelatedKind, Set<string>>(relatedKinds.map((kind) => [kind, new Set()]))
  const deleted = new Map<RelatedKind, Set<string>>(relatedKinds.map((kind) => [kind, new Set()]))
  for (const event of events) {
    const target = event.change === "changed" ? changed : deleted
    target.get(event.kind)!.add(event.objectId)
    for (const source of event.mergedFrom) {
      if (source !== event.objectId) deleted.get(event.kind)!.add(source)
    }
  }
  return relatedKinds.map((kind) => ({
    kind,
    changed: [...changed.get(kind)!],
    deleted: [...deleted.get(kind)!]
  }))
}

/**
 * Expands every recorded object event into scene jobs, oldest first, a batch at a time: the batch's scenes are
 * queued, then its events removed (a crash in between expands them again; the queue coalesces). A Stash failure
 * stops the drain with the batch left for the next try.
 */
export const drainObjectEvents = (
  options: { readonly batchSize?: number } = {}
): Effect.Effect<
  EventDrainResult,
  StashError | StoreError,
  ObjectEvents | StashClient | SyncQueue | SyncState | KnownObjects
> =>
  Effect.gen(function*() {
    const store = yield* ObjectEvents
    const size = Math.max(1, options.batchSize ?? eventBatchSize)
    let expanded = 0
    let queued = 0
    let unreadable = 0
    for (;;) {
      const batch = yield* store.pending(size)
      if (batch.unreadable.length > 0) {
        yield* Effect.logWarning(
          `${batch.unreadable.length} recorded Stash object event(s) could not be read and were dropped ` +
            `(ids ${batch.unreadable.slice(0, 20).join(", ")}); the change feed picks up what they meant`
        )
        yield* store.remove(batch.unreadable)
        unreadable += batch.unreadable.length
      }
      if (batch.events.length === 0) {
        if (batch.unreadable.length === 0) break
        continue
      }
      for (const group of groupEvents(batch.events)) {
        queued += yield* queueScenesUsing(group.kind, group.changed)
        queued += yield* queueScenesOfDeleted(group.kind, group.deleted)
      }
      // Only after the jobs committed.
      yield* store.remove(batch.events.map((event) => event.id))
      expanded += batch.events.length
      if (batch.events.length + batch.unreadable.length < size) break
    }
    if (expanded > 0) {
      yield* Effect.logInfo(
        `queued ${queued} scene(s) for ${expanded} tag, performer, studio or group change(s) recorded by hooks`
      )
    }
    return { expanded, queued, unreadable } satisfies EventDrainResult
  }).pipe(Effect.withSpan("RelatedChanges.drainObjectEvents"))
