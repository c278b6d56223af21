import type { Effect, Option } from "effect"
import { Context } from "effect"
import type { ErrorTag } from "./Errors.js"
import type { DeadLetterId, JobId, OutageId, SceneId } from "./Ids.js"
import type { LeaseLost, RowDecodeError, StoreError } from "./StoreError.js"
import type { ClaimedJob, EnqueueInput, EnqueueResult, JobState, QueueCounts, SyncJob } from "./SyncJob.js"

export interface JobFailure {
  readonly tag: ErrorTag
  readonly message: string
  /** The encoded tagged error, kept in the DLQ for a person to read. */
  readonly detail?: unknown
}

export interface SyncQueueService {
  /** Queues a sync; coalesces into the scene's queued job if it has one (the earlier due time wins). */
  readonly enqueue: (input: EnqueueInput) => Effect.Effect<EnqueueResult, StoreError>
  /** Many at once, in one transaction. */
  readonly enqueueMany: (
    inputs: ReadonlyArray<EnqueueInput>
  ) => Effect.Effect<{ readonly inserted: number; readonly coalesced: number }, StoreError>
  /**
   * Claims up to `limit` due jobs in due-time order with a lease of `leaseMs`. Jobs whose lease expired
   * are claimable again (crash recovery); a scene with a live running job is not claimed twice.
   */
  readonly claim: (
    options: { readonly limit: number; readonly leaseMs: number }
  ) => Effect.Effect<ReadonlyArray<ClaimedJob>, StoreError>
  /** Extends a live lease. Fails with `LeaseLost` when the lease was lost. */
  readonly renew: (claimed: ClaimedJob, leaseMs: number) => Effect.Effect<void, StoreError | LeaseLost>
  /** The job is done: it leaves the table. */
  readonly complete: (claimed: ClaimedJob) => Effect.Effect<void, StoreError | LeaseLost>
  /**
   * Back to the queue, due at `availableAt`. `countAttempt: false` with `held: true` is a job held by an
   * open breaker: no attempt is spent and `heldSince` is kept from the first hold.
   */
  readonly retryLater: (
    claimed: ClaimedJob,
    options: {
      readonly availableAt: number
      readonly failure: JobFailure
      readonly countAttempt: boolean
      readonly held: boolean
    }
  ) => Effect.Effect<void, StoreError | LeaseLost>
  /**
   * Ends now the lease of every running job: they were claimed by a worker that no longer runs (the worker lease
   * was just taken over from a dead process, and only the worker lease's holder claims jobs). The next claim takes
   * them back as it takes back any expired lease, instead of leaving them to wait out a lease nobody renews.
   * Returns how many jobs it ended.
   */
  readonly endLeases: Effect.Effect<number, StoreError>
  /** Back to the queue unchanged and due now (shutdown, or a job claimed but not started). */
  readonly release: (claimed: ClaimedJob) => Effect.Effect<void, StoreError | LeaseLost>
  /** Moves the job to the DLQ in one transaction (delete + insert). */
  readonly deadLetter: (
    claimed: ClaimedJob,
    options: { readonly failure: JobFailure; readonly outageId: OutageId | null; readonly countAttempt: boolean }
  ) => Effect.Effect<DeadLetterId, StoreError | LeaseLost>
  /**
   * Moves every queued job held since before `heldBefore` whose last error has one of `errorTags` (those of the
   * target whose outage holds it) to the DLQ with the given failure and outage: a long outage ends in the DLQ
   * under the outage class, where outage recovery finds it.
   */
  readonly deadLetterHeld: (
    options: {
      readonly heldBefore: number
      readonly errorTags: ReadonlyArray<ErrorTag>
      readonly failure: JobFailure
      readonly outageId: OutageId | null
    }
  ) => Effect.Effect<number, StoreError>
  /**
   * Makes every queued job whose last error has one of `errorTags` due now and no longer held, without changing
   * its attempts: when a target's breaker closes, jobs that failed against the down target before the breaker
   * opened need not wait out their backoff. With `sceneIds`, only those scenes' jobs (a scan of their library ended).
   * Returns how many jobs changed.
   */
  readonly makeDue: (
    options: { readonly errorTags: ReadonlyArray<ErrorTag>; readonly sceneIds?: ReadonlyArray<SceneId> }
  ) => Effect.Effect<number, StoreError>
  /**
   * Holds every queued job whose last error has one of `errorTags` and that is not held yet, as held since
   * `heldSince`, due time and attempts unchanged: when a breaker opens, the jobs that failed against the target just
   * before (waiting out a backoff) are held by the outage like those failing after it, so the hold limit applies to
   * them too. Returns their ids.
   */
  readonly holdFailed: (
    options: { readonly errorTags: ReadonlyArray<ErrorTag>; readonly heldSince: number }
  ) => Effect.Effect<ReadonlyArray<JobId>, StoreError>
  readonly counts: Effect.Effect<QueueCounts, StoreError>
  /** The due time of the next queued job, if any. */
  readonly nextDueAt: Effect.Effect<Option.Option<number>, StoreError>
  /** Which of these scenes have a queued or running job: an indexed lookup, not a scan of the queue. */
  readonly activeScenes: (sceneIds: ReadonlyArray<SceneId>) => Effect.Effect<ReadonlySet<SceneId>, StoreError>
  readonly get: (id: number) => Effect.Effect<Option.Option<SyncJob>, StoreError | RowDecodeError>
  /** Jobs in due order (for `status`, the API's queue and tests), of one state if given. */
  readonly list: (
    options: { readonly limit: number; readonly state?: JobState }
  ) => Effect.Effect<ReadonlyArray<SyncJob>, StoreError>
  /** A scene's queued and running jobs (at most one of each), off the per-scene indexes. */
  readonly forScene: (sceneId: SceneId) => Effect.Effect<ReadonlyArray<SyncJob>, StoreError>
}

export class SyncQueue extends Context.Tag("@plexsync/domain/SyncQueue")<SyncQueue, SyncQueueService>() {}
