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
 * last one to two `windowMs`. From a sample's latency over that baseline and the requests in flight when it was
 * sent, it estimates how many of them Plex was holding in its queue (as TCP Vegas does): `n × (1 − baseline ÷
 * latency)`. The same latency growth weighs more the more requests are in flight: with few in flight the limit
 * keeps growing through a slower moment, with many it backs off.
 *
 * The limit changes at most once a round trip: after a change, it waits for answers to requests sent since (as many
 * as the limit, at least `epochSamples`; answers to older requests tell about the old limit), then judges the mean of
 * their estimates:
 *
 * - < `growBelow` requests queued, with the limit in use (at least half of it in flight): grow — doubling while in
 *   slow start (the start of the run), one at a time after;
 * - > `shrinkAbove` queued: shrink — in slow start back to the last limit that held, after it by one (at least, and
 *   at most to `latencyBackoff` of it);
 * - between the two: hold.
 *
 * An overload error (5xx, a timeout) shrinks by `errorBackoff` at once, once for the requests sent before it: a
 * burst of answers to requests sent at the old limit shrinks once, not once per answer. The window lets the baseline
 * follow a Plex that has become slower for good instead of holding the limit at its floor.
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
  /** Answers to requests sent since the last change that a decision waits for (at least; see `step`). */
  readonly epochSamples: number
}

export const defaultAdaptiveLimit = (max: number): AdaptiveLimitSettings => ({
  max,
  min: 1,
  initial: Math.min(max, 2),
  growBelow: 1,
  shrinkAbove: 2.5,
  latencyBackoff: 0.9,
  errorBackoff: 0.5,
  smoothing: 0.25,
  windowMs: 60_000,
  epochSamples: 3
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
  /** The last limit a round trip held at without latency growth (slow start falls back to it). */
  lastGood: number
  /** When the limit last changed: answers to requests sent before say nothing about it. */
  changedAt: number
  lastShrinkAt: number
  /** The requests queued at Plex by this round trip's answers, and the most in flight among them. */
  readonly queued: Array<number>
  inUse: number
  readonly kinds: Map<string, KindStats>
}

export const initialLimitState = (settings: AdaptiveLimitSettings): LimitState => ({
  limit: settings.initial,
  slowStart: true,
  lastGood: settings.min,
  changedAt: -Infinity,
  lastShrinkAt: -Infinity,
  queued: [],
  inUse: 0,
  kinds: new Map()
})

const clamp = (settings: AdaptiveLimitSettings, limit: number) => Math.max(settings.min, Math.min(settings.max, limit))

/** The sample's latency over its kind's baseline (1 = as fast as lately at its fastest). */
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
  return { stats, ratio: Math.max(1, sample.latencyMs) / baseline }
}

/** The limit after one sample (the state is updated in place). */
export const step = (settings: AdaptiveLimitSettings, state: LimitState, sample: LimitSample, now: number): number => {
  const change = (limit: number) => {
    const next = clamp(settings, limit)
    if (next !== state.limit) state.changedAt = now
    state.limit = next
    state.queued.length = 0
    state.inUse = 0
  }
  if (sample.overload) {
    if (sample.startedAt >= state.lastShrinkAt) {
      state.slowStart = false
      state.lastShrinkAt = now
      change(Math.floor(state.limit * settings.errorBackoff))
    }
    return state.limit
  }
  const { ratio, stats } = latencyRatio(settings, state.kinds.get(sample.kind), sample, now)
  state.kinds.set(sample.kind, stats)
  // Sent before the last change: it was answered under the old limit.
  if (sample.startedAt < state.changedAt) return state.limit
  state.queued.push(sample.inFlight * Math.max(0, 1 - 1 / ratio))
  state.inUse = Math.max(state.inUse, sample.inFlight)
  if (state.queued.length < Math.max(settings.epochSamples, state.limit)) return state.limit
  const judged = state.queued.reduce((a, b) => a + b, 0) / state.queued.length
  if (judged > settings.shrinkAbove) {
    state.lastShrinkAt = now
    if (state.slowStart) {
      state.slowStart = false
      change(Math.min(state.lastGood, state.limit - 1))
    } else {
      change(Math.min(state.limit - 1, Math.floor(state.limit * settings.latencyBackoff)))
    }
  } else if (judged < settings.growBelow && state.inUse * 2 >= state.limit) {
    state.lastGood = state.limit
    change(state.slowStart ? state.limit * 2 : state.limit + 1)
  } else {
    if (judged < settings.growBelow) state.lastGood = state.limit
    else state.slowStart = false
    // Hold: the next round trip is judged afresh.
    state.queued.length = 0
    state.inUse = 0
  }
  return state.limit
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
    yield* Metric.set(concurrencyLimit, state.limit)
    const track = <A, E, R>(kind: string, request: Effect.Effect<A, E, R>, overload: (error: E) => boolean) =>
      Effect.gen(function*() {
        const startedAt = yield* Clock.currentTimeMillis
        const sentWith = ++inFlight
        const exit = yield* Effect.exit(request).pipe(Effect.ensuring(Effect.sync(() => inFlight--)))
        // An interrupted request (shutdown, a lost lease) or a defect says nothing about Plex.
        if (Exit.isFailure(exit) && exit.cause._tag !== "Fail") return yield* exit
        const now = yield* Clock.currentTimeMillis
        const overloaded = Exit.isFailure(exit) && exit.cause._tag === "Fail" && overload(exit.cause.error)
        const before = state.limit
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
    return { limit: Effect.sync(() => state.limit), track }
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
