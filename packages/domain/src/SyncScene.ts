import { Clock, Effect, Option, Ref } from "effect"
import type { MatchAmbiguous, PlexError, StashError } from "./Errors.js"
import { PlexNotFound, SceneMissing } from "./Errors.js"
import { diffFields } from "./FieldDiff.js"
import type { SyncField } from "./FieldMapping.js"
import { contentHash, imageHash, wantedFields } from "./FieldMapping.js"
import type { SceneId } from "./Ids.js"
import type { MatchedVia, Matcher, MatchFile } from "./Matching.js"
import type { PathMap } from "./PathMap.js"
import { mapPath, pathKey } from "./PathMap.js"
import { PlexClient } from "./PlexClient.js"
import type { PlexItem } from "./PlexClient.js"
import { relatedIdsOf } from "./RelatedObjects.js"
import { StashClient } from "./StashClient.js"
import type { StoreError } from "./StoreError.js"
import type { JobReason } from "./SyncJob.js"
import { ItemWrite, SceneSyncState, SyncState } from "./SyncState.js"

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
    /** The matched item (the first, where several libraries hold the file). */
    readonly ratingKey: string
    /** Every item written (one per library holding the file). */
    readonly ratingKeys: ReadonlyArray<string>
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
 * A namesake matched by content that another scene holds — written for it, which still exists in Stash and still
 * counts the item as its own — is not this scene's to take: two scenes with files alike would otherwise take turns
 * writing one item. The scene waits for Plex to scan its own file.
 */
const refuseClaimed = (sceneId: SceneId, items: ReadonlyArray<PlexItem>, before: ReadonlyMap<string, ItemWrite>) =>
  Effect.gen(function*() {
    const others = [...new Set([...before.values()].map((write) => write.sceneId))].filter((id) => id !== sceneId)
    if (others.length === 0) return
    const stash = yield* StashClient
    const syncState = yield* SyncState
    const existing = yield* stash.existingSceneIds(others)
    if (existing.size === 0) return
    const keys = new Set(items.map((item) => item.ratingKey))
    const holder = (yield* syncState.getMany([...existing])).find((state) =>
      [state.ratingKey, ...state.copies].some((key) => key !== null && keys.has(key))
    )
    if (holder === undefined) return
    return yield* new PlexNotFound({
      message: `The Plex item with this file's name, size and duration (${[...keys].join(", ")}) is scene ` +
        `${holder.sceneId}'s; scene ${sceneId} waits for Plex to scan its own file`
    })
  })

/**
 * Syncs one scene. The scene is read fresh from Stash (a job carries no snapshot). A scene unchanged on both sides
 * — the same content hash as the last sync, and matched then through one of its own files — makes no Plex request
 * at all. Otherwise its files are mapped and matched (see `Matching`), and each item holding the file (one per
 * library) gets the difference from what plexsync last wrote *to that item*, whichever scene it was written for:
 * one locked edit plus a rating call, the poster only when its bytes changed (the first write alone until a write
 * was accepted: a refused write ends the job). Only after all of that succeeded is the sync recorded, so a failure
 * half way is retried in full next time.
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

  const files: ReadonlyArray<MatchFile> = scene.files.map((file) => ({
    stashPath: file.path,
    plexPath: mapPath(settings.pathMap, file.path).path,
    size: file.size,
    duration: file.duration
  }))
  const primary = files[0]
  if (primary === undefined) {
    return yield* new PlexNotFound({ message: `Scene ${scene.id} has no file in Stash, so no Plex item can match it` })
  }
  const wanted = wantedFields(scene, { fields: settings.fields })
  const hash = contentHash(wanted, { plexFile: primary.plexPath, preservePlexEdits: settings.preservePlexEdits })

  // Matched last time through one of its own paths (not a namesake's, not forgotten): Plex is as it was left.
  const matchedOwnFile = previous !== null && previous.ratingKey !== null && previous.plexFile !== null &&
    files.some((file) => pathKey(file.plexPath) === pathKey(previous.plexFile!))
  if (previous !== null && previous.contentHash === hash && matchedOwnFile && !verifyingReasons.has(job.reason)) {
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
      sceneId: scene.id,
      files,
      fresh: verifyingReasons.has(job.reason),
      remembered: previous?.ratingKey
        ? { ratingKeys: [previous.ratingKey, ...previous.copies], plexFile: previous.plexFile }
        : null
    }),
    typeof wanted.poster === "string" ? stash.screenshot(scene) : Effect.succeedNone
  ], { concurrency: 2 })
  // What plexsync wrote belongs to the item: a re-added item starts afresh, and an item written for another scene
  // (deleted in Stash and created again for the same file) loses what was written for that one.
  const before = yield* syncState.writtenOn(match.items.map((item) => item.ratingKey))
  if (match.via === "content") yield* refuseClaimed(scene.id, match.items, before)
  const plans = match.items.map((item) => {
    const prior = before.get(item.ratingKey)
    const diff = diffFields(wanted, item, prior?.written ?? null, { preservePlexEdits: settings.preservePlexEdits })
    const previousPoster = prior?.imageHash ?? null
    const posterHash = Option.isSome(image) ? imageHash(image.value.bytes) : previousPoster
    const posterUploaded = Option.isSome(image) && posterHash !== previousPoster
    return { item, prior, diff, posterHash, posterUploaded }
  })
  for (const { item, prior } of plans) {
    if (prior !== undefined && prior.sceneId !== scene.id) {
      yield* Effect.logInfo(
        `Plex item ${item.ratingKey} was written for scene ${prior.sceneId}; it is scene ${scene.id}'s file now, ` +
          `so what plexsync wrote for scene ${prior.sceneId} goes where scene ${scene.id} does not have it`
      )
    }
  }
  // The edit, the rating and the poster touch different parts of an item and go out together — once Plex has taken
  // a write with this token. Before that the first goes out alone: refused (401, or a shared user's token's 403),
  // it ends the job before the rest is sent, so a token that may not write costs one refused request per job, not
  // three. The sync is recorded only when all of them succeeded.
  const writes = plans.flatMap(({ diff, item, posterUploaded }) =>
    [
      diff.edit === null ? null : plex.edit(item, diff.edit),
      diff.rating === null ? null : plex.rate(item.ratingKey, diff.rating.value),
      posterUploaded && Option.isSome(image) ? plex.uploadPoster(item.ratingKey, image.value) : null
    ].filter((write) => write !== null)
  )
  const proven = settings.writesAccepted === undefined ? false : yield* Ref.get(settings.writesAccepted)
  if (!proven && writes.length > 0) yield* writes[0]!
  yield* Effect.all(proven ? writes : writes.slice(1), { concurrency: "unbounded", discard: true })
  if (!proven && writes.length > 0 && settings.writesAccepted !== undefined) {
    yield* Ref.set(settings.writesAccepted, true)
  }

  const now = yield* Clock.currentTimeMillis
  const first = plans[0]!
  yield* syncState.record(
    new SceneSyncState({
      sceneId: scene.id,
      stashUpdatedAt: scene.updatedAt,
      contentHash: hash,
      ratingKey: first.item.ratingKey,
      copies: plans.slice(1).map(({ item }) => item.ratingKey),
      plexFile: match.plexFile,
      imageHash: first.posterHash,
      written: first.diff.written,
      syncedAt: now,
      related: relatedIdsOf(scene)
    }),
    plans.map(({ diff, item, posterHash }) =>
      new ItemWrite({
        ratingKey: item.ratingKey,
        sceneId: scene.id,
        written: diff.written,
        imageHash: posterHash,
        writtenAt: now
      })
    )
  )

  const preserved = [...new Set(plans.flatMap(({ diff }) => diff.preserved))]
  if (preserved.length > 0) {
    const keys = plans.filter(({ diff }) => diff.preserved.length > 0).map(({ item }) => item.ratingKey)
    yield* Effect.logInfo(`Kept Plex's own ${preserved.join(", ")} of item ${keys.join(", ")} (preserve mode)`)
  }
  const edited = plans.some(({ diff }) => diff.edit !== null)
  const rated = plans.some(({ diff }) => diff.rating !== null)
  const posterUploaded = plans.some(({ posterUploaded }) => posterUploaded)
  const outcome: SyncOutcome = edited || rated || posterUploaded
    ? {
      _tag: "Synced",
      ratingKey: first.item.ratingKey,
      ratingKeys: plans.map(({ item }) => item.ratingKey),
      via: match.via,
      edited,
      rated,
      posterUploaded,
      preserved
    }
    : { _tag: "Unchanged", checkedPlex: true }
  return outcome
})
