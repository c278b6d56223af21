import { Clock, Effect, Exit, Metric } from "effect"
import type { PlexError } from "./Errors.js"
import type { PlexClientService } from "./PlexClient.js"

/**
 * How many jobs the worker runs at once, found from how Plex answers instead of fixed: the limit grows while Plex's
 * latency holds and nothing fails, and shrinks when Plex slows down under the load or answers with 5xx/timeouts.
 * `PLEXSYNC_CONCURRENCY` is its ceiling.
 *
 * Every Plex request is a sample, compared with its own kind (a listing, an edit and a poster upload take different
 * times): each kind keeps a smoothed latency (EWMA) and a baseline, the lowest that smoothed latency has been over the
 * last one to two `windowMs`. Their ratio says whether Plex slows down:
 *
 * - ratio ≤ `growBelow` and the limit in use (at least half of it in flight): grow — by one per sample until the
 *   first shrink (slow start), then by one per `limit` samples (additive increase);
 * - ratio > `shrinkAbove`: shrink by `latencyBackoff`; an overload error (5xx, a timeout): shrink by `errorBackoff`;
 * - between the two: hold.
 *
 * A shrink is judged only from requests started after the last shrink: a burst of answers to requests sent at the
 * old limit shrinks once, not once per answer. The window lets the baseline follow a Plex that has become slower
 * for good instead of holding the limit at its floor.
 */

export interface AdaptiveLimitSettings {
  /** The ceiling (`PLEXSYNC_CONCURRENCY`). */
  readonly max: number
  readonly min: number
  readonly initial: number
  readonly growBelow: number
  readonly shrinkAbove: number
  readonly latencyBackoff: number
  readonly errorBackoff: number
  /** EWMA weight of a new sample. */
  readonly smoothing: number
  readonly windowMs: number
}

export const defaultAdaptiveLimit = (max: number): AdaptiveLimitSettings => ({
  max,
  min: 1,
  initial: Math.min(max, 2),
  growBelow: 1.15,
  shrinkAbove: 1.3,
  latencyBackoff: 0.8,
  errorBackoff: 0.5,
  smoothing: 0.25,
  windowMs: 60_000
})

/** One answered (or failed) Plex request. */
export interface LimitSample {
  readonly kind: string
  readonly startedAt: number
  readonly latencyMs: number
  /** A 5xx or a timeout: Plex is overloaded or down. */
  readonly overload: boolean
  /** Requests in flight when it was sent (itself included): whether the limit was in use. */
  readonly inFlight: number
}

interface KindStats {
  smoothed: number
  /** The lowest smoothed latency in the current window and in the one before. */
  lowest: number
  lowestBefore: number
  windowStart: number
}

export interface LimitState {
  limit: number
  slowStart: boolean
  lastShrinkAt: number
  readonly kinds: Map<string, KindStats>
}

export const initialLimitState = (settings: AdaptiveLimitSettings): LimitState => ({
  limit: settings.initial,
  slowStart: true,
  lastShrinkAt: -Infinity,
  kinds: new Map()
})

const clamp = (settings: AdaptiveLimitSettings, limit: number) => Math.max(settings.min, Math.min(settings.max, limit))

/** The latency of the sample's kind against its baseline (1 = as fast as lately at its fastest). */
const latencyRatio = (
  settings: AdaptiveLimitSettings,
  stats: KindStats | undefined,
  sample: LimitSample,
  now: number
) => {
  if (stats === undefined) {
    const first = sample.latencyMs
    return { stats: { smoothed: first, lowest: first, lowestBefore: first, windowStart: now }, ratio: 1 }
  }
  stats.smoothed += settings.smoothing * (sample.latencyMs - stats.smoothed)
  if (now - stats.windowStart >= settings.windowMs) {
    stats.lowestBefore = stats.lowest
    stats.lowest = stats.smoothed
    stats.windowStart = now
  } else stats.lowest = Math.min(stats.lowest, stats.smoothed)
  const baseline = Math.max(1, Math.min(stats.lowest, stats.lowestBefore))
  // The smoothed latency lags: after a shrink, answers at the new load are quick again while it is still high.
  return { stats, ratio: Math.max(1, Math.min(stats.smoothed, sample.latencyMs)) / baseline }
}

/** The limit after one sample (the state is updated in place). */
export const step = (settings: AdaptiveLimitSettings, state: LimitState, sample: LimitSample, now: number): number => {
  const fresh = sample.startedAt >= state.lastShrinkAt
  const shrink = (factor: number) => {
    state.limit = clamp(settings, Math.floor(state.limit * factor))
    state.slowStart = false
    state.lastShrinkAt = now
  }
  if (sample.overload) {
    if (fresh) shrink(settings.errorBackoff)
    return Math.floor(state.limit)
  }
  const { ratio, stats } = latencyRatio(settings, state.kinds.get(sample.kind), sample, now)
  state.kinds.set(sample.kind, stats)
  if (ratio > settings.shrinkAbove) {
    if (fresh) shrink(settings.latencyBackoff)
  } else if (ratio <= settings.growBelow && sample.inFlight * 2 >= Math.floor(state.limit)) {
    state.limit = clamp(settings, state.limit + (state.slowStart ? 1 : 1 / state.limit))
  }
  return Math.floor(state.limit)
}

/** The adaptive limit of Plex requests' concurrency, as a gauge. */
export const concurrencyLimit = Metric.gauge("plexsync_concurrency_limit", {
  description: "How many jobs the worker runs at once now (adaptive, at most PLEXSYNC_CONCURRENCY)"
})

export interface AdaptiveLimiter {
  /** The limit now (a whole number from `min` to `max`). */
  readonly limit: Effect.Effect<number>
  /** Runs one Plex request, timing it as a sample; `overload` tells which failures mean Plex is overloaded. */
  readonly track: <A, E, R>(
    kind: string,
    request: Effect.Effect<A, E, R>,
    overload: (error: E) => boolean
  ) => Effect.Effect<A, E, R>
}

export const makeAdaptiveLimiter = (settings: AdaptiveLimitSettings): Effect.Effect<AdaptiveLimiter> =>
  Effect.gen(function*() {
    const state = initialLimitState(settings)
    let inFlight = 0
    yield* Metric.set(concurrencyLimit, Math.floor(state.limit))
    const track = <A, E, R>(kind: string, request: Effect.Effect<A, E, R>, overload: (error: E) => boolean) =>
      Effect.gen(function*() {
        const startedAt = yield* Clock.currentTimeMillis
        const sentWith = ++inFlight
        const exit = yield* Effect.exit(request).pipe(Effect.ensuring(Effect.sync(() => inFlight--)))
        // An interrupted request (shutdown, a lost lease) or a defect says nothing about Plex.
        if (Exit.isFailure(exit) && exit.cause._tag !== "Fail") return yield* exit
        const now = yield* Clock.currentTimeMillis
        const overloaded = Exit.isFailure(exit) && exit.cause._tag === "Fail" && overload(exit.cause.error)
        const before = Math.floor(state.limit)
        const after = step(settings, state, {
          kind,
          startedAt,
          latencyMs: now - startedAt,
          overload: overloaded,
          inFlight: sentWith
        }, now)
        if (after !== before) yield* Metric.set(concurrencyLimit, after)
        return yield* exit
      })
    return { limit: Effect.sync(() => Math.floor(state.limit)), track }
  })

/** Plex's answers that mean it is overloaded or down, as the limiter reads them. */
const overloaded = (error: PlexError) => error._tag === "PlexServerDown" || error._tag === "PlexTemporaryError"

/** The Plex client with each request timed by the limiter, by method. */
export const limitedPlexClient = (plex: PlexClientService, limiter: AdaptiveLimiter): PlexClientService => ({
  health: limiter.track("health", plex.health, overloaded),
  sections: limiter.track("sections", plex.sections, overloaded),
  findByFile: (sectionKey, path) => limiter.track("findByFile", plex.findByFile(sectionKey, path), overloaded),
  getItem: (ratingKey) => limiter.track("getItem", plex.getItem(ratingKey), overloaded),
  listSection: (sectionKey, options) => limiter.track("listSection", plex.listSection(sectionKey, options), overloaded),
  edit: (item, edit) => limiter.track("edit", plex.edit(item, edit), overloaded),
  rate: (ratingKey, rating) => limiter.track("rate", plex.rate(ratingKey, rating), overloaded),
  uploadPoster: (ratingKey, image) => limiter.track("uploadPoster", plex.uploadPoster(ratingKey, image), overloaded),
  scan: (sectionKey, folder) => limiter.track("scan", plex.scan(sectionKey, folder), overloaded)
})
