import type { Effect } from "effect"
import { Context, Schema } from "effect"
import { Millis, OutageId, Target } from "./Ids.js"
import { RecoveryStop, RecoveryTrigger } from "./RecoveryLog.js"
import type { StoreError } from "./StoreError.js"

/**
 * What plexsync tells a person about, through the notify URLs: an outage starting and ending, the worker stopping
 * for a person to act, a recovery run finishing, and the DLQ growing past its threshold. Each event is stored in
 * the outbox (JSON, this schema) under a key that names it for good, and delivered to each URL until it is taken.
 */

export const OutageStarted = Schema.Struct({
  event: Schema.Literal("outage.started"),
  at: Millis,
  outageId: OutageId,
  target: Target,
  /** What opened the breaker. */
  cause: Schema.NullOr(Schema.String)
})

export const OutageEnded = Schema.Struct({
  event: Schema.Literal("outage.ended"),
  at: Millis,
  outageId: OutageId,
  target: Target,
  startedAt: Millis,
  durationMs: Millis,
  jobsAffected: Schema.Int.pipe(Schema.nonNegative())
})

export const WorkerStoppedEvent = Schema.Struct({
  event: Schema.Literal("worker.stopped"),
  at: Millis,
  /** The error's tag, e.g. `PlexAuthError`. */
  reason: Schema.String,
  detail: Schema.String
})

export const RecoveryFinished = Schema.Struct({
  event: Schema.Literal("recovery.finished"),
  at: Millis,
  runId: Schema.Int,
  trigger: RecoveryTrigger,
  outageId: Schema.NullOr(OutageId),
  recovered: Schema.Int,
  skippedAlreadyQueued: Schema.Int,
  skippedSceneMissing: Schema.Int,
  skippedPlexDown: Schema.Int,
  failed: Schema.Int,
  stoppedBy: Schema.NullOr(RecoveryStop)
})

export const DlqGrowing = Schema.Struct({
  event: Schema.Literal("dlq.growing"),
  at: Millis,
  /** Entries not yet recovered when the threshold was crossed. */
  entries: Schema.Int.pipe(Schema.nonNegative()),
  threshold: Schema.Int.pipe(Schema.nonNegative()),
  byErrorTag: Schema.Record({ key: Schema.String, value: Schema.Int })
})

export const NotifyEvent = Schema.Union(OutageStarted, OutageEnded, WorkerStoppedEvent, RecoveryFinished, DlqGrowing)
export type NotifyEvent = typeof NotifyEvent.Type
export type NotifyEventName = NotifyEvent["event"]

export const notifyEventNames: ReadonlyArray<NotifyEventName> = [
  "outage.started",
  "outage.ended",
  "worker.stopped",
  "recovery.finished",
  "dlq.growing"
]

const seconds = (ms: number) => {
  const s = Math.round(ms / 1000)
  if (s < 120) return `${s}s`
  const m = Math.round(s / 60)
  return m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`
}

const serverName = (target: Target) => (target === "plex" ? "Plex" : "Stash")

/** A short title (ASCII: it also goes in an HTTP header) and one sentence or two for a person. */
export const describeEvent = (event: NotifyEvent): { readonly title: string; readonly message: string } => {
  switch (event.event) {
    case "outage.started":
      return {
        title: `${serverName(event.target)} is down`,
        message: `${serverName(event.target)} outage #${event.outageId} started${
          event.cause === null ? "" : `: ${event.cause}`
        }. Jobs are held and synced when it is back.`
      }
    case "outage.ended":
      return {
        title: `${serverName(event.target)} is back`,
        message: `${serverName(event.target)} outage #${event.outageId} ended after ${
          seconds(event.durationMs)
        }; ${event.jobsAffected} job(s) affected.`
      }
    case "worker.stopped":
      return {
        title: "plexsync stopped: a person must act",
        message: `The worker stopped (${event.reason}): ${event.detail} Nothing syncs until the credentials work.`
      }
    case "recovery.finished":
      return {
        title: "Recovery finished",
        message: `${event.trigger === "automatic" ? "Automatic" : "Manual"} recovery${
          event.outageId === null ? "" : ` of outage #${event.outageId}`
        } finished: ${event.recovered} re-queued, ${event.skippedAlreadyQueued} already queued, ${event.skippedSceneMissing} scene(s) gone, ${event.skippedPlexDown} skipped (Plex down), ${event.failed} failed.`
      }
    case "dlq.growing":
      return {
        title: "Dead-letter queue growing",
        message: `The dead-letter queue holds ${event.entries} entries (threshold ${event.threshold}): ${
          Object.entries(event.byErrorTag).map(([tag, n]) => `${tag} ${n}`).join(", ")
        }. See plexsync dlq list.`
      }
  }
}

/** One delivery of an event to one notify URL (`sink`: a digest of the URL, which is never stored). */
export interface Delivery {
  readonly id: number
  readonly key: string
  readonly sink: string
  readonly event: NotifyEvent
  readonly attempts: number
}

export interface OutboxSummary {
  /** Deliveries not yet taken, still being tried. */
  readonly pending: number
  /** Deliveries given up after their last try. */
  readonly abandoned: number
  /** The most recent failed attempt, if any delivery has failed. */
  readonly lastFailure: {
    readonly at: number
    readonly sink: string
    readonly event: string
    readonly error: string
  } | null
}

export interface NotificationOutboxService {
  /** Which of these keys are recorded already. */
  readonly known: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, StoreError>
  /**
   * Records the event under its key with one delivery per sink, due at once; does nothing (false) when the key
   * is recorded already, so seeing an event again never sends it again.
   */
  readonly record: (
    key: string,
    event: NotifyEvent,
    sinks: ReadonlyArray<string>,
    now: number
  ) => Effect.Effect<boolean, StoreError>
  /** Deliveries to these sinks due at `now`, oldest first. A row that does not decode is given up (and logged). */
  readonly due: (
    sinks: ReadonlyArray<string>,
    now: number,
    limit: number
  ) => Effect.Effect<ReadonlyArray<Delivery>, StoreError>
  readonly delivered: (id: number, at: number) => Effect.Effect<void, StoreError>
  /** A failed attempt: tried again at `retryAt`, or given up when it is null. */
  readonly failed: (
    id: number,
    failure: { readonly at: number; readonly error: string; readonly retryAt: number | null }
  ) => Effect.Effect<void, StoreError>
  readonly summary: (sinks: ReadonlyArray<string>) => Effect.Effect<OutboxSummary, StoreError>
  /** Forgets events (and their deliveries) recorded before `cutoff`; returns how many. */
  readonly purgeOlderThan: (cutoff: number) => Effect.Effect<number, StoreError>
}

export class NotificationOutbox extends Context.Tag("@plexsync/domain/NotificationOutbox")<
  NotificationOutbox,
  NotificationOutboxService
>() {}
