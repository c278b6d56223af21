import { recordingHealth, TargetBreakers } from "@plexsync/domain/CircuitBreaker"
import type { StashError } from "@plexsync/domain/Errors"
import type { SceneId } from "@plexsync/domain/Ids"
import type { EventDrainResult } from "@plexsync/domain/RelatedChanges"
import { drainObjectEvents } from "@plexsync/domain/RelatedChanges"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import type { Page } from "@plexsync/domain/StashClient"
import { StashClient } from "@plexsync/domain/StashClient"
import type { SceneRef } from "@plexsync/domain/StashScene"
import type { StoreError } from "@plexsync/domain/StoreError"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { SceneSyncState } from "@plexsync/domain/SyncState"
import { SyncState } from "@plexsync/domain/SyncState"
import { Clock, Context, Effect, Layer, Option, Queue, Ref } from "effect"
import type { RelatedPollResult } from "./RelatedFeed.js"
import * as RelatedFeed from "./RelatedFeed.js"
import * as Watermark from "./Watermark.js"

/**
 * The Stash change-feed poller: every scene Stash changed since the watermark is queued with
 * `reason = poll`, so every change reaches Plex even without the plugin (and catches what hooks miss).
 *
 * - The window starts an hour (the overlap) before the watermark: Stash stores `updated_at` in local time
 *   with one-second precision and filters by string comparison, so a DST shift or a same-second update
 *   would otherwise be missed.
 * - The overlap re-reads recent changes; they are deduplicated by (scene id, `updated_at` as an instant) — but an
 *   equal `updated_at` is not proof of an unchanged scene: a second save within the same Stash second (a person's
 *   edit, then a scraper's) keeps it. A row counts as done only when a fetch of the scene provably came after the
 *   end of that second plus `sameSecondMarginMs`: in memory, this process queued it at such a time (the worker
 *   fetches after the enqueue); or `sync_state` records that version with a `syncedAt` later than that by
 *   `recordAllowanceMs` too (a sync records after its fetch). Anything else is queued once more at the first poll
 *   past the margin, and the engine compares content hashes, so an unchanged scene costs one Stash read and no Plex
 *   request. This converges: that enqueue settles the row for good, whether or not the job records anything.
 * - The watermark advances only after the page's enqueue committed: a crash re-reads, never skips.
 * - Pages are keyset pages (by time, and by id within a crowded second), so a scene edited during a multi-page read
 *   is not skipped, nor the one behind it.
 *
 * Then the related objects (tags, performers, studios, groups; `RelatedFeed`): their own changes and deletions
 * never touch the scenes' `updated_at`, so each kind has its own watermark and the scenes using a changed or
 * deleted object are queued with `reason = tag-changed`, `tag-deleted`, ….
 *
 * The events the plugin hooks recorded for those objects (`ObjectEvents`: `Tag.Update.Post`, …) are expanded
 * into scene jobs first thing in every poll, and at once when `requestDrain` is called (the scheduler's own
 * `POST /hooks/stash` recorded one; a duty waits on `drainRequested`). Expansions never overlap in this process.
 */

export interface ChangeFeedOptions {
  /** How far before the watermark each window starts. At least an hour. */
  readonly overlapMs: number
  /** Scene refs per Stash request. */
  readonly perPage: number
  /** Tags, performers, studios or groups per Stash request. Default `perPage`. */
  readonly relatedPerPage?: number
  /** Leave the related objects out (they are polled by default). */
  readonly related?: boolean
  /**
   * How long after the end of a scene's `updated_at` second a fetch must come to be sure it read the last save
   * of that second: Stash's and plexsync's clocks may differ, and Stash stamps the time before its save commits.
   * Default `defaultSameSecondMarginMs`.
   */
  readonly sameSecondMarginMs?: number
}

export interface PollResult {
  /** Change-feed rows read (overlap included). */
  readonly read: number
  /** Scenes handed to the queue (new jobs or coalesced into queued ones), related objects' included. */
  readonly queued: number
  /**
   * Rows skipped as already queued or synced at that `updated_at`: settled, or still within their second's margin
   * (queued once more when it has passed: `sameSecond`).
   */
  readonly duplicates: number
  /**
   * Of `queued`, rows queued again at an `updated_at` already queued or synced, because no fetch was known to come
   * after that second (a second save in the same second would otherwise be lost). Each such row is queued again
   * once, at the first poll past the end of its second and the margin.
   */
  readonly sameSecond: number
  readonly since: string | null
  readonly watermark: string | null
  /** Per kind of related object: what its feed read, found and queued. */
  readonly related: ReadonlyArray<RelatedPollResult>
  /** The hooks' object events expanded this poll; null when expanding them failed (they wait for the next). */
  readonly events: EventDrainResult | null
}

export interface ChangeFeedService {
  readonly poll: Effect.Effect<PollResult, StashError | StoreError>
  /** Expands the object events the hooks recorded into scene jobs (`RelatedChanges.drainObjectEvents`). */
  readonly drainEvents: Effect.Effect<EventDrainResult, StashError | StoreError>
  /** Asks for `drainEvents` soon, without waiting for it (requests made meanwhile count once). */
  readonly requestDrain: Effect.Effect<void>
  /** Waits for a `requestDrain`. */
  readonly drainRequested: Effect.Effect<void>
}

export class ChangeFeed extends Context.Tag("@plexsync/scheduler/ChangeFeed")<ChangeFeed, ChangeFeedService>() {}

export const minimumOverlapMs = 60 * 60 * 1000

export const defaultSameSecondMarginMs = Watermark.defaultSameSecondMarginMs

/**
 * How long a sync may take from its fetch of the scene to recording it (`syncedAt`): a few Plex and Stash
 * requests, each under a 30 s timeout. A state recorded later than this after a second (plus the margin) read the
 * scene after that second.
 */
export const recordAllowanceMs = 5 * 60_000

/** The instant of a Stash time string (its offset applied), or null when it is not one. */
const instant = (updatedAt: string): number | null => Option.getOrNull(Watermark.toMillis(updatedAt))

/** Two `updated_at` strings name the same version when they are the same instant, whatever offsets they carry. */
const sameVersion = (a: string, b: string): boolean => {
  const x = instant(a)
  const y = instant(b)
  return x !== null && y !== null ? x === y : a === b
}

const key = (ref: SceneRef) => `${ref.id}\u0000${instant(ref.updatedAt) ?? ref.updatedAt}`

/** A (scene, `updated_at`) row this process read: whether a fetch known to come after its second is on its way. */
interface Seen {
  readonly updatedAt: string
  readonly settled: boolean
}

export const make = (options: ChangeFeedOptions) =>
  Effect.gen(function*() {
    const stash = yield* StashClient
    const settings = yield* Settings
    const queue = yield* SyncQueue
    const syncState = yield* SyncState
    const drainContext = yield* Effect.context<Effect.Effect.Context<ReturnType<typeof drainObjectEvents>>>()
    const drainLock = yield* Effect.makeSemaphore(1)
    const drainSignal = yield* Queue.sliding<void>(1)
    const drainEvents = drainObjectEvents().pipe(Effect.provide(drainContext), drainLock.withPermits(1))
    // Stash's answers and failures count toward its breaker, as the worker's do (none without shared breakers).
    const recordStash = recordingHealth(["stash"], yield* Effect.serviceOption(TargetBreakers))
    const overlapMs = Math.max(minimumOverlapMs, options.overlapMs)
    const perPage = Math.max(1, options.perPage)
    const marginMs = Math.max(0, options.sameSecondMarginMs ?? defaultSameSecondMarginMs)
    /** (id, updated_at) rows this process already read, with their `updated_at` for pruning. */
    const seen = yield* Ref.make(new Map<string, Seen>())
    /** The latest `updated_at` instant Stash returned: its clock had reached it (evidence free of clock skew). */
    let stashClock = Number.NEGATIVE_INFINITY
    /** The end of a row's `updated_at` second plus the margin; null when it is not a time string (old rule). */
    const settledFrom = (updatedAt: string) => Watermark.settledFrom(updatedAt, marginMs)
    /** The worker fetches after the enqueue: queued now, is that fetch after the row's second? */
    const enqueueSettles = (updatedAt: string, now: number) => {
      const from = settledFrom(updatedAt)
      return from === null || Math.max(now, stashClock) >= from
    }
    /** Did the recorded sync of this very version fetch the scene after its second? */
    const recordSettles = (state: SceneSyncState | undefined, updatedAt: string) => {
      if (state === undefined || !sameVersion(state.stashUpdatedAt, updatedAt)) return false
      const from = settledFrom(updatedAt)
      return from === null || state.syncedAt >= from + recordAllowanceMs
    }
    const related = options.related === false
      ? null
      : yield* RelatedFeed.make({
        overlapMs,
        perPage: Math.max(1, options.relatedPerPage ?? perPage),
        sameSecondMarginMs: marginMs
      })

    const windowStart = (stored: Option.Option<string>) =>
      Option.match(stored, {
        onNone: () => Effect.succeed<string | null>(null),
        onSome: (watermark) =>
          Option.match(Watermark.windowStart(watermark, overlapMs), {
            onSome: (since) => Effect.succeed<string | null>(since),
            // Not a time string we can move back: still a valid string for Stash to compare with.
            onNone: () =>
              Effect.logWarning(`stored Stash watermark ${JSON.stringify(watermark)} is not an RFC 3339 time`).pipe(
                Effect.as<string | null>(watermark)
              )
          })
      })

    const poll = Effect.gen(function*() {
      // The hooks' events first: they are the freshest news. A failure here leaves them for the next try and does
      // not hold up the feed, which finds the same changes by itself.
      const events = yield* drainEvents.pipe(
        Effect.catchAll((error) =>
          Effect.logWarning(`expanding the hooks' object events failed (they wait for the next poll): ${error.message}`)
            .pipe(Effect.as(null))
        )
      )
      const stored = yield* settings.get(SettingKeys.stashWatermark)
      const since = yield* windowStart(stored)
      let watermark = Option.getOrNull(stored)
      let read = 0
      let queued = 0
      let duplicates = 0
      let sameSecond = 0
      // Keyset pages, never an offset: an edit meanwhile moves a scene to the end of the feed, and an offset would
      // then skip the scene behind it. By time, each request starts one second before the last row read (Stash
      // compares to the second; the rows of that second read again are dropped as delivered). A page all within one
      // second (more changes in a second than a page holds) goes on by id over the rest of the window; id order is
      // not time order, so the watermark then advances once, at the end.
      let cursor = since
      let afterId: SceneId | null = null
      let byId = false
      let newest = watermark
      const delivered = new Set<string>()
      for (;;) {
        const result: Page<SceneRef> = byId
          ? yield* stash.scenesUpdatedSinceById({ since: cursor, afterId, perPage })
          : yield* stash.scenesUpdatedSince({ since: cursor, page: 1, perPage })
        const items = result.items.filter((ref) => !delivered.has(key(ref)))
        for (const ref of items) delivered.add(key(ref))
        read += items.length
        const known = yield* Ref.get(seen)
        const fresh = new Map<string, SceneRef>()
        for (const ref of items) {
          stashClock = Math.max(stashClock, instant(ref.updatedAt) ?? Number.NEGATIVE_INFINITY)
          if (known.get(key(ref))?.settled === true) duplicates++
          else fresh.set(key(ref), ref)
        }
        const synced = fresh.size === 0
          ? []
          : yield* syncState.getMany(Array.from(new Set(Array.from(fresh.values(), (ref) => ref.id))))
        const states = new Map(synced.map((s) => [s.sceneId as string, s]))
        // Read before the enqueue, so the worker's fetch comes after it.
        const now = yield* Clock.currentTimeMillis
        const toQueue = new Map<string, SceneRef>()
        const settled = new Map<string, Seen>()
        for (const [k, ref] of fresh) {
          const state = states.get(ref.id)
          const recorded = state !== undefined && sameVersion(state.stashUpdatedAt, ref.updatedAt)
          if (recorded && recordSettles(state, ref.updatedAt)) {
            duplicates++
            settled.set(k, { updatedAt: ref.updatedAt, settled: true })
          } else if (known.has(k) || recorded) {
            // Queued or synced at this version already: one more fetch settles it, once it would come after the
            // second and its margin (before that, queueing again would only have to be repeated).
            if (enqueueSettles(ref.updatedAt, now)) {
              sameSecond++
              toQueue.set(ref.id, ref)
            } else {
              duplicates++
              settled.set(k, { updatedAt: ref.updatedAt, settled: false })
            }
          } else {
            toQueue.set(ref.id, ref)
          }
        }
        if (toQueue.size > 0) {
          yield* queue.enqueueMany(
            Array.from(toQueue.values(), (ref) => ({ sceneId: ref.id, reason: "poll" as const }))
          )
          queued += toQueue.size
          for (const ref of toQueue.values()) {
            settled.set(key(ref), { updatedAt: ref.updatedAt, settled: enqueueSettles(ref.updatedAt, now) })
          }
        }
        yield* Ref.update(seen, (map) => {
          for (const [k, entry] of settled) map.set(k, entry)
          return map
        })
        newest = items.reduce<string | null>((mark, ref) => Watermark.later(mark, ref.updatedAt), newest)
        if (!byId && newest !== null && newest !== watermark) {
          // Only now: the page's jobs are committed, so a crash before this line re-reads instead of skipping.
          yield* settings.set(SettingKeys.stashWatermark, newest)
          watermark = newest
        }
        const last: SceneRef | undefined = result.items.at(-1)
        if (last === undefined || result.items.length < perPage) break
        if (byId) {
          afterId = last.id
          continue
        }
        const next = Option.getOrNull(Watermark.windowStart(last.updatedAt, 1000))
        const nextAt = next === null ? null : instant(next)
        if (next !== null && nextAt !== null && (cursor === null || nextAt > (instant(cursor) ?? Infinity))) {
          cursor = next
        } else {
          byId = true
        }
      }
      if (newest !== null && newest !== watermark) {
        yield* settings.set(SettingKeys.stashWatermark, newest)
        watermark = newest
      }
      // Rows older than this window's start will not be returned again: forget them.
      if (since !== null) {
        const sinceAt = instant(since)
        yield* Ref.update(seen, (map) => {
          for (const [k, entry] of map) {
            const at = instant(entry.updatedAt)
            if (sinceAt !== null && at !== null ? at < sinceAt : entry.updatedAt < since) map.delete(k)
          }
          return map
        })
      }
      const annotate = Effect.annotateLogs({ since: since ?? "beginning", watermark: watermark ?? "none" })
      if (queued > sameSecond) {
        yield* Effect.logInfo(`change feed: queued ${queued - sameSecond} changed scene(s)`).pipe(annotate)
      }
      if (sameSecond > 0) {
        yield* Effect.logInfo(
          `change feed: queued ${sameSecond} scene(s) again, past the second they were last read in ` +
            `(another save in that second would otherwise be missed)`
        ).pipe(annotate)
      }
      // After the scenes: their watermark is saved whatever happens to the related objects' feed.
      const relatedResults = related === null ? [] : yield* related.poll
      queued += relatedResults.reduce((sum, result) => sum + result.queued, 0) + (events?.queued ?? 0)
      return {
        read,
        queued,
        duplicates,
        sameSecond,
        since,
        watermark,
        related: relatedResults,
        events
      } satisfies PollResult
    }).pipe(recordStash, Effect.withSpan("ChangeFeed.poll"))

    return ChangeFeed.of({
      poll,
      drainEvents: recordStash(drainEvents),
      requestDrain: Effect.asVoid(Queue.offer(drainSignal, undefined)),
      drainRequested: Queue.take(drainSignal)
    })
  })

/** The feed, on the store (`StoreLive` gives its known related objects and the hooks' object events). */
export const layer = (options: ChangeFeedOptions) => Layer.effect(ChangeFeed, make(options))
