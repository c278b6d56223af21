import type { BreakerState } from "@plexsync/domain/BreakerStore"
import type { DeadLetterEntry, DeadLetterSummary } from "@plexsync/domain/DeadLetterQueue"
import type { Outage } from "@plexsync/domain/OutageHistory"
import type { RecoveryResult, RecoveryRun } from "@plexsync/domain/RecoveryLog"
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
  finishedAt: isoOrNull(run.finishedAt),
  trigger: run.trigger,
  ...recoveryResultDocument(run.result)
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
  recoveredJobId: entry.recoveredJobId
})

export const deadLetterDetailDocument = (entry: DeadLetterEntry) => ({
  ...deadLetterDocument(entry),
  detail: entry.detail,
  payload: entry.payload
})
