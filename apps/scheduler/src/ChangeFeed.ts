import type { StashError } from "@plexsync/domain/Errors"
import type { EventDrainResult } from "@plexsync/domain/RelatedChanges"
import { drainObjectEvents } from "@plexsync/domain/RelatedChanges"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import { StashClient } from "@plexsync/domain/StashClient"
import type { SceneRef } from "@plexsync/domain/StashScene"
import type { StoreError } from "@plexsync/domain/StoreError"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { SyncState } from "@plexsync/domain/SyncState"
import { Context, Effect, Layer, Option, Queue, Ref } from "effect"
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
 * - The overlap re-reads recent changes; they are deduplicated by (scene id, `updated_at`): in memory for
 *   what this process already queued, and against `sync_state` for what was synced at that version, so a
 *   restart does not queue the last hour again.
 * - The watermark advances only after the page's enqueue committed: a crash re-reads, never skips.
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
}

export interface PollResult {
  /** Change-feed rows read (overlap included). */
  readonly read: number
  /** Scenes handed to the queue (new jobs or coalesced into queued ones), related objects' included. */
  readonly queued: number
  /** Rows skipped as already queued or synced at that `updated_at`. */
  readonly duplicates: number
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

const key = (ref: SceneRef) => `${ref.id}\u0000${ref.updatedAt}`

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
    const overlapMs = Math.max(minimumOverlapMs, options.overlapMs)
    const perPage = Math.max(1, options.perPage)
    /** (id, updated_at) pairs this process already queued, with their `updated_at` for pruning. */
    const seen = yield* Ref.make(new Map<string, string>())
    const related = options.related === false
      ? null
      : yield* RelatedFeed.make({ overlapMs, perPage: Math.max(1, options.relatedPerPage ?? perPage) })

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
      for (let page = 1;; page++) {
        const result = yield* stash.scenesUpdatedSince({ since, page, perPage })
        read += result.items.length
        const known = yield* Ref.get(seen)
        const fresh = new Map<string, SceneRef>()
        for (const ref of result.items) {
          if (known.has(key(ref))) duplicates++
          else fresh.set(key(ref), ref)
        }
        const synced = fresh.size === 0
          ? []
          : yield* syncState.getMany(Array.from(new Set(Array.from(fresh.values(), (ref) => ref.id))))
        const syncedAt = new Map(synced.map((s) => [s.sceneId as string, s.stashUpdatedAt]))
        const toQueue = new Map<string, SceneRef>()
        for (const ref of fresh.values()) {
          if (syncedAt.get(ref.id) === ref.updatedAt) duplicates++
          else toQueue.set(ref.id, ref)
        }
        if (toQueue.size > 0) {
          yield* queue.enqueueMany(
            Array.from(toQueue.values(), (ref) => ({ sceneId: ref.id, reason: "poll" as const }))
          )
          queued += toQueue.size
        }
        yield* Ref.update(seen, (map) => {
          for (const ref of fresh.values()) map.set(key(ref), ref.updatedAt)
          return map
        })
        const next = result.items.reduce<string | null>((mark, ref) => Watermark.later(mark, ref.updatedAt), watermark)
        if (next !== null && next !== watermark) {
          // Only now: the page's jobs are committed, so a crash before this line re-reads instead of skipping.
          yield* settings.set(SettingKeys.stashWatermark, next)
          watermark = next
        }
        if (result.items.length < perPage || page * perPage >= result.count) break
      }
      // Rows older than this window's start will not be returned again: forget them.
      if (since !== null) {
        yield* Ref.update(seen, (map) => {
          for (const [k, updatedAt] of map) if (updatedAt < since) map.delete(k)
          return map
        })
      }
      if (queued > 0) {
        yield* Effect.logInfo(`change feed: queued ${queued} changed scene(s)`).pipe(
          Effect.annotateLogs({ since: since ?? "beginning", watermark: watermark ?? "none" })
        )
      }
      // After the scenes: their watermark is saved whatever happens to the related objects' feed.
      const relatedResults = related === null ? [] : yield* related.poll
      queued += relatedResults.reduce((sum, result) => sum + result.queued, 0) + (events?.queued ?? 0)
      return { read, queued, duplicates, since, watermark, related: relatedResults, events } satisfies PollResult
    }).pipe(Effect.withSpan("ChangeFeed.poll"))

    return ChangeFeed.of({
      poll,
      drainEvents,
      requestDrain: Effect.asVoid(Queue.offer(drainSignal, undefined)),
      drainRequested: Queue.take(drainSignal)
    })
  })

/** The feed, on the store (`StoreLive` gives its known related objects and the hooks' object events). */
export const layer = (options: ChangeFeedOptions) => Layer.effect(ChangeFeed, make(options))
