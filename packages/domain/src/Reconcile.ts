import { Clock, Duration, Effect, Either, Fiber } from "effect"
import { DeadLetterQueue } from "./DeadLetterQueue.js"
import { quoteEcho } from "./Echo.js"
import { permanentTags } from "./ErrorPolicy.js"
import type { PlexError, StashError } from "./Errors.js"
import type { SyncField } from "./FieldMapping.js"
import { contentHash, wantedFields } from "./FieldMapping.js"
import type { SceneId } from "./Ids.js"
import { defaultMatchOptions, makeMatcher } from "./Matching.js"
import type { PathMap } from "./PathMap.js"
import { mapPath } from "./PathMap.js"
import type { PlexIndex } from "./PlexIndex.js"
import { buildPlexIndex, listedDifferences } from "./PlexIndex.js"
import { ReconcileLog } from "./ReconcileLog.js"
import { SettingKeys, Settings } from "./Settings.js"
import { StashClient } from "./StashClient.js"
import type { StashScene } from "./StashScene.js"
import type { StoreError } from "./StoreError.js"
import { SyncQueue } from "./SyncQueue.js"
import type { ItemWrite, SceneSyncState } from "./SyncState.js"
import { SyncState } from "./SyncState.js"

/**
 * Reconciliation: compares every scene in scope with its Plex item and queues the scenes that differ.
 *
 * Requests are O(pages): the Plex side is read once per run from paged listings of the configured sections
 * (`PlexIndex`), the Stash side in large pages, and the two are joined in memory by mapped file path. Memory is
 * the compact Plex index plus one Stash page at a time (and the ids queued, which the result lists).
 *
 * Each scene in scope falls in at most one gap class, tested in this order:
 * - `missingInPlex`: no Plex item has the scene's (mapped) file. Reported; queued only with `includeMissing`,
 *   because a sync cannot succeed before Plex scans the file.
 * - `neverSynced`: the file is in Plex but plexsync has no sync state for the scene.
 * - `stashChanged`: the content hash of the fields the scene wants (with the Plex file and the mode) differs from
 *   the hash recorded at the last sync — a version check, not a clock comparison, so a renamed tag (which leaves
 *   `updated_at` alone) is found too.
 * - `plexDiffers`: the scene is unchanged, but a sync would still change the Plex item (someone edited or cleared
 *   a field in Plex, an agent refresh, the item was re-added under a new rating key). In preserve mode a value a
 *   person set or cleared in Plex (Plex locks what a person edits) is kept by a sync, so it is no gap. Tags a
 *   person added in Plex are kept by every sync, so they are no gap either. See `PlexIndex` for how far a listing
 *   lets tags be compared.
 * - `orphanedInPlex` (scope `all` only): a Plex item whose file is no Stash scene's file. Reported only.
 * The first four are queued with reason `reconcile` unless the scene is already queued or running, or its last
 * job failed for good and nothing says a new one would fare better (below); a dry run counts what it would queue
 * and changes nothing.
 *
 * Permanent failures. A scene with an unrecovered DLQ entry of a permanent class (`MatchAmbiguous`,
 * `PlexPermanentError`, … — recovery "permanent" in the error policy) would fail the same way again, and each run
 * would add one more DLQ entry. Such a scene is skipped (`inDeadLetterQueue`) when
 * - it has no sync state (it never synced), or
 * - its last sync is older than the failure and its content hash equals the one recorded at that sync.
 * A DLQ entry does not record the version of the scene that failed, so "Stash changed since the failure" is
 * known only as "changed since the last sync": a scene changed in Stash after its last sync is queued again (it
 * may now succeed), as is a scene that synced after the failure (the entry is stale). Recovering the entry
 * (`plexsync dlq retry`, outage recovery) lifts the skip.
 */

// ---------------------------------------------------------------------------------------------------------
// Scope

export type ReconcileScope =
  /** Every scene. */
  | { readonly _tag: "All" }
  /** Scenes added to or changed in Stash (`created_at`, `updated_at`) within `within` of now; `name` as written (`24h`). */
  | { readonly _tag: "Recent"; readonly name: string; readonly within: Duration.DurationInput }
  /** These scenes. */
  | { readonly _tag: "Scenes"; readonly sceneIds: ReadonlyArray<SceneId> }

export const ReconcileScope = {
  all: { _tag: "All" } as ReconcileScope,
  recent: (name: string, within: Duration.DurationInput): ReconcileScope => ({ _tag: "Recent", name, within }),
  scenes: (sceneIds: ReadonlyArray<SceneId>): ReconcileScope => ({ _tag: "Scenes", sceneIds })
} as const

const units: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** `all`, `24h`, `7d` (or any `<n>m|h|d|w`): the scopes `--scope` and `PLEXSYNC_RECONCILE_SCOPE` accept. */
export const parseReconcileScope = (text: string): Either.Either<ReconcileScope, string> => {
  const v = text.trim().toLowerCase()
  if (v === "all") return Either.right(ReconcileScope.all)
  const m = /^(\d+)\s*([mhdw])$/.exec(v)
  if (m !== null && Number(m[1]) > 0) {
    return Either.right(ReconcileScope.recent(`${Number(m[1])}${m[2]}`, Number(m[1]) * units[m[2]!]!))
  }
  return Either.left(
    `unknown reconcile scope ${
      quoteEcho(text)
    }: use all, 24h or 7d (or another age such as 12h or 30d: scenes added or changed that recently)`
  )
}

export const scopeName = (scope: ReconcileScope): string =>
  scope._tag === "All" ? "all" : scope._tag === "Recent" ? scope.name : "scenes"

// ---------------------------------------------------------------------------------------------------------
// Options and result

/** The sync settings reconciliation must agree with (the worker's `EngineSettings` has them all). */
export interface ReconcileSettings {
  readonly fields: ReadonlySet<SyncField>
  readonly preservePlexEdits: boolean
  readonly pathMap: PathMap
  /** Plex section titles; empty: every movie section. */
  readonly libraries: ReadonlyArray<string>
  readonly strictMatching: boolean
}

export type ReconcileProgress =
  | {
    readonly phase: "plex"
    readonly section: string
    readonly read: number
    readonly total: number
  }
  | {
    readonly phase: "stash"
    readonly checked: number
    /** Scenes Stash says are in scope (for `Recent`, an estimate from above). */
    readonly total: number
  }

export interface ReconcileOptions {
  readonly scope: ReconcileScope
  /** Count what would be queued; queue nothing and record nothing. */
  readonly dryRun?: boolean
  /** Also queue scenes whose file is not in Plex (yet). */
  readonly includeMissing?: boolean
  /** Scenes per Stash request. Default 1000. */
  readonly stashPageSize?: number
  /** Items per Plex listing request. Default 1000. */
  readonly plexPageSize?: number
  readonly onProgress?: (progress: ReconcileProgress) => Effect.Effect<void>
}

export const gapClasses = ["neverSynced", "stashChanged", "plexDiffers", "missingInPlex", "orphanedInPlex"] as const
export type GapClass = typeof gapClasses[number]

/** Why a scene was not queued. */
export type SkipReason =
  /** A job for the scene is queued or running already. */
  | "alreadyQueued"
  /** Its file is not in Plex, and `includeMissing` was not given. */
  | "notInPlex"
  /** Several Plex items hold its file and strict matching is on: the worker would refuse to guess. */
  | "ambiguousInPlex"
  /** The scene has no file. */
  | "noFile"
  /** A scene id asked for that Stash does not have. */
  | "sceneNotFound"
  /** Its last job failed for good (a permanent-class error, still in the DLQ) and the scene has not changed. */
  | "inDeadLetterQueue"

export interface ReconcileResult {
  readonly scope: string
  readonly dryRun: boolean
  readonly scenesChecked: number
  readonly gaps: Readonly<Record<GapClass, number>>
  /** Scenes queued (in a dry run: that would be queued). */
  readonly queued: number
  readonly queuedSceneIds: ReadonlyArray<SceneId>
  readonly skipped: Readonly<Partial<Record<SkipReason, number>>>
  /** Orphans can be known only when every scene was read (scope `all`). */
  readonly orphansChecked: boolean
  /**
   * Orphans plexsync wrote to: items carrying its locks that no scene's file maps to any more (the rating keys,
   * the first `strayIdLimit`). Known only when orphans are (null otherwise).
   */
  readonly strayWrites: { readonly total: number; readonly ratingKeys: ReadonlyArray<string> } | null
  /** Plex items indexed. */
  readonly plexItems: number
  /** Up to `sampleSize` scene ids per gap class (rating keys for orphans), to look at first. */
  readonly samples: Readonly<Record<GapClass, ReadonlyArray<string>>>
  /** Requests made: Plex sections + listing pages; Stash pages. */
  readonly requests: { readonly plex: number; readonly stash: number }
  readonly startedAt: number
  readonly finishedAt: number
}

const sampleSize = 10
const strayIdLimit = 100

// ---------------------------------------------------------------------------------------------------------
// Classifying one scene

export type SceneVerdict =
  | { readonly _tag: "InSync" }
  | { readonly _tag: "NoFile" }
  | { readonly _tag: "Ambiguous"; readonly items: ReadonlyArray<number> }
  | { readonly _tag: "Gap"; readonly gap: Exclude<GapClass, "orphanedInPlex">; readonly fields?: ReadonlyArray<string> }

/**
 * The items holding any of a scene's files, one per library and file (the primary file's first): several in one
 * library are the remembered one, or ambiguous under strict matching. None: no file of the scene is in Plex.
 */
export const itemsOfScene = (
  scene: StashScene,
  state: SceneSyncState | undefined,
  index: PlexIndex,
  settings: ReconcileSettings
): { readonly _tag: "Items"; readonly items: ReadonlyArray<number> } | {
  readonly _tag: "Ambiguous"
  readonly items: ReadonlyArray<number>
} => {
  const remembered = new Set(state?.ratingKey ? [state.ratingKey, ...state.copies] : [])
  const chosen: Array<number> = []
  for (const file of scene.files) {
    const found = index.lookup(mapPath(settings.pathMap, file.path).path)
    if (found._tag === "None") continue
    const bySection = new Map<number, Array<number>>()
    for (const item of found._tag === "One" ? [found.item] : found.items) {
      const list = bySection.get(index.section(item)) ?? []
      list.push(item)
      bySection.set(index.section(item), list)
    }
    for (const list of bySection.values()) {
      // The matcher tries the remembered items first, so a synced scene is not ambiguous to it.
      const known = list.find((i) => remembered.has(index.ratingKey(i)))
      const item = list.length === 1 || known !== undefined || !settings.strictMatching ? known ?? list[0]! : null
      if (item === null) return { _tag: "Ambiguous", items: list }
      if (!chosen.includes(item)) chosen.push(item)
    }
  }
  return { _tag: "Items", items: chosen }
}

/**
 * The verdict on one scene against the Plex index, its sync state and what plexsync last wrote to its items
 * (`writes`, by rating key). Pure.
 */
export const classifyScene = (
  scene: StashScene,
  state: SceneSyncState | undefined,
  index: PlexIndex,
  settings: ReconcileSettings,
  writes: ReadonlyMap<string, ItemWrite>,
  found: ReturnType<typeof itemsOfScene> = itemsOfScene(scene, state, index, settings)
): SceneVerdict => {
  const primary = scene.files[0]
  if (primary === undefined) return { _tag: "NoFile" }
  if (found._tag === "Ambiguous") return found
  if (found.items.length === 0) return { _tag: "Gap", gap: "missingInPlex" }
  if (state === undefined) return { _tag: "Gap", gap: "neverSynced" }
  const wanted = wantedFields(scene, { fields: settings.fields })
  const plexPath = mapPath(settings.pathMap, primary.path).path
  const hash = contentHash(wanted, { plexFile: plexPath, preservePlexEdits: settings.preservePlexEdits })
  if (state.contentHash !== hash) return { _tag: "Gap", gap: "stashChanged" }
  const fields = new Set<string>()
  for (const item of found.items) {
    const written = writes.get(index.ratingKey(item))
    // An item plexsync never wrote for this scene (re-added in Plex, a library added since, or written for
    // another scene): what the scene wants is not there.
    if (written === undefined || written.sceneId !== scene.id) {
      fields.add("item")
      continue
    }
    for (
      const field of listedDifferences(wanted, index.listed(item), written.written, {
        preservePlexEdits: settings.preservePlexEdits,
        caps: index.caps
      })
    ) fields.add(field)
  }
  return fields.size > 0 ? { _tag: "Gap", gap: "plexDiffers", fields: [...fields] } : { _tag: "InSync" }
}

/**
 * A scene whose last job failed for good at `failedAt` would fail again: it never synced, or its last sync is
 * older than the failure and the scene still has the content hash recorded then (see the module note).
 */
export const failsAgain = (
  scene: StashScene,
  state: SceneSyncState | undefined,
  failedAt: number,
  settings: ReconcileSettings
): boolean => {
  if (state === undefined) return true
  if (state.syncedAt > failedAt) return false
  const file = scene.files[0]
  if (file === undefined) return true
  const wanted = wantedFields(scene, { fields: settings.fields })
  const plexFile = mapPath(settings.pathMap, file.path).path
  return contentHash(wanted, { plexFile, preservePlexEdits: settings.preservePlexEdits }) === state.contentHash
}

// ---------------------------------------------------------------------------------------------------------
// The run

const stashTimeUtc = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/** The widest offset from UTC a Stash server's local time can have: the `created_at` filter is widened by it. */
const maxUtcOffsetMs = 14 * 3_600_000

export type ReconcileError = PlexError | StashError | StoreError

/**
 * Runs one reconciliation (see the module note) and, unless it is a dry run, records the result in `Settings`
 * under `reconcile.last` for `status` and in the history (`ReconcileLog`).
 */
export const reconcile = Effect.fn("Reconcile.run")(function*(
  settings: ReconcileSettings,
  options: ReconcileOptions
) {
  const stash = yield* StashClient
  const syncState = yield* SyncState
  const queue = yield* SyncQueue
  const store = yield* Settings
  const deadLetters = yield* DeadLetterQueue
  const startedAt = yield* Clock.currentTimeMillis
  const dryRun = options.dryRun ?? false
  const includeMissing = options.includeMissing ?? false
  const stashPageSize = Math.max(1, Math.floor(options.stashPageSize ?? 1000))
  const plexPageSize = Math.max(1, Math.floor(options.plexPageSize ?? 1000))
  const progress = options.onProgress ?? (() => Effect.void)
  const scope = options.scope

  // The Plex side, once.
  const matcher = yield* makeMatcher({ ...defaultMatchOptions, libraries: settings.libraries })
  const sections = yield* matcher.sections
  const built = yield* buildPlexIndex(sections, {
    pageSize: plexPageSize,
    onPage: (p) => progress({ phase: "plex", section: p.section.title, read: p.read, total: p.total })
  })
  const index = built.index
  const plexRequests = 1 + built.requests
  let stashRequests = 0

  const gaps: Record<GapClass, number> = {
    neverSynced: 0,
    stashChanged: 0,
    plexDiffers: 0,
    missingInPlex: 0,
    orphanedInPlex: 0
  }
  const samples: Record<GapClass, Array<string>> = {
    neverSynced: [],
    stashChanged: [],
    plexDiffers: [],
    missingInPlex: [],
    orphanedInPlex: []
  }
  const skipped: Partial<Record<SkipReason, number>> = {}
  const skip = (reason: SkipReason, n = 1) => {
    if (n > 0) skipped[reason] = (skipped[reason] ?? 0) + n
  }
  const queuedIds: Array<SceneId> = []
  const queuedSet = new Set<SceneId>()
  let checked = 0

  const gap = (cls: GapClass, id: string) => {
    gaps[cls]++
    if (samples[cls].length < sampleSize) samples[cls].push(id)
  }

  /** Classifies one page of scenes and queues its repairable gaps. */
  const handlePage = (scenes: ReadonlyArray<StashScene>) =>
    Effect.gen(function*() {
      if (scenes.length === 0) return
      const states = new Map<SceneId, SceneSyncState>()
      for (const state of yield* syncState.getMany(scenes.map((s) => s.id))) states.set(state.sceneId, state)
      const candidates: Array<SceneId> = []
      const byId = new Map<SceneId, StashScene>()
      // What plexsync wrote to the page's items, in one lookup.
      const found = scenes.map((scene) => itemsOfScene(scene, states.get(scene.id), index, settings))
      const writes = yield* syncState.writtenOn(found.flatMap((f) => f.items.map(index.ratingKey)))
      for (const [i, scene] of scenes.entries()) {
        checked++
        const verdict = classifyScene(scene, states.get(scene.id), index, settings, writes, found[i])
        // Every file of a scene counts as known to Stash, in every library holding it, for orphan detection.
        for (const file of scene.files) {
          const found = index.lookup(mapPath(settings.pathMap, file.path).path)
          if (found._tag === "One") index.markSeen(found.item)
          else if (found._tag === "Several") found.items.forEach(index.markSeen)
        }
        switch (verdict._tag) {
          case "InSync":
            break
          case "NoFile":
            skip("noFile")
            break
          case "Ambiguous":
            skip("ambiguousInPlex")
            break
          case "Gap": {
            gap(verdict.gap, scene.id)
            if (verdict.gap === "missingInPlex" && !includeMissing) skip("notInPlex")
            else if (!queuedSet.has(scene.id)) {
              candidates.push(scene.id)
              byId.set(scene.id, scene)
            }
            if (verdict.fields !== undefined) {
              yield* Effect.logDebug(`Scene ${scene.id}: Plex differs in ${verdict.fields.join(", ")}`)
            }
          }
        }
      }
      if (candidates.length === 0) return
      const active = yield* queue.activeScenes(candidates)
      const inactive = candidates.filter((id) => !active.has(id))
      skip("alreadyQueued", candidates.length - inactive.length)
      if (inactive.length === 0) return
      // One indexed lookup per page: the scenes whose job failed for good (see the module note for the rule).
      const failed = yield* deadLetters.unrecoveredScenes(inactive, permanentTags)
      const toQueue = failed.size === 0
        ? inactive
        : inactive.filter((id) => {
          const failedAt = failed.get(id)
          return failedAt === undefined || !failsAgain(byId.get(id)!, states.get(id), failedAt, settings)
        })
      skip("inDeadLetterQueue", inactive.length - toQueue.length)
      if (toQueue.length === 0) return
      if (!dryRun) yield* queue.enqueueMany(toQueue.map((sceneId) => ({ sceneId, reason: "reconcile" as const })))
      for (const id of toQueue) {
        queuedSet.add(id)
        queuedIds.push(id)
      }
    })

  // The Stash side, a page at a time.
  if (scope._tag === "Scenes") {
    const ids = [...new Set(scope.sceneIds)]
    for (let i = 0; i < ids.length; i += stashPageSize) {
      const batch = ids.slice(i, i + stashPageSize)
      const scenes = yield* stash.findScenes(batch)
      stashRequests++
      skip("sceneNotFound", batch.length - new Set(scenes.map((s) => s.id)).size)
      yield* handlePage(scenes)
      yield* progress({ phase: "stash", checked, total: ids.length })
    }
  } else {
    let cutoff: number | null = null
    let changedSince: string | undefined
    if (scope._tag === "Recent") {
      cutoff = startedAt - Duration.toMillis(Duration.decode(scope.within))
      // Stash compares its local-time strings; ask for a window wide enough for any offset, then filter exactly.
      changedSince = stashTimeUtc(cutoff - maxUtcOffsetMs)
    }
    const inScope = (scene: StashScene) => {
      if (cutoff === null) return true
      const created = Date.parse(scene.createdAt)
      const updated = Date.parse(scene.updatedAt)
      return Number.isNaN(created) || Number.isNaN(updated) || created > cutoff || updated > cutoff
    }
    const fetch = (page: number) => {
      stashRequests++
      return stash.listScenes(
        changedSince === undefined
          ? { page, perPage: stashPageSize }
          : { page, perPage: stashPageSize, changedSince }
      )
    }
    // The next page is on its way while this one is compared: one request in flight, at most two pages held.
    let pending = yield* Effect.fork(fetch(1))
    for (let page = 1;; page++) {
      const answer = yield* Fiber.join(pending)
      const more = answer.items.length === stashPageSize && page * stashPageSize < answer.count
      if (more) pending = yield* Effect.fork(fetch(page + 1))
      yield* handlePage(cutoff === null ? answer.items : answer.items.filter(inScope))
      yield* progress({ phase: "stash", checked, total: answer.count })
      if (!more) break
    }
  }

  const orphansChecked = scope._tag === "All"
  const strayWrites: Array<string> = []
  let strayWritesTotal = 0
  if (orphansChecked) {
    const unseen: Array<string> = []
    for (const item of index.unseen()) {
      gap("orphanedInPlex", index.ratingKey(item))
      unseen.push(index.ratingKey(item))
    }
    // Of those, the items plexsync wrote to (and locked): written for a scene whose file is elsewhere now, or a
    // namesake written by mistake. A person should look at them.
    const written = yield* syncState.writtenOn(unseen)
    for (const key of unseen) {
      if (!written.has(key)) continue
      strayWritesTotal++
      if (strayWrites.length < strayIdLimit) strayWrites.push(key)
    }
  }

  const result: ReconcileResult = {
    scope: scopeName(scope),
    dryRun,
    scenesChecked: checked,
    gaps,
    queued: queuedIds.length,
    queuedSceneIds: queuedIds,
    skipped,
    orphansChecked,
    strayWrites: orphansChecked ? { total: strayWritesTotal, ratingKeys: strayWrites } : null,
    plexItems: index.size,
    samples,
    requests: { plex: plexRequests, stash: stashRequests },
    startedAt,
    finishedAt: yield* Clock.currentTimeMillis
  }
  if (!dryRun) {
    const record = storedRecord(result)
    yield* store.set(SettingKeys.lastReconcile, JSON.stringify(record))
    yield* Effect.flatMap(ReconcileLog, (log) => log.record({ startedAt, finishedAt: result.finishedAt, record }))
  }
  return result
})

// ---------------------------------------------------------------------------------------------------------
// The stored record (`reconcile.last`); what a person reads is made in @plexsync/runtime/ReconcileReport

const iso = (ms: number) => new Date(ms).toISOString()

/** The `reconcile --json` document, with a few extra keys (see docs/architecture.md). */
export const reconcileDocument = (result: ReconcileResult) => ({
  scope: result.scope,
  dryRun: result.dryRun,
  scenesChecked: result.scenesChecked,
  gaps: { ...result.gaps },
  queued: result.queued,
  queuedSceneIds: [...result.queuedSceneIds],
  skipped: { ...result.skipped },
  orphansChecked: result.orphansChecked,
  strayWrites: result.strayWrites === null
    ? null
    : { total: result.strayWrites.total, ratingKeys: [...result.strayWrites.ratingKeys] },
  plexItems: result.plexItems,
  samples: Object.fromEntries(gapClasses.map((c) => [c, [...result.samples[c]]])),
  requests: { ...result.requests },
  startedAt: iso(result.startedAt),
  finishedAt: iso(result.finishedAt),
  durationMs: result.finishedAt - result.startedAt
})

export type ReconcileDocument = ReturnType<typeof reconcileDocument>

const storedIdLimit = 100

/** What `reconcile.last` holds: the document, with the id list cut to its first 100. */
export const storedRecord = (result: ReconcileResult) => {
  const doc = reconcileDocument(result)
  return {
    ...doc,
    queuedSceneIds: doc.queuedSceneIds.slice(0, storedIdLimit),
    queuedSceneIdsOmitted: Math.max(0, doc.queuedSceneIds.length - storedIdLimit)
  }
}
