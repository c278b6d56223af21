import type { Effect, Option } from "effect"
import { Context, Schema } from "effect"
import type { JobId } from "./Ids.js"
import { Millis, OutageId, Target } from "./Ids.js"
import type { StoreError } from "./StoreError.js"

export class Outage extends Schema.Class<Outage>("Outage")({
  id: OutageId,
  target: Target,
  startedAt: Millis,
  endedAt: Schema.NullOr(Millis),
  jobsAffected: Schema.Int.pipe(Schema.nonNegative()),
  /** What opened the breaker, for a person reading the history. */
  cause: Schema.NullOr(Schema.String)
}) {}

export interface OutageHistoryService {
  /** Opens an outage for the target, or returns the one already open (at most one open per target). */
  readonly open: (
    target: Target,
    options: { readonly startedAt: number; readonly cause: string | null }
  ) => Effect.Effect<Outage, StoreError>
  /** Closes the target's open outage, if any, and returns it. */
  readonly close: (target: Target, endedAt: number) => Effect.Effect<Option.Option<Outage>, StoreError>
  readonly current: (target: Target) => Effect.Effect<Option.Option<Outage>, StoreError>
  /** Adds `jobs` to the outage's `jobsAffected` as they are (an import, a test): no job is remembered. */
  readonly addAffected: (id: OutageId, jobs: number) => Effect.Effect<void, StoreError>
  /** Counts these jobs in the outage's `jobsAffected`, each once however often it is told; returns how many were new. */
  readonly addAffectedJobs: (id: OutageId, jobs: ReadonlyArray<JobId>) => Effect.Effect<number, StoreError>
  readonly get: (id: OutageId) => Effect.Effect<Option.Option<Outage>, StoreError>
  /** Newest first. */
  readonly list: (
    options: { readonly limit: number; readonly target?: Target }
  ) => Effect.Effect<ReadonlyArray<Outage>, StoreError>
  readonly lastCompleted: (target?: Target) => Effect.Effect<Option.Option<Outage>, StoreError>
  /** Every outage that overlaps the window (ongoing ones included), oldest first: what the metrics are computed over. */
  readonly overlapping: (window: MetricsWindow) => Effect.Effect<ReadonlyArray<Outage>, StoreError>
  /** When plexsync started watching: the database's creation (ms); none when the store cannot tell. */
  readonly watchingSince: Effect.Effect<Option.Option<number>, StoreError>
  /** How many outages each target has had, open ones included. */
  readonly countByTarget: Effect.Effect<Readonly<Record<Target, number>>, StoreError>
}

export class OutageHistory extends Context.Tag("@plexsync/domain/OutageHistory")<
  OutageHistory,
  OutageHistoryService
>() {}

/** The period availability is measured over, both ends in ms. */
export interface MetricsWindow {
  readonly from: number
  readonly to: number
}

/**
 * The window `outages` measures over: the last `lengthMs` up to `now`, clipped to when plexsync started watching
 * (`watchingSince`, the database's creation; null when unknown).
 */
export const metricsWindow = (now: number, lengthMs: number, watchingSince: number | null): MetricsWindow => ({
  from: Math.min(now, Math.max(now - Math.max(0, lengthMs), watchingSince ?? Number.NEGATIVE_INFINITY)),
  to: now
})

export interface OutageMetrics {
  /** Periods of downtime in the window: overlapping or touching outages merged into one. */
  readonly outages: number
  /** Downtime inside the window, ms (an ongoing outage counts up to the window's end). */
  readonly downMs: number
  /** Mean length of the completed periods of downtime (whole, also the part before the window), ms; null if none. */
  readonly mttrMs: number | null
  /** Mean time from the end of one period of downtime to the start of the next, ms; null with fewer than two. */
  readonly mtbfMs: number | null
  /** Percent of the window without downtime; 100 for an empty window. */
  readonly availability: number
}

interface Interval {
  start: number
  end: number
  ongoing: boolean
}

/** Outages as intervals (an ongoing one ends at `now`), sorted, with overlapping or touching ones merged. */
const mergedIntervals = (outages: ReadonlyArray<Outage>, now: number): Array<Interval> => {
  const sorted = outages
    .map((o) => ({ start: o.startedAt, end: Math.max(o.startedAt, o.endedAt ?? now), ongoing: o.endedAt === null }))
    .sort((a, b) => a.start - b.start)
  const merged: Array<Interval> = []
  for (const interval of sorted) {
    const last = merged.at(-1)
    if (last !== undefined && interval.start <= last.end) {
      last.end = Math.max(last.end, interval.end)
      last.ongoing = last.ongoing || interval.ongoing
    } else merged.push({ ...interval })
  }
  return merged
}

/**
 * MTTR, MTBF and availability over a window, from the outages given (all that overlap the window, not a page
 * of them): overlapping outages are merged first, so downtime is never counted twice. Pass one target's outages
 * for its own figures, or both targets' for the time a sync could run (both up).
 */
export const outageMetrics = (outages: ReadonlyArray<Outage>, window: MetricsWindow): OutageMetrics => {
  const intervals = mergedIntervals(outages, window.to)
    .filter((i) => i.start <= window.to && i.end >= window.from)
  const downMs = intervals.reduce(
    (sum, i) => sum + Math.max(0, Math.min(i.end, window.to) - Math.max(i.start, window.from)),
    0
  )
  const completed = intervals.filter((i) => !i.ongoing)
  const mttrMs = completed.length === 0
    ? null
    : completed.reduce((sum, i) => sum + (i.end - i.start), 0) / completed.length
  const gaps = intervals.slice(1).map((i, k) => i.start - intervals[k]!.end)
  const mtbfMs = gaps.length === 0 ? null : gaps.reduce((sum, g) => sum + g, 0) / gaps.length
  const length = window.to - window.from
  const availability = length <= 0 ? 100 : Math.max(0, Math.min(100, 100 * (1 - downMs / length)))
  return { outages: intervals.length, downMs, mttrMs, mtbfMs, availability }
}
