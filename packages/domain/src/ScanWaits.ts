import { Clock, Effect } from "effect"
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
 *
 * Several scans of a library may be in flight at once (each job asks for its own file's folder). The end of one
 * while others are still in flight concerns only the jobs whose run began before that scan started: a job begun
 * since waits for the end of a later scan, instead of running (and missing) once per scan that ended without its
 * file while it held one of the worker's slots. An item added while a scan of its library is in flight waits for
 * that scan's end in the same way. The last scan's end concerns every waiting job of the library.
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

/** A scan announced as started but never as ended stops counting as in flight after this. */
const scanMaxMs = 600_000

export const makeScanWaits = (queue: SyncQueueService): ScanWaits => {
  const sectionsOf = new Map<SceneId, ReadonlyArray<string>>()
  /** `mark()` when each waiting scene's last run began. */
  const startedAt = new Map<SceneId, number>()
  const bySection = new Map<string, Set<SceneId>>()
  /**
   * Each library's latest change, as the mark a job's run must have begun before for the change to concern it (the
   * change's own mark, or the start of the scan that ended); `null` key: a change without a library.
   */
  const changedAt = new Map<string | null, number>()
  /** Scans started and not ended yet, by activity: their library, mark and clock time when they started. */
  const inFlight = new Map<string, { readonly sectionKey: string | null; readonly mark: number; readonly at: number }>()
  let changes = 0
  let unknownMayWait = true

  const settled = (sceneId: SceneId) => {
    for (const section of sectionsOf.get(sceneId) ?? []) {
      const scenes = bySection.get(section)
      scenes?.delete(sceneId)
      if (scenes?.size === 0) bySection.delete(section)
    }
    sectionsOf.delete(sceneId)
    startedAt.delete(sceneId)
  }

  const waiting = (sceneId: SceneId, sections: ReadonlyArray<string>, startMark: number) =>
    Effect.gen(function*() {
      settled(sceneId)
      if (sections.length === 0) return
      sectionsOf.set(sceneId, sections)
      startedAt.set(sceneId, startMark)
      for (const section of sections) {
        const scenes = bySection.get(section) ?? new Set()
        scenes.add(sceneId)
        bySection.set(section, scenes)
      }
      const missed = [null, ...sections].some((key) => (changedAt.get(key) ?? 0) > startMark)
      if (missed) yield* queue.makeDue({ errorTags: notFound, sceneIds: [sceneId] })
    })

  /** Scans of the library still in flight (a scan of an unnamed library counts for every library). */
  const scanning = (sectionKey: string | null, now: number) => {
    for (const [activity, scan] of inFlight) {
      if (now - scan.at > scanMaxMs) inFlight.delete(activity)
    }
    return [...inFlight.values()].some((scan) =>
      sectionKey === null || scan.sectionKey === null || scan.sectionKey === sectionKey
    )
  }

  const changed = (change: LibraryChange) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const mark = ++changes
      if (change._tag === "ScanStarted") {
        inFlight.set(change.activity, { sectionKey: change.sectionKey, mark, at: now })
        return 0
      }
      // Which runs the change concerns: those begun before it, or for a scan that ended while others of the
      // library are still in flight, those begun before that scan started (a job begun since asked for a scan of
      // its own, or was not asked because one was in flight; the last scan's end makes every waiting job due).
      let since = mark
      if (change._tag === "ScanEnded") {
        const scan = inFlight.get(change.activity)
        inFlight.delete(change.activity)
        if (scan !== undefined && scanning(change.sectionKey, now)) since = scan.mark
      } else if (scanning(change.sectionKey, now)) {
        // An item added during a scan: the scan's end follows, and tells which waiting jobs it concerns.
        return 0
      }
      changedAt.set(change.sectionKey, Math.max(changedAt.get(change.sectionKey) ?? 0, since))
      if (unknownMayWait || change.sectionKey === null) {
        unknownMayWait = false
        return yield* queue.makeDue({ errorTags: notFound })
      }
      const scenes = [...bySection.get(change.sectionKey) ?? []].filter((scene) => (startedAt.get(scene) ?? 0) < since)
      if (scenes.length === 0) return 0
      return yield* queue.makeDue({ errorTags: notFound, sceneIds: scenes })
    })

  return { waiting, settled, changed, mark: () => changes, size: () => sectionsOf.size }
}
