import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { DeadLetterSummary } from "@plexsync/domain/DeadLetterQueue"
import type { SceneId } from "@plexsync/domain/Ids"
import type { PathMap } from "@plexsync/domain/PathMap"
import { mapPath, pathKey } from "@plexsync/domain/PathMap"
import { StashClient } from "@plexsync/domain/StashClient"
import type { StashScene } from "@plexsync/domain/StashScene"
import type { SyncJob } from "@plexsync/domain/SyncJob"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { SceneSyncState } from "@plexsync/domain/SyncState"
import { SyncState } from "@plexsync/domain/SyncState"
import { Effect, Either, Option } from "effect"
import { decodeSceneIds } from "./Commands.js"
import { deadLetterDocument, jobDocument, syncStateDocument } from "./Documents.js"
import { formatTime } from "./Present.js"

/**
 * "Why is this scene not in Plex?": what plexsync knows of one scene, in one document — the last sync and the hash
 * it wrote, its job and that job's last error, its dead-letter entries, and the Plex item it matched and how. Stash
 * is asked for the scene's files (to tell a match by path from one by content); Stash being down leaves that part
 * out, not the rest.
 */

const deadLetterPage = 20

/** How the recorded Plex item was matched: through one of the scene's own (mapped) paths, or by content. */
const matchedBy = (pathMap: PathMap, state: SceneSyncState, scene: Option.Option<StashScene>) => {
  if (state.plexFile === null || Option.isNone(scene)) return null
  const plexKey = pathKey(state.plexFile)
  return scene.value.files.some((f) => pathKey(mapPath(pathMap, f.path).path) === plexKey)
    ? "path"
    : "content"
}

/** One sentence: where the scene stands, and what a person can do about it. */
const summarize = (input: {
  readonly sceneId: SceneId
  readonly stash: Either.Either<Option.Option<StashScene>, string>
  readonly lastSync: Option.Option<SceneSyncState>
  readonly jobs: ReadonlyArray<SyncJob>
  readonly openEntry: DeadLetterSummary | undefined
}): string => {
  const { jobs, lastSync, openEntry, sceneId, stash } = input
  if (Either.isRight(stash) && Option.isNone(stash.right)) return `Stash has no scene ${sceneId}.`
  const running = jobs.find((j) => j.state === "running")
  if (running !== undefined) return "It is being synced now."
  const queued = jobs.find((j) => j.state === "queued")
  if (queued !== undefined) {
    if (queued.heldSince !== null) {
      return `It is queued and held while a server is down (since ${formatTime(queued.heldSince)}).`
    }
    return queued.lastError === null
      ? `It is queued, due ${formatTime(queued.availableAt)}.`
      : `It is queued to be tried again at ${formatTime(queued.availableAt)}; the last attempt failed: ${
        queued.lastErrorTag ?? "error"
      }: ${queued.lastError}`
  }
  if (openEntry !== undefined) {
    return `Its last sync failed for good (${openEntry.errorTag}: ${openEntry.message}); fix the cause, then retry ` +
      `DLQ entry ${openEntry.id}.`
  }
  if (Option.isNone(lastSync)) return "It was never synced and is not queued: sync it."
  const state = lastSync.value
  return state.ratingKey === null
    ? `It was synced at ${formatTime(state.syncedAt)}, but its Plex item is no longer known: sync it again.`
    : `It was synced at ${formatTime(state.syncedAt)} to Plex item ${state.ratingKey}.`
}

export const sceneDocument = Effect.fn("SceneReport.sceneDocument")(function*(rawId: string, pathMap: PathMap) {
  const [sceneId] = yield* decodeSceneIds([rawId])
  const syncState = yield* SyncState
  const queue = yield* SyncQueue
  const dlq = yield* DeadLetterQueue
  const stashClient = yield* StashClient
  const [lastSync, jobs, dead, stash] = yield* Effect.all([
    syncState.get(sceneId!),
    queue.forScene(sceneId!),
    dlq.list({ sceneId: sceneId!, limit: deadLetterPage }),
    stashClient.findScene(sceneId!).pipe(
      Effect.map(Either.right),
      Effect.catchAll((e) => Effect.succeed(Either.left<string>(e.message)))
    )
  ], { concurrency: "unbounded" })
  const entries = [...dead.entries].sort((a, b) => b.failedAt - a.failedAt)
  const openEntry = entries.find((e) => e.recoveredAt === null && e.resolvedAt === null)
  const scene = Either.getOrElse(stash, () => Option.none<StashScene>())
  return {
    sceneId,
    summary: summarize({ sceneId: sceneId!, stash, lastSync, jobs, openEntry }),
    stash: Either.match(stash, {
      onLeft: (error) => ({ found: null, error, updatedAt: null, title: null, files: [] }),
      onRight: (found) =>
        Option.match(found, {
          onNone: () => ({ found: false, error: null, updatedAt: null, title: null, files: [] }),
          onSome: (s) => ({
            found: true,
            error: null,
            updatedAt: s.updatedAt,
            title: s.title,
            files: s.files.map((f) => ({ path: f.path, plexPath: mapPath(pathMap, f.path).path }))
          })
        })
    }),
    lastSync: Option.getOrNull(Option.map(lastSync, syncStateDocument)),
    /** The synced version is the current one when Stash's `updated_at` is the one last synced. */
    upToDate: Option.isSome(lastSync) && Option.isSome(scene) &&
      scene.value.updatedAt === lastSync.value.stashUpdatedAt,
    plex: Option.getOrNull(Option.map(lastSync, (state) => ({
      ratingKey: state.ratingKey,
      copies: state.copies,
      plexFile: state.plexFile,
      matchedBy: matchedBy(pathMap, state, scene)
    }))),
    jobs: jobs.map(jobDocument),
    deadLetters: entries.map(deadLetterDocument)
  }
})
