import type { Effect, Option } from "effect"
import { Context, Schema } from "effect"
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
  readonly addAffected: (id: OutageId, jobs: number) => Effect.Effect<void, StoreError>
  readonly get: (id: OutageId) => Effect.Effect<Option.Option<Outage>, StoreError>
  /** Newest first. */
  readonly list: (
    options: { readonly limit: number; readonly target?: Target }
  ) => Effect.Effect<ReadonlyArray<Outage>, StoreError>
  readonly lastCompleted: (target?: Target) => Effect.Effect<Option.Option<Outage>, StoreError>
  /** How many outages each target has had, open ones included. */
  readonly countByTarget: Effect.Effect<Readonly<Record<Target, number>>, StoreError>
}

export class OutageHistory extends Context.Tag("@plexsync/domain/OutageHistory")<
  OutageHistory,
  OutageHistoryService
>() {}

export interface OutageMetrics {
  /** Mean time to recovery over completed outages, ms; null when there are none. */
  readonly mttrMs: number | null
  /** Mean time between the starts of consecutive outages, ms; null with fewer than two. */
  readonly mtbfMs: number | null
  /** Percent of the observed period (first start → now) without an outage; 100 with no outages. */
  readonly availability: number
}

/** MTTR, MTBF and availability. Ongoing outages count toward downtime but not toward MTTR. */
export const outageMetrics = (outages: ReadonlyArray<Outage>, now: number): OutageMetrics => {
  if (outages.length === 0) return { mttrMs: null, mtbfMs: null, availability: 100 }
  const completed = outages.filter((o) => o.endedAt !== null)
  const mttrMs = completed.length === 0
    ? null
    : completed.reduce((sum, o) => sum + (o.endedAt! - o.startedAt), 0) / completed.length
  const starts = outages.map((o) => o.startedAt).sort((a, b) => a - b)
  const mtbfMs = starts.length < 2 ? null : (starts[starts.length - 1]! - starts[0]!) / (starts.length - 1)
  const period = Math.max(1, now - starts[0]!)
  const down = outages.reduce((sum, o) => sum + Math.max(0, (o.endedAt ?? now) - o.startedAt), 0)
  const availability = Math.max(0, Math.min(100, 100 * (1 - down / period)))
  return { mttrMs, mtbfMs, availability }
}
