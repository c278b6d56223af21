import { ReconcileScope } from "@plexsync/domain/Reconcile"
import type { ReconcileSettings } from "@plexsync/domain/Reconcile"
import type { EngineSettings } from "@plexsync/domain/Worker"
import { defaultEngineSettings } from "@plexsync/domain/Worker"
import { Duration } from "effect"
import * as CronModule from "effect/Cron"
import type { AppConfigShape, ReconcileSchedule } from "./AppConfig.js"

/**
 * What the validated settings mean for each part, in the units the parts take: the sync engine, reconciliation
 * and the scheduler's duties. Every piece of arithmetic on settings lives here, so the programs' mains only wire.
 */

const ms = Duration.toMillis

/** The sync engine, as `plexsync run` drives it. */
export const engineSettings = (config: AppConfigShape): EngineSettings => ({
  ...defaultEngineSettings,
  concurrency: config.concurrency,
  leaseMs: ms(config.lease),
  holdLimitMs: ms(config.holdLimit),
  breakerThreshold: config.breakerThreshold,
  probeMinMs: ms(config.probeMin),
  probeMaxMs: ms(config.probeMax),
  rampFromPerSec: config.rampFrom,
  rampToPerSec: config.rampTo,
  rampOverMs: ms(config.rampOver),
  fields: new Set(config.fields),
  preservePlexEdits: config.preservePlexEdits,
  strictMatching: config.strictMatching,
  pathMap: config.pathMap,
  libraries: config.plexLibraries
})

export const reconcileSettings = (config: AppConfigShape): ReconcileSettings => ({
  fields: new Set(config.fields),
  preservePlexEdits: config.preservePlexEdits,
  pathMap: config.pathMap,
  libraries: config.plexLibraries,
  strictMatching: config.strictMatching
})

/** The scheduler's timings, derived from the settings. */
export interface SchedulerTuning {
  readonly engine: EngineSettings
  /** How long in-flight jobs get to finish on SIGTERM. */
  readonly graceMs: number
  /** A refused token needs a person; the worker looks again this often in case it was Plex that was confused. */
  readonly retryStoppedAfterMs: number
  readonly pollIntervalMs: number
  readonly recoveryCheckMs: number
  readonly dlqRetentionMs: number
  readonly recoveryHistoryMs: number
  readonly purgeIntervalMs: number
  readonly reconcile: ReconcileSchedule
  readonly reconcileScope: ReconcileScope
}

/** The longest an idle scheduler's worker sleeps without a due job or a wake-up. */
export const schedulerIdleFloorMs = 60_000

export const schedulerTuning = (config: AppConfigShape): SchedulerTuning => {
  const base = engineSettings(config)
  // The idle worker sleeps until the next due job, lease expiry or probe; a job queued meanwhile wakes it (the
  // scheduler's `Wakeups`: its own enqueues, other processes' commits). This floor only bounds a wake-up lost.
  const engine: EngineSettings = { ...base, idlePollMs: schedulerIdleFloorMs }
  const dlqRetentionMs = ms(config.dlqRetention)
  return {
    engine,
    graceMs: ms(config.shutdownGrace),
    retryStoppedAfterMs: Math.max(60_000, engine.probeMaxMs),
    pollIntervalMs: ms(config.pollInterval),
    recoveryCheckMs: engine.probeMinMs,
    dlqRetentionMs,
    recoveryHistoryMs: ms(config.recoveryHistory),
    // Retention is counted in days; once an hour (or ten times per retention period, if shorter) is plenty.
    purgeIntervalMs: Math.min(3_600_000, Math.max(1_000, Math.floor(dlqRetentionMs / 10))),
    reconcile: config.reconcileSchedule,
    reconcileScope: config.reconcileScope._tag === "All"
      ? ReconcileScope.all
      : ReconcileScope.recent(config.reconcileScope.name, config.reconcileScope.within)
  }
}

/**
 * When the next scheduled reconciliation starts, from now and the end of the last one (null: none has run);
 * null when none is scheduled. An interval counts from the last run's end (at once when that is overdue, and one
 * interval after `startedAt`, the scheduler's start, when none has run); a cron time is its next match after now.
 */
export const nextReconcileAt = (
  schedule: ReconcileSchedule,
  now: number,
  lastFinishedAt: number | null,
  startedAt: number = now
): number | null => {
  switch (schedule._tag) {
    case "Never":
      return null
    case "Every": {
      const everyMs = ms(schedule.interval)
      return lastFinishedAt === null ? startedAt + everyMs : Math.max(now, lastFinishedAt + everyMs)
    }
    case "At":
      try {
        return CronModule.next(schedule.cron, new Date(now)).getTime()
      } catch {
        // No date matches (the configuration refuses such an expression; a hand-made one may still get here).
        return null
      }
  }
}

/** The schedule in words: `never`, `every 6h`, `daily`, `cron "30 3 * * *", local time`. */
export const describeReconcileSchedule = (schedule: ReconcileSchedule): string =>
  schedule._tag === "Never"
    ? "never"
    : schedule._tag === "Every"
    ? (/^[a-z]+ly$/.test(schedule.name) ? schedule.name : `every ${schedule.name}`)
    : `cron "${schedule.expression}", local time`
