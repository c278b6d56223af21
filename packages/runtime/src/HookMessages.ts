/**
 * What a Stash scene hook answers, shared by the hook's fast path and its Effect path so both say the same.
 */

export const destroyedText = (sceneId: string): string => `scene ${sceneId} was deleted in Stash: nothing to sync`

export const queuedText = (
  options: { readonly sceneId: string; readonly jobId: number; readonly coalesced: boolean; readonly fromScan: boolean }
): string => {
  const origin = options.fromScan ? " (from a scan)" : ""
  return options.coalesced
    ? `scene ${options.sceneId} was already queued (job ${options.jobId}); this change${origin} is included`
    : `queued scene ${options.sceneId} for Plex (job ${options.jobId})${origin}`
}

export const ignoredText = (type: string): string => `plexsync ignores ${type} hooks`
