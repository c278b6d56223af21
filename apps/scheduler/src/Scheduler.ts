import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { ThisHost } from "@plexsync/domain/LeaseHolder"
import { forgetBaseline } from "@plexsync/domain/NotificationWatch"
import { RecoveryLog } from "@plexsync/domain/RecoveryLog"
import type { ReconcileSchedule } from "@plexsync/runtime/AppConfig"
import { lastReconcileFinishedAt } from "@plexsync/runtime/Status"
import { nextReconcileAt } from "@plexsync/runtime/Tuning"
import { Clock, Context, Effect, Layer } from "effect"
import { recoverClosedOutages, recoveryPending } from "./AutoRecovery.js"
import { ChangeFeed } from "./ChangeFeed.js"
import { duty, dutyAt, dutyWoken } from "./Duty.js"
import * as Exposition from "./Exposition.js"
import * as Notifier from "./Notifier.js"
import type { Sink } from "./NotifySinks.js"
import { RunnerState } from "./RunnerState.js"
import { Wakeups } from "./Wakeups.js"
import { superviseWorker } from "./WorkerLease.js"

/**
 * The scheduler's duties, each a supervised fiber on its own schedule, all in one scope: closing the scope
 * (SIGTERM/SIGINT) stops them, and the worker's shutdown gives in-flight jobs their grace period.
 *
 * The health supervisor is the engine's: while a breaker is open, the worker (in the worker slot) runs the deep
 * health probes on the breaker's backoff, and closes the outage when a probe and a trial job succeed. Lease
 * sweeping needs no duty either: a job whose lease expired is claimable again by `claim`.
 */

export interface SchedulerOptions {
  /** This process in the worker lease (host, pid, a random id). */
  readonly here: ThisHost
  readonly leaseMs: number
  /**
   * How long the worker slot may take to return after shutdown starts before it is interrupted. The engine's own
   * grace (`PLEXSYNC_SHUTDOWN_GRACE`) runs inside it, so this is that grace plus a margin to release leases.
   */
  readonly shutdownGraceMs: number
  /** How often the Stash change feed is read. */
  readonly pollIntervalMs: number
  /**
   * How often closed outages are looked for while one is open (the breaker's shortest probe interval: an outage
   * closes on a probe); with none open, a closing outage wakes the look.
   */
  readonly recoveryCheckMs: number
  readonly dlqRetentionMs: number
  /** How long recovery runs' audit rows are kept (`PLEXSYNC_RECOVERY_HISTORY`); pruned with the DLQ. */
  readonly recoveryHistoryMs?: number
  readonly purgeIntervalMs: number
  /** When scheduled reconciliations run (`PLEXSYNC_RECONCILE_AT` / `PLEXSYNC_RECONCILE_INTERVAL`). */
  readonly reconcile: ReconcileSchedule
  /** Notifications (`PLEXSYNC_NOTIFY_URLS`), looked for as often as closed outages are; none: off. */
  readonly notify?: Notifier.NotifierOptions & { readonly sinks: ReadonlyArray<Sink> }
}

/** What a scheduled reconciliation runs (the scheduler's Layers give it the services it needs). */
export class ReconcileSlot extends Context.Tag("@plexsync/scheduler/ReconcileSlot")<
  ReconcileSlot,
  { readonly run: Effect.Effect<unknown, unknown> }
>() {}

const purgeTick = (retentionMs: number, recoveryHistoryMs: number) =>
  Effect.gen(function*() {
    const dlq = yield* DeadLetterQueue
    const state = yield* RunnerState
    const now = yield* Clock.currentTimeMillis
    const pruned = yield* Effect.flatMap(RecoveryLog, (log) => log.prune(now - recoveryHistoryMs))
    if (pruned > 0) yield* Effect.logDebug(`Recovery history: ${pruned} audit rows past their retention deleted`)
    const purged = yield* dlq.purgeOlderThan(now - retentionMs)
    yield* state.recordPurge({ at: now, purged })
    if (purged > 0) {
      yield* Effect.logInfo(
        `DLQ retention: purged ${purged} entr${purged === 1 ? "y" : "ies"} older than ${
          Math.round(retentionMs / 86_400_000)
        }d`
      )
    }
  })

const pollTick = Effect.gen(function*() {
  const feed = yield* ChangeFeed
  const state = yield* RunnerState
  const result = yield* feed.poll.pipe(
    Effect.tapError((error) =>
      Clock.currentTimeMillis.pipe(
        Effect.flatMap((at) =>
          state.recordPoll({ at, read: 0, queued: 0, watermark: null, error: `${error._tag}: ${error.message}` })
        )
      )
    )
  )
  const at = yield* Clock.currentTimeMillis
  yield* state.recordPoll({ at, read: result.read, queued: result.queued, watermark: result.watermark, error: null })
})

/**
 * Expands the object events a hook recorded through this process's `POST /hooks/stash` as soon as it asks. A
 * failure (Stash down) leaves the events for the next request or the next poll, which expands them too.
 */
const hookEventsTick = Effect.gen(function*() {
  const feed = yield* ChangeFeed
  yield* feed.drainRequested
  yield* feed.drainEvents.pipe(
    Effect.catchAll((error) =>
      Effect.logWarning(
        `expanding the hooks' object events failed (the change feed tries again at its next poll): ${error.message}`
      )
    )
  )
})

/**
 * Runs `tick` only while this process holds the worker lease: outage recovery, retention and reconciliation act
 * for the whole database, so one process does them. (The change feed and the HTTP face run in every process:
 * what they enqueue coalesces.)
 */
const whileHoldingLease = <A, E, R>(tick: Effect.Effect<A, E, R>) =>
  Effect.flatMap(RunnerState, (state) => state.snapshot).pipe(
    Effect.flatMap((snapshot) => (snapshot.worker._tag === "Running" ? Effect.asVoid(tick) : Effect.void))
  )

/** How often automatic recovery looks with no outage open: a closed outage wakes it, this only bounds one missed. */
export const recoveryIdleCheckMs = 300_000

/** Forks every duty into the current scope. */
export const startDuties = (options: SchedulerOptions) =>
  Effect.gen(function*() {
    // Every series of /metrics exists from the start, at 0.
    yield* Exposition.initialise
    yield* Effect.forkScoped(
      superviseWorker({
        here: options.here,
        leaseMs: options.leaseMs,
        shutdownGraceMs: options.shutdownGraceMs
      })
    )
    yield* Effect.forkScoped(duty("change feed", pollTick, options.pollIntervalMs))
    // Waits on the HTTP face's requests: no interval of its own.
    yield* Effect.forkScoped(duty("hook events", hookEventsTick, 0))
    // An outage closing (here, or a commit of another process) wakes it; it looks every `recoveryCheckMs` only while
    // an outage is open or waits for its recovery, or while another process holds the worker lease.
    yield* Effect.forkScoped(
      dutyWoken(
        "outage recovery",
        Effect.flatMap(RunnerState, (state) => state.snapshot).pipe(
          Effect.flatMap((snapshot) =>
            snapshot.worker._tag === "Running"
              ? Effect.zipRight(recoverClosedOutages, recoveryPending)
              : Effect.succeed(true)
          )
        ),
        {
          wakeups: (yield* Wakeups).stream,
          everyMs: Math.max(options.recoveryCheckMs, recoveryIdleCheckMs),
          pendingMs: options.recoveryCheckMs
        }
      )
    )
    yield* Effect.forkScoped(
      duty(
        "DLQ retention",
        whileHoldingLease(purgeTick(options.dlqRetentionMs, options.recoveryHistoryMs ?? 90 * 86_400_000)),
        options.purgeIntervalMs,
        {
          firstAfterInterval: true
        }
      )
    )
    const notify = options.notify
    if (notify !== undefined && notify.sinks.length > 0) {
      yield* Notifier.initialiseMetrics(notify.sinks)
      yield* Effect.forkScoped(
        duty("notifications", whileHoldingLease(Notifier.tick(notify.sinks, notify)), options.recoveryCheckMs)
      )
    } else {
      yield* Effect.ignore(forgetBaseline)
    }

    // ---- Scheduled reconciliation: at the next time the schedule gives, counted from the last one's end. ----
    if (options.reconcile._tag !== "Never") {
      const reconcile = yield* ReconcileSlot
      const timing = options.reconcile
      const nextAt = Effect.all([Clock.currentTimeMillis, lastReconcileFinishedAt, RunnerState]).pipe(
        Effect.flatMap(([now, last, state]) =>
          Effect.map(state.snapshot, (snapshot) => nextReconcileAt(timing, now, last, snapshot.startedAt))
        ),
        // An unreadable record counts as none: the schedule goes on from the start.
        Effect.orElseSucceed(() => null as number | null)
      )
      yield* Effect.forkScoped(
        dutyAt("reconciliation", whileHoldingLease(reconcile.run), nextAt, { retryAfterMs: 60_000 })
      )
    }
  })

export const layer = (options: SchedulerOptions) => Layer.scopedDiscard(startDuties(options))
