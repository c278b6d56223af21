import { Clock, Effect, Option, Ref } from "effect"
import type { MatchAmbiguous, PlexError, StashError } from "./Errors.js"
import { PlexNotFound, SceneMissing } from "./Errors.js"
import { diffFields } from "./FieldDiff.js"
import type { SyncField } from "./FieldMapping.js"
import { contentHash, imageHash, wantedFields } from "./FieldMapping.js"
import type { SceneId } from "./Ids.js"
import type { MatchedVia, Matcher } from "./Matching.js"
import type { PathMap } from "./PathMap.js"
import { mapPath } from "./PathMap.js"
import { PlexClient } from "./PlexClient.js"
import { relatedIdsOf } from "./RelatedObjects.js"
import { StashClient } from "./StashClient.js"
import type { StoreError } from "./StoreError.js"
import type { JobReason } from "./SyncJob.js"
import { SceneSyncState, SyncState } from "./SyncState.js"

export interface SyncSettings {
  readonly fields: ReadonlySet<SyncField>
  readonly preservePlexEdits: boolean
  readonly pathMap: PathMap
  /**
   * Set once Plex has taken a write with this token (a worker's life): from then on a job's writes go out together.
   * Until then, and without it, a job's first write goes out alone, so a token that may not write is refused once.
   */
  readonly writesAccepted?: Ref.Ref<boolean>
}

/**
 * Reasons that compare with Plex even when the scene is unchanged since the last sync: a reconciliation found
 * Plex differing, or a person asked. The diff still sends nothing when Plex already matches.
 */
const verifyingReasons: ReadonlySet<JobReason> = new Set(["reconcile", "manual"])

export type SyncOutcome =
  /** Something was written to Plex. */
  | {
    readonly _tag: "Synced"
    readonly ratingKey: string
    readonly via: MatchedVia
    readonly edited: boolean
    readonly rated: boolean
    readonly posterUploaded: boolean
    /** Fields left as a person set them in Plex (preserve mode). */
    readonly preserved: ReadonlyArray<string>
  }
  /** Nothing to write. `checkedPlex`: Plex was read and already matched; otherwise the scene was unchanged. */
  | { readonly _tag: "Unchanged"; readonly checkedPlex: boolean }

export type SyncSceneError = PlexError | StashError | PlexNotFound | MatchAmbiguous | SceneMissing | StoreError

/**
 * Syncs one scene. The scene is read fresh from Stash (a job carries no snapshot); an unchanged scene (same
 * content hash as the last sync) makes no Plex request at all. Otherwise the file is mapped and matched, the
 * difference goes out as one locked edit plus a rating call, the poster only when its bytes changed (the first
 * of them alone: a refused write ends the job) — and only after all of that succeeded is the sync recorded, so a
 * failure half way is retried in full next time.
 */
export const syncScene = Effect.fn("SyncScene.sync")(function*(
  job: { readonly sceneId: SceneId; readonly reason: JobReason },
  matcher: Matcher,
  settings: SyncSettings
) {
  const stash = yield* StashClient
  const plex = yield* PlexClient
  const syncState = yield* SyncState

  const found = yield* stash.findScene(job.sceneId)
  if (Option.isNone(found)) {
    return yield* new SceneMissing({ message: `Scene ${job.sceneId} no longer exists in Stash`, sceneId: job.sceneId })
  }
  const scene = found.value
  const previous = Option.getOrNull(yield* syncState.get(scene.id))

  const stashFile = scene.files[0]
  if (stashFile === undefined) {
    return yield* new PlexNotFound({ message: `Scene ${scene.id} has no file in Stash, so no Plex item can match it` })
  }
  const plexPath = mapPath(settings.pathMap, stashFile).path
  const wanted = wantedFields(scene, { fields: settings.fields })
  const hash = contentHash(wanted, { plexFile: plexPath, preservePlexEdits: settings.preservePlexEdits })

  if (previous !== null && previous.contentHash === hash && !verifyingReasons.has(job.reason)) {
    if (previous.stashUpdatedAt !== scene.updatedAt || previous.related === undefined) {
      // Changed in Stash in a way Plex does not show (a play count): remember the version, write nothing to Plex.
      // A state recorded before plexsync kept the related objects gains them here.
      yield* syncState.put(
        new SceneSyncState({ ...previous, stashUpdatedAt: scene.updatedAt, related: relatedIdsOf(scene) })
      )
    }
    return { _tag: "Unchanged", checkedPlex: false } satisfies SyncOutcome as SyncOutcome
  }

  // The cover comes from Stash while Plex is searched: two servers, so the job waits for the slower only.
  const [match, image] = yield* Effect.all([
    matcher.match({
      plexPath,
      remembered: previous?.ratingKey ? { ratingKey: previous.ratingKey, plexFile: previous.plexFile } : null
    }),
    typeof wanted.poster === "string" ? stash.screenshot(scene) : Effect.succeedNone
  ], { concurrency: 2 })
  const item = match.item
  // What plexsync wrote applies to the item it wrote it to; a re-added item starts afresh.
  const sameItem = previous !== null && previous.ratingKey === item.ratingKey
  const diff = diffFields(wanted, item, sameItem ? previous.written : null, {
    preservePlexEdits: settings.preservePlexEdits
  })

  const previousPoster = sameItem ? previous.imageHash : null
  const posterHash = Option.isSome(image) ? imageHash(image.value.bytes) : previousPoster
  const posterUploaded = Option.isSome(image) && posterHash !== previousPoster
  // The edit, the rating and the poster touch different parts of the item and go out together — once Plex has
  // taken a write with this token. Before that the first goes out alone: refused (401, or a shared user's token's
  // 403), it ends the job before the rest is sent, so a token that may not write costs one refused request per job,
  // not three. The sync is recorded only when all of them succeeded.
  const writes = [
    diff.edit === null ? null : plex.edit(item, diff.edit),
    diff.rating === null ? null : plex.rate(item.ratingKey, diff.rating.value),
    posterUploaded && Option.isSome(image) ? plex.uploadPoster(item.ratingKey, image.value) : null
  ].filter((write) => write !== null)
  const proven = settings.writesAccepted === undefined ? false : yield* Ref.get(settings.writesAccepted)
  if (!proven && writes.length > 0) yield* writes[0]!
  yield* Effect.all(proven ? writes : writes.slice(1), { concurrency: "unbounded", discard: true })
  if (!proven && writes.length > 0 && settings.writesAccepted !== undefined) {
    yield* Ref.set(settings.writesAccepted, true)
  }

  yield* syncState.put(
    new SceneSyncState({
      sceneId: scene.id,
      stashUpdatedAt: scene.updatedAt,
      contentHash: hash,
      ratingKey: item.ratingKey,
      plexFile: plexPath,
      imageHash: posterHash,
      written: diff.written,
      syncedAt: yield* Clock.currentTimeMillis,
      related: relatedIdsOf(scene)
    })
  )

  if (diff.preserved.length > 0) {
    yield* Effect.logInfo(`Kept Plex's own ${diff.preserved.join(", ")} of item ${item.ratingKey} (preserve mode)`)
  }
  const wrote = diff.edit !== null || diff.rating !== null || posterUploaded
  const outcome: SyncOutcome = wrote
    ? {
      _tag: "Synced",
      ratingKey: item.ratingKey,
      via: match.via,
      edited: diff.edit !== null,
      rated: diff.rating !== null,
      posterUploaded,
      preserved: diff.preserved
    }
    : { _tag: "Unchanged", checkedPlex: true }
  return outcome
})
