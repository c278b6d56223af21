import { Schema } from "effect"
import { ErrorTag } from "./Errors.js"
import { JobId, Millis, SceneId } from "./Ids.js"

/** Why a job was queued. */
export const JobReason = Schema.Literal(
  "hook",
  "poll",
  "bulk",
  "reconcile",
  "recovery",
  "manual",
  // A tag, performer, studio or group the scene uses was edited (renamed, …) or merged into …
  "tag-changed",
  "performer-changed",
  "studio-changed",
  "group-changed",
  // … or was deleted (or merged away): found from what plexsync last synced, not from Stash.
  "tag-deleted",
  "performer-deleted",
  "studio-deleted",
  "group-deleted"
)
export type JobReason = typeof JobReason.Type

export const JobState = Schema.Literal("queued", "running")
export type JobState = typeof JobState.Type

/**
 * One pending sync. It carries the scene id and why it was queued — never a metadata snapshot:
 * the worker fetches the scene fresh, so a job cannot write stale data.
 */
export class SyncJob extends Schema.Class<SyncJob>("SyncJob")({
  id: JobId,
  sceneId: SceneId,
  reason: JobReason,
  state: JobState,
  attempts: Schema.Int.pipe(Schema.nonNegative()),
  /** Due time: the job is not claimed before this. */
  availableAt: Millis,
  createdAt: Millis,
  updatedAt: Millis,
  leaseUntil: Schema.NullOr(Millis),
  lastErrorTag: Schema.NullOr(ErrorTag),
  lastError: Schema.NullOr(Schema.String),
  /** Set while the job waits on an open breaker: when it was first held. */
  heldSince: Schema.NullOr(Millis)
}) {}

/** A job claimed by a worker, with the lease token that proves it still owns the job. */
export interface ClaimedJob {
  readonly job: SyncJob
  readonly leaseToken: string
}

export interface EnqueueInput {
  readonly sceneId: SceneId
  readonly reason: JobReason
  /** Defaults to now. */
  readonly availableAt?: number
}

export interface EnqueueResult {
  readonly jobId: JobId
  /** True when the scene already had a queued job and this event merged into it. */
  readonly coalesced: boolean
}

export const QueueCounts = Schema.Struct({
  /** Every waiting job (due and held are parts of it). */
  queued: Schema.Int,
  /** Waiting and due now, not held (held jobs are counted in `held` only). */
  due: Schema.Int,
  /** Claimed by a worker with a live lease. */
  running: Schema.Int,
  /** Waiting because a breaker is open. */
  held: Schema.Int
})
export type QueueCounts = typeof QueueCounts.Type
