import type { StashError } from "@plexsync/domain/Errors"
import { queueScenesOfDeleted, queueScenesUsing, scenePageSize } from "@plexsync/domain/RelatedChanges"
import type { RelatedKind, RelatedObjectRef } from "@plexsync/domain/RelatedObjects"
import { KnownObjects, relatedKinds } from "@plexsync/domain/RelatedObjects"
import { Settings } from "@plexsync/domain/Settings"
import { StashClient } from "@plexsync/domain/StashClient"
import type { StoreError } from "@plexsync/domain/StoreError"
import type { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { SyncState } from "@plexsync/domain/SyncState"
import { Clock, Effect, Option } from "effect"
import * as Watermark from "./Watermark.js"

/**
 * The change feed for what scenes refer to: tags, performers, studios and groups. Editing one in Stash bumps only
 * its own `updated_at`, and deleting one only removes its links — the scenes' `updated_at` stays — so the scene
 * feed never sees either. Per kind, every poll:
 *
 * 1. Changes: objects whose `updated_at` is after the kind's watermark (moved back by the same overlap as the scene
 *    feed's), read in keyset pages (each request starts one second before the last `updated_at` read, so rows that
 *    change while we page are read again later rather than skipped); an object whose (id, `updated_at`) was already
 *    handled — kept in `stash_objects`, so this survives a restart — is skipped; the scenes using the others are
 *    read from Stash and queued (`tag-changed`, …), one transaction per page of at most 1000 scenes. The watermark
 *    advances only after the page's jobs committed.
 * 2. Deletions: Stash's count of the kind is compared with the number of ids plexsync knows; only when they differ
 *    is the full id list read and diffed. The scenes that used a vanished object are found in plexsync's own sync
 *    state (what it last synced for each scene: the object is gone from Stash) and queued (`tag-deleted`, …).
 *
 * A tag merge is both: the destination's `updated_at` changes (its scenes, now including the sources', are
 * queued) and the sources disappear (their scenes, from sync state, are queued). The queue coalesces: one job per
 * scene however many of its objects changed. A kind seen for the first time starts at Stash's newest change and
 * lists its ids once; nothing is queued for what happened before.
 *
 * What a changed or deleted object queues is `RelatedChanges`' (the domain's), shared with the expansion of the
 * events the plugin hooks record.
 */

// Where they lived before they moved to the domain.
export {
  objectChanged,
  objectDeleted,
  queueScenesOfDeleted,
  queueScenesUsing,
  scenePageSize,
  tagsMerged
} from "@plexsync/domain/RelatedChanges"

/** The persisted watermark of one kind: the exact `updated_at` string Stash returned. */
export const watermarkKey = (kind: RelatedKind) => `stash.watermark.${kind}`

export interface RelatedFeedOptions {
  /** How far before the watermark each window starts (the scene feed's overlap). */
  readonly overlapMs: number
  /** Objects per Stash request. */
  readonly perPage: number
  /** Scene ids per Stash request and per enqueue transaction. Default 1000. */
  readonly scenePageSize?: number
  /** Ids per request when the full id list of a kind is read. Default 1000. */
  readonly idPageSize?: number
  /**
   * Stash stamps `updated_at` to the second: an object's scenes queued before the end of that second plus this
   * margin may have been read before a second save in the same second. Default: the scene feed's (10 s).
   */
  readonly sameSecondMarginMs?: number
}

export interface RelatedPollResult {
  readonly kind: RelatedKind
  /** Change rows read (overlap included). */
  readonly read: number
  /** Objects whose scenes were looked up (changed or new since last handled). */
  readonly changed: number
  /** Objects found gone from Stash. */
  readonly deleted: number
  /** Scenes handed to the queue (a scene counted once per reason it was queued for). */
  readonly queued: number
  /** True when the kind's full id list was read this poll. */
  readonly listed: boolean
  readonly watermark: string | null
}

export type RelatedRequirements = StashClient | Settings | SyncQueue | SyncState | KnownObjects

/** One poll of every kind, in turn. */
export const make = (options: RelatedFeedOptions) =>
  Effect.gen(function*() {
    const stash = yield* StashClient
    const settings = yield* Settings
    const known = yield* KnownObjects
    const context = yield* Effect.context<RelatedRequirements>()
    const overlapMs = Math.max(0, options.overlapMs)
    const perPage = Math.max(1, options.perPage)
    const sceneSize = Math.max(1, options.scenePageSize ?? scenePageSize)
    const idPageSize = Math.max(1, options.idPageSize ?? 1000)
    const marginMs = Math.max(0, options.sameSecondMarginMs ?? Watermark.defaultSameSecondMarginMs)
    /**
     * A version whose scenes were queued too soon after its second to be sure of it is recorded as `~<updated_at>`
     * (never a Stash time, so never taken as handled): once past the margin its scenes are queued once more, and
     * that settles it. Recorded in the database, so a restart in between does not take it for a new change.
     */
    const early = (updatedAt: string) => `~${updatedAt}`
    /** From when queueing an object's scenes proves the worker reads them after every save of that second. */
    const settledFrom = (updatedAt: string): number => Watermark.settledFrom(updatedAt, marginMs) ?? 0

    const windowStart = (watermark: string): Effect.Effect<string> =>
      Option.match(Watermark.windowStart(watermark, overlapMs), {
        onSome: Effect.succeed,
        onNone: () =>
          Effect.logWarning(`stored Stash watermark ${JSON.stringify(watermark)} is not an RFC 3339 time`).pipe(
            Effect.as(watermark)
          )
      })

    /**
     * Reads the changes after `since` in keyset pages; `handle` gets each page's not-yet-handled objects and
     * must return once their scenes are queued. Returns rows read and the highest `updated_at` seen.
     */
    const readChanges = (
      kind: RelatedKind,
      since: string,
      handle: (
        fresh: ReadonlyArray<RelatedObjectRef>,
        newest: string,
        /** The versions recorded for this page's objects before it was read. */
        recorded: ReadonlyMap<string, string | null>
      ) => Effect.Effect<void, StashError | StoreError, StashClient | SyncQueue>
    ) =>
      Effect.gen(function*() {
        let cursor = since
        let page = 1
        let read = 0
        let changed = 0
        let newest: string | null = null
        for (;;) {
          const result = yield* stash.relatedUpdatedSince({ kind, since: cursor, page, perPage })
          read += result.items.length
          const versions = yield* known.versions(kind, result.items.map((item) => item.id))
          const now = yield* Clock.currentTimeMillis
          // The latest row per id (an object may show up twice while it is being edited). A version queued too soon
          // after its second waits out the margin, then is queued once more.
          const latest = new Map<string, RelatedObjectRef>()
          for (const item of result.items) {
            if (versions.get(item.id) === item.updatedAt) continue
            if (versions.get(item.id) === early(item.updatedAt) && now < settledFrom(item.updatedAt)) continue
            latest.set(item.id, item)
          }
          newest = result.items.reduce<string | null>((mark, item) => Watermark.later(mark, item.updatedAt), newest)
          if (latest.size > 0 || newest !== null) yield* handle([...latest.values()], newest!, versions)
          changed += latest.size
          const last = result.items[result.items.length - 1]
          if (last === undefined || result.items.length < perPage) break
          // Next request: from one second before the last row read (Stash compares strings with `>`; one-second
          // precision), so equal timestamps are read again (and skipped as handled) rather than missed.
          const next = Option.getOrElse(Watermark.windowStart(last.updatedAt, 1000), () => last.updatedAt)
          if (next > cursor) {
            cursor = next
            page = 1
          } else {
            // More rows in one second than a page holds: page through them.
            if (page * perPage >= result.count) break
            page++
          }
        }
        return { read, changed, newest }
      })

    const pollKind = (kind: RelatedKind) =>
      Effect.gen(function*() {
        const key = watermarkKey(kind)
        const stored = Option.getOrNull(yield* settings.get(key))
        let watermark = stored
        let read = 0
        let changed = 0
        let queued = 0
        let queuedAgain = 0

        if (stored === null) {
          // First sight of the kind: start at Stash's newest change. Objects changed within the overlap before it
          // are recorded as handled, so the next poll's window does not queue them.
          const latest = yield* stash.relatedLatest(kind)
          if (Option.isSome(latest)) {
            const since = yield* windowStart(latest.value.updatedAt)
            const quiet = yield* readChanges(
              kind,
              since,
              (fresh) => known.record(kind, fresh.map((object) => ({ id: object.id, updatedAt: object.updatedAt })))
            )
            read += quiet.read
            watermark = Watermark.later(quiet.newest, latest.value.updatedAt)
            yield* settings.set(key, watermark)
          }
        } else {
          const since = yield* windowStart(stored)
          const result = yield* readChanges(kind, since, (fresh, newest, recorded) =>
            Effect.gen(function*() {
              if (fresh.length > 0) {
                // Versions queued before within their second's margin, now queued once more (see `early`).
                const again = fresh.filter((object) => recorded.get(object.id) === early(object.updatedAt))
                const firstTime = fresh.filter((object) => !again.includes(object))
                for (const [objects, count] of [[firstTime, "first"], [again, "again"]] as const) {
                  if (objects.length === 0) continue
                  const n = yield* queueScenesUsing(kind, objects.map((object) => object.id), { pageSize: sceneSize })
                  queued += n
                  if (count === "again") queuedAgain += n
                }
                yield* Effect.logDebug(`${kind}s changed in Stash: ${fresh.map(describe).join(", ")}`.slice(0, 500))
                // Only after the jobs committed: a crash before this line handles the objects again. A version queued
                // within its second's margin is known but not handled yet (see `early`).
                const queuedAt = yield* Clock.currentTimeMillis
                yield* known.record(
                  kind,
                  fresh.map((object) => ({
                    id: object.id,
                    updatedAt: queuedAt >= settledFrom(object.updatedAt) ? object.updatedAt : early(object.updatedAt)
                  }))
                )
              }
              const next = Watermark.later(watermark, newest)
              if (next !== watermark) {
                yield* settings.set(key, next)
                watermark = next
              }
            }))
          read += result.read
          changed += result.changed
        }

        // Deletions: one count query; the id list only when the numbers differ (or the kind was never listed).
        const knownCount = yield* known.count(kind)
        const stashCount = yield* stash.relatedCount(kind)
        let deleted = 0
        let listed = false
        if (Option.isNone(knownCount) || knownCount.value !== stashCount) {
          listed = true
          const inStash = new Set<string>()
          for (let page = 1;; page++) {
            const ids = yield* stash.relatedIds({ kind, page, perPage: idPageSize })
            for (const id of ids.items) inStash.add(id)
            if (ids.items.length < idPageSize || page * idPageSize >= ids.count) break
          }
          const knownIds = yield* known.ids(kind)
          const knownSet = new Set(knownIds)
          const gone = knownIds.filter((id) => !inStash.has(id))
          const added = [...inStash].filter((id) => !knownSet.has(id))
          if (gone.length > 0) {
            queued += yield* queueScenesOfDeleted(kind, gone, { pageSize: sceneSize })
            deleted = gone.length
            yield* Effect.logInfo(`${gone.length} ${kind}(s) deleted in Stash: ${gone.slice(0, 20).join(", ")}`)
          }
          // New ids not seen in the changes (created after they were read): their version is not known yet.
          yield* known.record(kind, added.map((id) => ({ id, updatedAt: null })))
        }
        if (queued > queuedAgain) {
          yield* Effect.logInfo(`change feed: queued ${queued - queuedAgain} scene(s) for changed or deleted ${kind}s`)
        }
        if (queuedAgain > 0) {
          yield* Effect.logInfo(
            `change feed: queued ${queuedAgain} scene(s) again, for ${kind}s last read within a second of a save`
          )
        }
        return { kind, read, changed, deleted, queued, listed, watermark } satisfies RelatedPollResult
      }).pipe(
        Effect.provide(context),
        Effect.withSpan("RelatedFeed.pollKind", { attributes: { kind } })
      )

    const poll: Effect.Effect<ReadonlyArray<RelatedPollResult>, StashError | StoreError> = Effect.forEach(
      relatedKinds,
      pollKind
    ).pipe(Effect.withSpan("RelatedFeed.poll"))

    return { poll }
  })

const describe = (object: RelatedObjectRef) => (object.name === null ? object.id : `${object.id} (${object.name})`)
