import type { Effect, Option } from "effect"
import { Context, Schema } from "effect"
import { ErrorTag } from "./Errors.js"
import { DeadLetterId, JobId, Millis, OutageId, SceneId } from "./Ids.js"
import type { RowDecodeError, StoreError } from "./StoreError.js"
import { JobReason } from "./SyncJob.js"

/** What a DLQ entry needs to be re-queued: the job as it was, never a metadata snapshot. */
export const DeadLetterPayload = Schema.Struct({
  sceneId: SceneId,
  reason: JobReason
})
export type DeadLetterPayload = typeof DeadLetterPayload.Type

/**
 * Why an entry no longer needs a person although it was not re-queued from the DLQ: its scene was queued again by
 * other means (`superseded`: a newer job, or another entry of the scene re-queued), or the scene is gone from
 * Stash (`scene-deleted`).
 */
export const DeadLetterResolution = Schema.Literal("superseded", "scene-deleted")
export type DeadLetterResolution = typeof DeadLetterResolution.Type

/** What a list shows of an entry: all but the error's detail and the job's payload, which `get` adds. */
export class DeadLetterSummary extends Schema.Class<DeadLetterSummary>("DeadLetterSummary")({
  id: DeadLetterId,
  sceneId: SceneId,
  errorTag: ErrorTag,
  message: Schema.String,
  attempts: Schema.Int.pipe(Schema.nonNegative()),
  failedAt: Millis,
  /** The outage that was open when the job failed, if any. */
  outageId: Schema.NullOr(OutageId),
  recoveredAt: Schema.NullOr(Millis),
  recoveredJobId: Schema.NullOr(JobId),
  /** When and why it was resolved without being re-queued (see `DeadLetterResolution`); null while open. */
  resolvedAt: Schema.NullOr(Millis),
  resolution: Schema.NullOr(DeadLetterResolution)
}) {}

export class DeadLetterEntry extends DeadLetterSummary.extend<DeadLetterEntry>("DeadLetterEntry")({
  /** The encoded tagged error (status, code, candidates, …). */
  detail: Schema.Unknown,
  payload: DeadLetterPayload
}) {}

export interface NewDeadLetter {
  readonly sceneId: SceneId
  readonly errorTag: ErrorTag
  readonly message: string
  readonly detail?: unknown
  readonly attempts: number
  readonly failedAt?: number
  readonly outageId: OutageId | null
  readonly payload: DeadLetterPayload
}

/** Selection of DLQ entries. Every given condition must hold. Results come oldest first (`failedAt`, then `id`). */
export interface DeadLetterFilter {
  /** Inclusive lower bound on `failedAt` (ms). */
  readonly from?: number
  /** Inclusive upper bound on `failedAt` (ms). */
  readonly to?: number
  /** Only these tags. An empty array selects nothing. */
  readonly errorTags?: ReadonlyArray<ErrorTag>
  readonly sceneId?: SceneId
  /** `false`: only entries not yet recovered; `true`: only recovered ones; absent: both. */
  readonly recovered?: boolean
  /** `false`: only entries not resolved (superseded, scene deleted); `true`: only resolved ones; absent: both. */
  readonly resolved?: boolean
  /** Keyset paging: only entries after this position in the order. */
  readonly after?: { readonly failedAt: number; readonly id: DeadLetterId }
  readonly limit?: number
}

export interface DeadLetterList {
  /** Summaries: a list decodes only what it shows (a window of a large DLQ is mostly decoding otherwise). */
  readonly entries: ReadonlyArray<DeadLetterSummary>
  /** Rows in the selection that could not be decoded; reported, never blocking the others. */
  readonly undecodable: ReadonlyArray<RowDecodeError>
}

/** What happened to one entry of a redrive. */
export type RedriveOutcome =
  | { readonly _tag: "Recovered"; readonly id: DeadLetterId; readonly sceneId: SceneId; readonly jobId: JobId }
  | { readonly _tag: "AlreadyQueued"; readonly id: DeadLetterId; readonly sceneId: SceneId }
  | { readonly _tag: "AlreadyRecovered"; readonly id: DeadLetterId; readonly sceneId: SceneId }

export interface DeadLetterQueueService {
  readonly add: (entry: NewDeadLetter) => Effect.Effect<DeadLetterId, StoreError>
  readonly list: (filter: DeadLetterFilter) => Effect.Effect<DeadLetterList, StoreError>
  readonly count: (filter: DeadLetterFilter) => Effect.Effect<number, StoreError>
  readonly get: (id: DeadLetterId) => Effect.Effect<Option.Option<DeadLetterEntry>, StoreError | RowDecodeError>
  /** Entries still open (neither recovered nor resolved), by error tag. */
  readonly countByTag: Effect.Effect<Readonly<Record<string, number>>, StoreError>
  /**
   * Of these scenes, those with an entry not yet recovered under one of `errorTags`, each with the latest such
   * entry's `failedAt`: an indexed lookup by scene (one statement per 500 scenes), for reconciliation.
   */
  readonly unrecoveredScenes: (
    sceneIds: ReadonlyArray<SceneId>,
    errorTags: ReadonlyArray<ErrorTag>
  ) => Effect.Effect<ReadonlyMap<SceneId, number>, StoreError>
  /**
   * Resolves open entries (neither recovered nor resolved yet) with the reason; returns how many changed. Entries
   * already closed are left as they are, so resolving twice changes nothing.
   */
  readonly resolve: (
    ids: ReadonlyArray<DeadLetterId>,
    resolution: DeadLetterResolution
  ) => Effect.Effect<number, StoreError>
  /** Deletes entries that failed before `cutoff` (ms); returns how many. */
  readonly purgeOlderThan: (cutoff: number) => Effect.Effect<number, StoreError>
  readonly purgeAll: Effect.Effect<number, StoreError>
  /** Deletes these entries (ids without an entry are ignored); returns how many were deleted. */
  readonly purgeIds: (ids: ReadonlyArray<DeadLetterId>) => Effect.Effect<number, StoreError>
  /**
   * Re-queues entries and marks them recovered, in one transaction: each entry either gets a new job
   * (attempts 0, the given reason) and is marked recovered with its id, or is reported as already queued
   * (its scene has a queued or running job: the entry is resolved as `superseded`) or already recovered. A crash
   * leaves all or none of it.
   */
  readonly redrive: (
    entries: ReadonlyArray<{ readonly id: DeadLetterId; readonly sceneId: SceneId }>,
    options: { readonly reason: JobReason }
  ) => Effect.Effect<ReadonlyArray<RedriveOutcome>, StoreError>
}

export class DeadLetterQueue extends Context.Tag("@plexsync/domain/DeadLetterQueue")<
  DeadLetterQueue,
  DeadLetterQueueService
>() {}
