import { ObjectEvents } from "@plexsync/domain/ObjectEvents"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Effect } from "effect"
import type { PluginReply, PluginRequest } from "./HookInput.js"
import { destroyedText, ignoredText, objectCreatedText, objectRecordedText, queuedText } from "./HookMessages.js"

/**
 * What a Stash scene hook does: it only records the event in the queue and answers. Stash waits for the
 * hook inside the save, so nothing here talks to Stash or Plex; the worker fetches the scene fresh later.
 *
 * - `Scene.Create.Post` / `Scene.Update.Post`, from an edit or from a scan (`input: null`): queue the scene
 *   (`reason = hook`), coalescing with a job already queued for it.
 * - `Scene.Destroy.Post`: nothing is queued. The scene is gone, so a job could only fetch nothing and be
 *   dropped; a job already queued for it is dropped as `SceneMissing` when it runs. Plex removes the item
 *   itself when its file disappears on the next scan.
 *
 * Used by `plexsync hook` and by the scheduler's `POST /hooks/stash`.
 */
export const recordSceneHook = Effect.fn("Hook.recordSceneHook")(function*(
  request: Extract<PluginRequest, { readonly _tag: "SceneHook" }>
) {
  const { sceneId, type } = request
  if (type === "Scene.Destroy.Post") {
    yield* Effect.logInfo(destroyedText(sceneId))
    return { output: destroyedText(sceneId) } satisfies PluginReply
  }
  const queue = yield* SyncQueue
  const result = yield* queue.enqueue({ sceneId, reason: "hook" })
  const text = queuedText({ sceneId, jobId: result.jobId, coalesced: result.coalesced, fromScan: request.fromScan })
  yield* Effect.logInfo(text)
  return { output: text } satisfies PluginReply
})

/**
 * What a tag, performer, studio or group hook does: it records the event (`ObjectEvents`) and answers. Its scenes
 * are found and queued later (`RelatedChanges.drainObjectEvents`): that means asking Stash, which is waiting for
 * this hook.
 *
 * - `<Type>.Update.Post`: recorded as changed (the scenes that use it in Stash are queued).
 * - `<Type>.Destroy.Post`: recorded as deleted (the scenes last synced with it are queued).
 * - `Tag.Merge.Post`: the destination recorded as changed, with the sources (gone) in the same event.
 * - `<Type>.Create.Post`: nothing to do, no scene uses a new object yet.
 *
 * Used by `plexsync hook` and by the scheduler's `POST /hooks/stash`. Returns the event's id when one was recorded.
 */
export const recordObjectHook = Effect.fn("Hook.recordObjectHook")(function*(
  request: Extract<PluginRequest, { readonly _tag: "ObjectHook" }>
) {
  const { action, kind, mergedFrom, objectId } = request
  if (action === "created") return { reply: yield* createdObjectHook(request), eventId: null as number | null }
  const events = yield* ObjectEvents
  const { eventId } = yield* events.record({
    kind,
    objectId,
    change: action === "deleted" ? "deleted" : "changed",
    mergedFrom
  })
  const text = objectRecordedText({ kind, objectId, action, mergedFrom, eventId })
  yield* Effect.logInfo(text)
  return { reply: { output: text } satisfies PluginReply, eventId: eventId as number | null }
})

/** `<Type>.Create.Post`: acknowledged; it needs no store (no scene uses a new object yet). */
export const createdObjectHook = (request: Extract<PluginRequest, { readonly _tag: "ObjectHook" }>) =>
  Effect.gen(function*() {
    const text = objectCreatedText(request.kind, request.objectId)
    yield* Effect.logInfo(text)
    return { output: text } satisfies PluginReply
  })

/** Hooks of other types (a manifest edited by hand) are acknowledged and ignored. */
export const ignoredHook = (type: string): PluginReply => ({ output: ignoredText(type) })
