import type { BreakerState } from "@plexsync/domain/BreakerStore"
import type { DeadLetterEntry, DeadLetterSummary } from "@plexsync/domain/DeadLetterQueue"
import type { Outage } from "@plexsync/domain/OutageHistory"
import type { ReconcileRun } from "@plexsync/domain/ReconcileLog"
import type { RecoveryResult, RecoveryRun } from "@plexsync/domain/RecoveryLog"
import { recoveryOutcome } from "@plexsync/domain/RecoveryLog"
import type { SyncJob } from "@plexsync/domain/SyncJob"
import type { SceneSyncState } from "@plexsync/domain/SyncState"
import { isoOrNull } from "./Present.js"

/**
 * The JSON documents the commands print with `--json` (README), built from the domain models: times become ISO-8601 UTC strings, absent
 * values `null`. Shared by the CLI's `--json` output and the scheduler's HTTP answers.
 */

export const outageDocument = (outage: Outage, now: number) => ({
  id: outage.id,
  target: outage.target,
  startedAt: isoOrNull(outage.startedAt),
  endedAt: isoOrNull(outage.endedAt),
  durationMs: (outage.endedAt ?? now) - outage.startedAt,
  ongoing: outage.endedAt === null,
  jobsAffected: outage.jobsAffected,
  cause: outage.cause
})
export type OutageDocument = ReturnType<typeof outageDocument>

export const breakerDocument = (breaker: BreakerState) => ({
  state: breaker.state,
  openedAt: isoOrNull(breaker.openedAt),
  consecutiveFailures: breaker.consecutiveFailures,
  nextProbeAt: isoOrNull(breaker.nextProbeAt),
  lastError: breaker.lastError
})
export type BreakerDocument = ReturnType<typeof breakerDocument>

export const recoveryResultDocument = (result: RecoveryResult) => ({
  window: {
    from: isoOrNull(result.window.from),
    to: isoOrNull(result.window.to),
    outageId: result.window.outageId
  },
  errorTags: result.errorTags,
  dryRun: result.dryRun,
  recovered: result.recovered,
  skippedAlreadyQueued: result.skippedAlreadyQueued,
  skippedPlexDown: result.skippedPlexDown,
  skippedSceneMissing: result.skippedSceneMissing,
  failed: result.failed,
  recoveredSceneIds: result.recoveredSceneIds
})
export type RecoveryResultDocument = ReturnType<typeof recoveryResultDocument>

export const recoveryRunDocument = (run: RecoveryRun) => ({
  id: run.id,
  startedAt: isoOrNull(run.startedAt),
  /** Null for a run that never finished (killed, or still running). */
  finishedAt: isoOrNull(run.finishedAt),
  trigger: run.trigger,
  ...recoveryResultDocument(run.result),
  /** `completed` (went through its selection), `stopped` (see `stoppedBy`) or `unfinished`. */
  outcome: recoveryOutcome(run),
  stoppedBy: run.result.stoppedBy,
  /** Attempts folded into this row: tries that the Plex gate stopped the same way, one after another. */
  attempts: run.attempts
})

/**
 * A reconciliation of the history: its id, then its stored record (the `reconcile --json` document, ids cut to the
 * first 100; `startedAt` and `finishedAt` as the row has them).
 */
export const reconcileRunDocument = (run: ReconcileRun) => ({
  ...(typeof run.record === "object" && run.record !== null ? run.record : {}),
  id: run.id,
  startedAt: isoOrNull(run.startedAt),
  finishedAt: isoOrNull(run.finishedAt)
})

/** A DLQ entry for `dlq list --json`; `detail` and `payload` are added by `dlq show`. */
export const deadLetterDocument = (entry: DeadLetterSummary) => ({
  id: entry.id,
  sceneId: entry.sceneId,
  errorTag: entry.errorTag,
  message: entry.message,
  attempts: entry.attempts,
  failedAt: isoOrNull(entry.failedAt),
  outageId: entry.outageId,
  recoveredAt: isoOrNull(entry.recoveredAt),
  recoveredJobId: entry.recoveredJobId,
  resolvedAt: isoOrNull(entry.resolvedAt),
  resolution: entry.resolution
})

export const deadLetterDetailDocument = (entry: DeadLetterEntry) => ({
  ...deadLetterDocument(entry),
  detail: entry.detail,
  payload: entry.payload
})

/** A queued or running job (the API's queue and scene documents). */
export const jobDocument = (job: SyncJob) => ({
  id: job.id,
  sceneId: job.sceneId,
  reason: job.reason,
  state: job.state,
  attempts: job.attempts,
  availableAt: isoOrNull(job.availableAt),
  createdAt: isoOrNull(job.createdAt),
  updatedAt: isoOrNull(job.updatedAt),
  leaseUntil: isoOrNull(job.leaseUntil),
  heldSince: isoOrNull(job.heldSince),
  lastErrorTag: job.lastErrorTag,
  lastError: job.lastError
})

/** What plexsync last wrote for a scene: when, from which version of the scene, to which Plex items. */
export const syncStateDocument = (state: SceneSyncState) => ({
  syncedAt: isoOrNull(state.syncedAt),
  stashUpdatedAt: state.stashUpdatedAt,
  contentHash: state.contentHash,
  imageHash: state.imageHash,
  ratingKey: state.ratingKey,
  copies: state.copies,
  plexFile: state.plexFile
})
