/**
 * What a Stash hook answers, shared by the hook's fast path and its Effect path (and the scheduler's
 * `POST /hooks/stash`) so all say the same. Dependency-free: the fast path loads it.
 */
import { clipEcho } from "@plexsync/domain/Echo"

export const destroyedText = (sceneId: string): string => `scene ${sceneId} was deleted in Stash: nothing to sync`

export const queuedText = (
  options: { readonly sceneId: string; readonly jobId: number; readonly coalesced: boolean; readonly fromScan: boolean }
): string => {
  const origin = options.fromScan ? " (from a scan)" : ""
  return options.coalesced
    ? `scene ${options.sceneId} was already queued (job ${options.jobId}); this change${origin} is included`
    : `queued scene ${options.sceneId} for Plex (job ${options.jobId})${origin}`
}

export const ignoredText = (type: string): string => `plexsync ignores ${clipEcho(type)} hooks`

/**
 * What a tag, performer, studio or group hook answers (`action` as in `HookTypes.ObjectHookAction`). Finding the
 * object's scenes needs Stash, so the hook only records the event: the scheduler expands it at once (or at its
 * next poll), `plexsync run` before it processes the queue.
 */
export const objectCreatedText = (kind: string, objectId: string): string =>
  `${kind} ${objectId} was created in Stash: no scene uses it yet, nothing to sync`

export const objectRecordedText = (
  options: {
    readonly kind: string
    readonly objectId: string
    readonly action: "changed" | "deleted" | "merged"
    readonly mergedFrom: ReadonlyArray<string>
    readonly eventId: number
  }
): string => {
  const { action, eventId, kind, mergedFrom, objectId } = options
  const what = action === "changed"
    ? `the change of ${kind} ${objectId}`
    : action === "deleted"
    ? `the deletion of ${kind} ${objectId}`
    : `the merge of ${kind}${mergedFrom.length === 1 ? "" : "s"} ${
      mergedFrom.join(", ") || "(none)"
    } into ${kind} ${objectId}`
  const whose = action === "deleted" ? "the scenes that used it" : action === "merged" ? "their scenes" : "its scenes"
  return `recorded ${what} (event ${eventId}); ${whose} will be queued for Plex shortly`
}
