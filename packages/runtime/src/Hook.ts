import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Effect } from "effect"
import type { PluginReply, PluginRequest } from "./HookInput.js"
import { destroyedText, ignoredText, queuedText } from "./HookMessages.js"

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

/** Hooks of other types (a manifest edited by hand) are acknowledged and ignored. */
export const ignoredHook = (type: string): PluginReply => ({ output: ignoredText(type) })
