import type { Effect } from "effect"
import { Context, Schema } from "effect"
import { Millis, Target } from "./Ids.js"
import type { StoreError } from "./StoreError.js"

export const BreakerStatus = Schema.Literal("closed", "open", "half_open")
export type BreakerStatus = typeof BreakerStatus.Type

/** A target's circuit breaker, persisted so it survives restarts. */
export class BreakerState extends Schema.Class<BreakerState>("BreakerState")({
  target: Target,
  state: BreakerStatus,
  consecutiveFailures: Schema.Int.pipe(Schema.nonNegative()),
  /** When the outage started: the first failure of the streak that opened the breaker (null while closed). */
  openedAt: Schema.NullOr(Millis),
  /**
   * While closed with failures counted: when the first of them happened. It becomes `openedAt` when the streak
   * opens the breaker, so an outage starts at its first failure, not at the one that reached the threshold.
   */
  failingSince: Schema.optionalWith(Schema.NullOr(Millis), { default: () => null }),
  /** When the next health probe is due while open. */
  nextProbeAt: Schema.NullOr(Millis),
  /** Failed probes since the breaker opened: drives the probe backoff. */
  probeAttempt: Schema.Int.pipe(Schema.nonNegative()),
  lastError: Schema.NullOr(Schema.String),
  updatedAt: Millis
}) {}

/** What a closed breaker holds besides its target and time: no failures, no outage, no probe. */
export const closedFields = {
  state: "closed",
  consecutiveFailures: 0,
  openedAt: null,
  failingSince: null,
  nextProbeAt: null,
  probeAttempt: 0,
  lastError: null
} as const

export const closedBreaker = (target: Target, now: number): BreakerState =>
  new BreakerState({ target, ...closedFields, updatedAt: now })

export interface BreakerStoreService {
  /** The stored state, or a closed breaker when none is stored. */
  readonly get: (target: Target) => Effect.Effect<BreakerState, StoreError>
  readonly put: (state: BreakerState) => Effect.Effect<void, StoreError>
}

/** Persistence of the per-target circuit breaker state (`closed` / `open` / `half_open`). */
export class BreakerStore extends Context.Tag("@plexsync/domain/BreakerStore")<BreakerStore, BreakerStoreService>() {}
