import { Effect } from "effect"
import type { SceneId } from "./Ids.js"
import type { LibraryChange } from "./PlexEvents.js"
import type { StoreError } from "./StoreError.js"
import type { SyncQueueService } from "./SyncQueue.js"

/**
 * The jobs waiting for Plex to scan their file in (`PlexNotFound`), by library, for one worker run: when Plex's event
 * stream says a scan of a library ended or an item was added there, that library's waiting jobs become due at once
 * instead of waiting out their backoff (30 s – 10 min). Each such early run spends an attempt as any retry does.
 *
 * Jobs that failed before this run started (another process, an earlier run) are not known here: the first change
 * makes every `PlexNotFound` job due once, and those that fail again are known from then on. A change whose library
 * the event does not name makes every `PlexNotFound` job due. A change that arrives while a job of its library is
 * running (its lookup may have just missed the new item) makes that job due as soon as it settles.
 */
export interface ScanWaits {
  /**
   * A job failed as `PlexNotFound` and waits for a scan of `sections` (the libraries holding its file; empty: none
   * does, and no scan brings it in). `startMark`: `mark()` when its run began. Makes it due at once when one of its
   * libraries changed since.
   */
  readonly waiting: (
    sceneId: SceneId,
    sections: ReadonlyArray<string>,
    startMark: number
  ) => Effect.Effect<void, StoreError>
  /** Where the changes are now: taken when a job starts, to tell the changes that arrived while it ran. */
  readonly mark: () => number
  /** The scene's job settled otherwise (synced, another error, dropped): it waits for no scan. */
  readonly settled: (sceneId: SceneId) => void
  /** Makes the jobs waiting on the change's library due; returns how many became due. */
  readonly changed: (change: LibraryChange) => Effect.Effect<number, StoreError>
  /** How many scenes wait for a scan (for tests and status). */
  readonly size: () => number
}

const notFound = ["PlexNotFound"] as const

export const makeScanWaits = (queue: SyncQueueService): ScanWaits => {
  const sectionsOf = new Map<SceneId, ReadonlyArray<string>>()
  const bySection = new Map<string, Set<SceneId>>()
  /** Each library's last change, numbered in arrival order; `null` key: a change without a library. */
  const changedAt = new Map<string | null, number>()
  let changes = 0
  let unknownMayWait = true

  const settled = (sceneId: SceneId) => {
    for (const section of sectionsOf.get(sceneId) ?? []) {
      const scenes = bySection.get(section)
      scenes?.delete(sceneId)
      if (scenes?.size === 0) bySection.delete(section)
    }
    sectionsOf.delete(sceneId)
  }

  const waiting = (sceneId: SceneId, sections: ReadonlyArray<string>, startMark: number) =>
    Effect.gen(function*() {
      settled(sceneId)
      if (sections.length === 0) return
      sectionsOf.set(sceneId, sections)
      for (const section of sections) {
        const scenes = bySection.get(section) ?? new Set()
        scenes.add(sceneId)
        bySection.set(section, scenes)
      }
      const missed = [null, ...sections].some((key) => (changedAt.get(key) ?? 0) > startMark)
      if (missed) yield* queue.makeDue({ errorTags: notFound, sceneIds: [sceneId] })
    })

  const changed = (change: LibraryChange) =>
    Effect.gen(function*() {
      if (change._tag === "ScanStarted") return 0
      changedAt.set(change.sectionKey, ++changes)
      if (unknownMayWait || change.sectionKey === null) {
        unknownMayWait = false
        return yield* queue.makeDue({ errorTags: notFound })
      }
      const scenes = bySection.get(change.sectionKey)
      if (scenes === undefined) return 0
      return yield* queue.makeDue({ errorTags: notFound, sceneIds: [...scenes] })
    })

  return { waiting, settled, changed, mark: () => changes, size: () => sectionsOf.size }
}
