import {
  Cause,
  Clock,
  Context,
  Data,
  Duration,
  Effect,
  Exit,
  Fiber,
  Metric,
  MetricBoundaries,
  Option,
  Queue,
  Random,
  Ref,
  Schema,
  Stream
} from "effect"
import { defaultAdaptiveLimit, limitedPlexClient, makeAdaptiveLimiter } from "./AdaptiveLimit.js"
import type { BreakerStore } from "./BreakerStore.js"
import * as CircuitBreaker from "./CircuitBreaker.js"
import { errorPolicy } from "./ErrorPolicy.js"
import type { ErrorTag } from "./Errors.js"
import { SyncError } from "./Errors.js"
import type { SyncField } from "./FieldMapping.js"
import { allSyncFields } from "./FieldMapping.js"
import { defaultMatchOptions, makeMatcher } from "./Matching.js"
import type { OutageHistory } from "./OutageHistory.js"
import type { PathMap } from "./PathMap.js"
import { sectionsForPath } from "./PathMap.js"
import { PlexClient } from "./PlexClient.js"
import { PlexEvents } from "./PlexEvents.js"
import type { ScanWaits } from "./ScanWaits.js"
import { makeScanWaits } from "./ScanWaits.js"
import { Settings } from "./Settings.js"
import * as Settle from "./Settle.js"
import type { StashClient } from "./StashClient.js"
import type { StoreError } from "./StoreError.js"
import type { ClaimedJob } from "./SyncJob.js"
import type { JobFailure } from "./SyncQueue.js"
import { SyncQueue } from "./SyncQueue.js"
import type { SyncOutcome, SyncSceneError } from "./SyncScene.js"
import { syncScene } from "./SyncScene.js"
import type { SyncState } from "./SyncState.js"
import type { TargetHealthSettings } from "./TargetHealth.js"
import { makeTargetHealth, targets } from "./TargetHealth.js"
import { clearStop, recordStop } from "./WorkerStop.js"

// ---------------------------------------------------------------------------------------------------------
// Settings

/** The engine's settings (the `PLEXSYNC_*` tunables; see docs/architecture.md), as plain values. */
/** The engine's settings; breakers, probes, the hold limit and the ramp are `TargetHealthSettings`' (`PLEXSYNC_*`). */
export interface EngineSettings extends TargetHealthSettings {
  /**
   * Jobs in flight at most (`PLEXSYNC_CONCURRENCY`). The worker runs as many as Plex takes without slowing down or
   * failing, up to this (see `AdaptiveLimit`).
   */
  readonly concurrency: number
  /** `fixed`: always `concurrency` jobs at once, whatever Plex's answers (for comparisons). Default `adaptive`. */
  readonly concurrencyMode?: "adaptive" | "fixed"
  /** A claimed job's lease; renewed every third of it while the job runs (`PLEXSYNC_LEASE`). */
  readonly leaseMs: number
  readonly fields: ReadonlySet<SyncField>
  readonly preservePlexEdits: boolean
  readonly strictMatching: boolean
  readonly pathMap: PathMap
  /** Plex section titles to match in; empty: every movie section. */
  readonly libraries: ReadonlyArray<string>
  /**
   * `run`: the longest an idle worker sleeps when no job is due, no lease expires and no probe is due before. With
   * `wakeups` (every enqueue wakes it) this only bounds a lost wake-up; without, it is how often new work is found.
   */
  readonly idlePollMs: number
  /** On a match miss, ask Plex once per folder to scan it. */
  readonly scanOnMiss: boolean
  /** The section index is rebuilt on a miss at most this often. */
  readonly indexRefreshMs: number
}

export const defaultEngineSettings: EngineSettings = {
  concurrency: 4,
  leaseMs: 15_000,
  holdLimitMs: 72 * 3_600_000,
  breakerThreshold: 5,
  probeMinMs: 5_000,
  probeMaxMs: 60_000,
  rampFromPerSec: 5,
  rampToPerSec: 20,
  rampOverMs: 300_000,
  fields: new Set(allSyncFields),
  preservePlexEdits: false,
  strictMatching: true,
  pathMap: [],
  libraries: [],
  idlePollMs: 1_000,
  scanOnMiss: true,
  indexRefreshMs: 300_000
}

// ---------------------------------------------------------------------------------------------------------
// Results, errors, metrics

/** The worker stopped because a person must act (a refused token or API key, missing permissions). */
export class WorkerStopped extends Data.TaggedError("WorkerStopped")<{
  readonly reason: ErrorTag
  readonly message: string
}> {}

export interface DrainSummary {
  /** Jobs claimed and settled. */
  readonly processed: number
  /** Plex was written to. */
  readonly synced: number
  /** Nothing to write (the scene was unchanged, or Plex already matched). */
  readonly unchanged: number
  /** The scene no longer exists in Stash. */
  readonly dropped: number
  /** Put back with a backoff (an attempt spent). */
  readonly retried: number
  /** Put back without spending an attempt because a breaker was open. */
  readonly held: number
  /** Moved to the DLQ (including jobs held past the hold limit). */
  readonly deadLettered: number
  /** Set when the worker stopped on an auth or permission error; the jobs stay queued. */
  readonly stoppedBy: WorkerStopped | null
}

export type JobOutcome =
  | "synced"
  | "unchanged"
  | "dropped"
  | "retried"
  | "held"
  | "dead_lettered"
  | "stopped"
  | "lease_lost"

/** Jobs settled, by outcome (`outcome` tag). */
export const jobsProcessed = Metric.counter("plexsync_jobs_processed_total", {
  description: "Sync jobs settled by the worker, by outcome",
  incremental: true
})

/** Seconds from claim to settled, per job. */
export const syncLatency = Metric.histogram(
  "plexsync_sync_latency_seconds",
  MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 14 }),
  "Time to sync one scene, in seconds"
)

export interface DrainOptions {
  /** Keep going until the queue is empty, sleeping (on `Clock`) through backoffs and outages. */
  readonly wait?: boolean
  /** Claim at most this many jobs. */
  readonly maxJobs?: number
  /** When this completes, claim nothing more and return once in-flight jobs settled. */
  readonly stop?: Effect.Effect<void>
  /** Each element: a job may have been queued — look at the queue now instead of at the next idle poll. */
  readonly wakeups?: Stream.Stream<void>
  /** Told of every job as it settles (a command's progress); its failures are ignored. */
  readonly onSettled?: (job: SettledJob) => Effect.Effect<void>
}

/** A job that just settled, and how. */
export interface SettledJob {
  readonly jobId: number
  readonly sceneId: string
  readonly outcome: JobOutcome
}

export interface RunOptions {
  /** When this completes, claim nothing more; in-flight jobs get `graceMs`, then they are interrupted (released). */
  readonly stop: Effect.Effect<void>
  readonly graceMs?: number
  /** Each element: a job may have been queued — look at the queue now instead of at the next idle poll. */
  readonly wakeups?: Stream.Stream<void>
}

export interface Worker {
  /** Processes until nothing is due (held jobs are not due); with `wait`, until the queue is empty. */
  readonly drain: (options?: DrainOptions) => Effect.Effect<DrainSummary, StoreError>
  /** `drain()`: one pass until nothing is due. */
  readonly runOnce: Effect.Effect<DrainSummary, StoreError>
  /** The long-running worker of the scheduler: processes until `stop`; fails with `WorkerStopped` on auth errors. */
  readonly run: (options: RunOptions) => Effect.Effect<DrainSummary, StoreError | WorkerStopped>
}

// ---------------------------------------------------------------------------------------------------------
// The worker

const failureOf = (error: SyncError): JobFailure => {
  const detail = Schema.encodeEither(SyncError)(error)
  return {
    tag: error._tag,
    message: error.message,
    detail: detail._tag === "Right" ? detail.right : { message: error.message }
  }
}

const stopMessage = (error: SyncError): string => {
  switch (error._tag) {
    case "PlexAuthError":
      return `Plex refused the token (${error.message}). Set PLEXSYNC_PLEX_TOKEN to a valid token; the jobs stay queued.`
    case "PlexPermissionError":
      return `Plex refused the request for lack of permission (${error.message}). Use the server owner's token ` +
        `in PLEXSYNC_PLEX_TOKEN; the jobs stay queued.`
    case "StashAuthError":
      return `Stash refused the API key (${error.message}). Set PLEXSYNC_STASH_API_KEY to a valid key; the jobs stay queued.`
    default:
      return error.message
  }
}

const workerStopped = (error: SyncError) => new WorkerStopped({ reason: error._tag, message: stopMessage(error) })

interface Counters {
  processed: number
  synced: number
  unchanged: number
  dropped: number
  retried: number
  held: number
  deadLettered: number
}

/** The mutable state of one `drain` or `run`. */
interface Session {
  readonly counters: Counters
  readonly wake: Queue.Queue<void>
  inFlight: number
  claimed: number
  stopping: boolean
  stoppedBy: WorkerStopped | null
  fatal: Cause.Cause<StoreError> | null
  lastHoldCheck: number
  /** The jobs waiting for Plex to scan their file in, when Plex's event stream is at hand. */
  readonly scanWaits: ScanWaits | null
  readonly onSettled: ((job: SettledJob) => Effect.Effect<void>) | undefined
}

/**
 * Builds the worker. It keeps, for its life: the matcher (sections and section indexes) and the targets' health
 * (breakers, outages and the recovery ramp: see `TargetHealth`). What becomes of a failed job is decided by
 * `Settle.decide`; the worker applies it.
 */
export const makeWorker = (settings: EngineSettings) =>
  Effect.gen(function*() {
    const queue = yield* SyncQueue
    const limiter = yield* makeAdaptiveLimiter(defaultAdaptiveLimit(settings.concurrency))
    const adaptive = settings.concurrencyMode !== "fixed"
    // Every Plex request of a job (matching included) is a sample of how Plex copes with the load.
    const plex = adaptive ? limitedPlexClient(yield* PlexClient, limiter) : yield* PlexClient
    const context = Context.add(yield* Effect.context<StashClient | PlexClient | SyncState>(), PlexClient, plex)
    const health = yield* makeTargetHealth(settings)
    const events = yield* Effect.serviceOption(PlexEvents)
    const matcher = yield* Effect.provideService(
      makeMatcher({
        strict: settings.strictMatching,
        libraries: settings.libraries,
        indexRefreshMs: settings.indexRefreshMs,
        pageSize: 500,
        indexAfterLookups: defaultMatchOptions.indexAfterLookups,
        indexWhenCandidates: defaultMatchOptions.indexWhenCandidates,
        scanOnMiss: settings.scanOnMiss,
        scanIntervalMs: defaultMatchOptions.scanIntervalMs,
        pathMap: settings.pathMap,
        ...Option.match(events, { onNone: () => ({}), onSome: (events) => ({ scanning: events.scanning }) })
      }),
      PlexClient,
      plex
    )
    // Where a stop for a person to act is recorded, when the store is at hand (see `WorkerStop`).
    const stopRecords = yield* Effect.serviceOption(Settings)
    let stopCleared = false
    const recordStopped = (stopped: WorkerStopped) =>
      Option.match(stopRecords, {
        onNone: () => Effect.void,
        onSome: (settings) =>
          Effect.flatMap(Clock.currentTimeMillis, (at) => {
            stopCleared = false
            return recordStop(settings, { reason: stopped.reason, message: stopped.message, at })
          })
      })
    const syncSettings = {
      fields: settings.fields,
      preservePlexEdits: settings.preservePlexEdits,
      pathMap: settings.pathMap,
      writesAccepted: yield* Ref.make(false)
    }

    // --- settling one job -------------------------------------------------------------------------------

    const settleSuccess = (claimed: ClaimedJob, outcome: SyncOutcome, session: Session) =>
      Effect.gen(function*() {
        yield* health.jobSucceeded(outcome)
        yield* queue.complete(claimed)
        yield* health.recordResult(true)
        if (!stopCleared && Option.isSome(stopRecords)) {
          stopCleared = true
          yield* clearStop(stopRecords.value)
        }
        if (outcome._tag === "Synced") {
          session.counters.synced++
          yield* Effect.logInfo(
            `Synced scene ${claimed.job.sceneId} to Plex item ${
              outcome.ratingKeys.join(", ")
            } (matched by ${outcome.via})`
          )
          return "synced" as const
        }
        session.counters.unchanged++
        yield* Effect.logInfo(`Scene ${claimed.job.sceneId} unchanged: Plex already matches`)
        return "unchanged" as const
      })

    const settleFailure = (claimed: ClaimedJob, error: SyncError, session: Session) =>
      Effect.gen(function*() {
        yield* health.jobFailed(claimed.job.id, error)
        const input = {
          rule: errorPolicy[error._tag],
          attempts: claimed.job.attempts,
          breakers: yield* health.breakers
        }
        // The jitter is drawn only for a retry: a draw moves the Random on, which the probe jitter shares.
        const tentative = Settle.decide({ ...input, random: 0 })
        const decision = tentative._tag === "Retry"
          ? Settle.decide({ ...input, random: yield* Random.next })
          : tentative
        return yield* applyDecision(claimed, error, decision, session)
      })

    const applyDecision = (claimed: ClaimedJob, error: SyncError, decision: Settle.SettleDecision, session: Session) =>
      Settle.$match(decision, {
        Drop: () =>
          Effect.gen(function*() {
            yield* queue.complete(claimed)
            session.counters.dropped++
            yield* Effect.logInfo(`Dropped the job: ${error.message}`)
            return "dropped" as const
          }),
        Stop: () =>
          Effect.gen(function*() {
            yield* queue.release(claimed)
            if (session.stoppedBy === null) {
              session.stoppedBy = workerStopped(error)
              yield* Effect.logError(`Stopping the worker: ${session.stoppedBy.message}`)
              yield* recordStopped(session.stoppedBy)
            }
            return "stopped" as const
          }),
        DeadLetter: ({ attempts, exhausted, outageId }) =>
          Effect.gen(function*() {
            yield* queue.deadLetter(claimed, { failure: failureOf(error), outageId, countAttempt: true })
            session.counters.deadLettered++
            yield* Effect.logWarning(
              exhausted
                ? `Moved to the DLQ after ${attempts} attempts (${error._tag}): ${error.message}`
                : `Moved to the DLQ (${error._tag}): ${error.message}`
            )
            return "dead_lettered" as const
          }),
        Hold: ({ outageId, target }) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            yield* queue.retryLater(claimed, {
              availableAt: now,
              failure: failureOf(error),
              countAttempt: false,
              held: true
            })
            yield* health.countHeld(outageId, claimed.job.id)
            session.counters.held++
            yield* Effect.logDebug(`Held while ${target} is down (${error._tag})`).pipe(
              Effect.annotateLogs({ outageId })
            )
            return "held" as const
          }),
        Retry: ({ attempt, maxAttempts, waitMs }) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            yield* queue.retryLater(claimed, {
              availableAt: now + waitMs,
              failure: failureOf(error),
              countAttempt: true,
              held: false
            })
            session.counters.retried++
            // A retry is an attempt, not the job's outcome: info logs the outcome only (synced, DLQ, …).
            yield* Effect.logDebug(
              `Retrying in ${Duration.format(Duration.millis(waitMs))} (attempt ${attempt} of ` +
                `${maxAttempts}, ${error._tag}): ${error.message}`
            )
            return "retried" as const
          })
      })

    /**
     * Keeps the job's lease while it runs, and returns only when it cannot: renewed every third of the lease; a
     * renewal that fails (a busy database) is retried every fifteenth of it while more than a sixth is left. It
     * returns why, before the lease can run out under this worker, so that the job is stopped before another worker
     * (or this one) may claim it again.
     */
    const keepJobLease = (claimed: ClaimedJob) =>
      Effect.gen(function*() {
        const every = Math.max(1, Math.floor(settings.leaseMs / 3))
        const retryEvery = Math.max(1, Math.floor(settings.leaseMs / 15))
        let expiresAt = (yield* Clock.currentTimeMillis) + settings.leaseMs
        yield* Effect.sleep(Duration.millis(every))
        while (true) {
          const renewed = yield* Effect.either(queue.renew(claimed, settings.leaseMs))
          const now = yield* Clock.currentTimeMillis
          if (renewed._tag === "Right") {
            expiresAt = now + settings.leaseMs
            yield* Effect.sleep(Duration.millis(every))
            continue
          }
          if (renewed.left._tag === "LeaseLost") return renewed.left.message
          yield* Effect.logWarning(`Could not renew the lease of job ${claimed.job.id}: ${renewed.left.message}`)
          if (expiresAt - (now + retryEvery) <= settings.leaseMs / 6) {
            return `The lease of job ${claimed.job.id} could not be renewed (${renewed.left.message}).`
          }
          yield* Effect.sleep(Duration.millis(retryEvery))
        }
      })

    const runJob = (claimed: ClaimedJob, session: Session) =>
      Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const scanMark = session.scanWaits?.mark() ?? 0
        // The sync runs only while the job's lease is kept: losing it interrupts the sync before its next write.
        const raced = yield* Effect.raceFirst(
          Effect.map(
            Effect.exit(Effect.provide(syncScene(claimed.job, matcher, syncSettings), context)),
            (exit) => ({ _tag: "Ran" as const, exit })
          ),
          Effect.map(keepJobLease(claimed), (why) => ({ _tag: "LeaseGone" as const, why }))
        )
        if (raced._tag === "LeaseGone") {
          yield* Effect.logWarning(`${raced.why} The job was stopped; it is claimed again once its lease runs out.`)
          yield* Metric.increment(Metric.tagged(jobsProcessed, "outcome", "lease_lost"))
          if (session.onSettled !== undefined) {
            yield* Effect.ignore(
              session.onSettled({ jobId: claimed.job.id, sceneId: claimed.job.sceneId, outcome: "lease_lost" })
            )
          }
          return
        }
        const exit = raced.exit
        const settled = yield* Exit.match(exit, {
          onSuccess: (outcome) => settleSuccess(claimed, outcome, session),
          onFailure: (cause) => {
            const failure = Cause.failureOption(cause)
            if (Option.isNone(failure)) return Effect.failCause(cause as Cause.Cause<never>)
            const error: SyncSceneError = failure.value
            if (error._tag === "StoreError") return Effect.fail(error)
            return settleFailure(claimed, error, session)
          }
        }).pipe(
          Effect.uninterruptible,
          Effect.catchTag("LeaseLost", (lost) =>
            Effect.as(
              Effect.logWarning(`${lost.message} Another worker finishes it.`),
              "lease_lost" as const
            ))
        )
        if (settled !== "lease_lost") session.counters.processed++
        if (session.scanWaits !== null && settled !== "lease_lost") yield* waitForScan(claimed, exit, scanMark, session)
        if (session.onSettled !== undefined) {
          yield* Effect.ignore(
            session.onSettled({ jobId: claimed.job.id, sceneId: claimed.job.sceneId, outcome: settled })
          )
        }
        const elapsed = (yield* Clock.currentTimeMillis) - started
        yield* Metric.update(syncLatency, elapsed / 1000)
        yield* Metric.increment(Metric.tagged(jobsProcessed, "outcome", settled))
      }).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : Effect.gen(function*() {
            // The store failed, or a bug: put the job back and stop claiming; the run ends with the cause.
            yield* Effect.ignore(queue.release(claimed))
            yield* Effect.logError("The worker stops: a job could not be settled", cause)
            const failure = Cause.failureOption(cause)
            session.fatal = Option.isSome(failure) && failure.value._tag === "StoreError"
              ? Cause.fail(failure.value)
              : Cause.die(Cause.squash(cause))
          })
        ),
        Effect.onInterrupt(() => Effect.ignore(queue.release(claimed))),
        Effect.ensuring(
          Effect.sync(() => {
            session.inFlight--
          }).pipe(Effect.zipRight(Queue.offer(session.wake, undefined)))
        ),
        Effect.annotateLogs({ jobId: claimed.job.id, sceneId: claimed.job.sceneId, reason: claimed.job.reason })
      )

    /** A job put back as `PlexNotFound` waits for a scan of the libraries holding its file (see `ScanWaits`). */
    const waitForScan = (
      claimed: ClaimedJob,
      exit: Exit.Exit<SyncOutcome, SyncSceneError>,
      scanMark: number,
      session: Session
    ) =>
      Effect.gen(function*() {
        const waits = session.scanWaits!
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        if (Option.isNone(failure) || failure.value._tag !== "PlexNotFound" || failure.value.path === undefined) {
          return waits.settled(claimed.job.sceneId)
        }
        const path = failure.value.path
        const sections = yield* Effect.orElseSucceed(matcher.sections, () => [])
        const keys = [...new Set(sectionsForPath(sections, path).map((choice) => choice.section.key))]
        yield* waits.waiting(claimed.job.sceneId, keys, scanMark)
      })

    // --- breakers, probes and held jobs -----------------------------------------------------------------

    /** Breakers moved by others, probes that are due, and jobs held past the hold limit. */
    const housekeeping = (session: Session) =>
      Effect.gen(function*() {
        yield* health.observe(yield* Clock.currentTimeMillis)
        for (const target of targets) {
          const now = yield* Clock.currentTimeMillis
          const state = yield* health.state(target)
          if (state.state === "closed") continue
          if (CircuitBreaker.probeDue(state, now)) {
            const stop = yield* health.probe(target)
            if (Option.isSome(stop)) {
              session.stoppedBy ??= workerStopped(stop.value)
              yield* Effect.logError(`Stopping the worker: ${session.stoppedBy.message}`)
              yield* recordStopped(session.stoppedBy)
            }
          }
          session.counters.deadLettered += yield* health.sweepHeld(target, now, session)
        }
      })

    /** How many jobs may start now, by the breakers and the concurrency limit. */
    const admitted = (session: Session) =>
      Effect.map(Effect.zip(health.admission, limiter.limit), ([admission, limit]) => {
        if (admission === "none") return 0
        if (admission === "trial") return session.inFlight === 0 ? 1 : 0
        return Math.max(0, (adaptive ? limit : settings.concurrency) - session.inFlight)
      })

    /** The earliest time something may change: a probe, held jobs reaching the hold limit, or the next due job. */
    const nextEventAt = (admittedNow: boolean, session: Session) =>
      Effect.gen(function*() {
        const times: Array<number> = []
        const probeAt = yield* health.nextProbeAt
        if (probeAt !== null) times.push(probeAt)
        const holdCheckAt = yield* health.nextHoldCheckAt(session)
        if (holdCheckAt !== null) times.push(holdCheckAt)
        const due = yield* queue.nextDueAt
        if (admittedNow && Option.isSome(due)) times.push(due.value)
        return { at: times.length === 0 ? null : Math.min(...times), queueEmpty: Option.isNone(due) }
      })

    /** Sleeps until `until` (Clock time) or until a job settles or a stop arrives, whichever is first. */
    const waitForEvent = (session: Session, until: number | null) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const take = Queue.take(session.wake)
        if (until === null) yield* take
        else yield* Effect.raceFirst(take, Effect.sleep(Duration.millis(Math.max(0, until - now))))
        yield* Queue.takeAll(session.wake)
      })

    // --- the loop -----------------------------------------------------------------------------------------

    const loop = (
      mode: "drain" | "wait" | "run",
      options: {
        readonly maxJobs?: number
        readonly stop?: Effect.Effect<void>
        readonly graceMs?: number
        readonly wakeups?: Stream.Stream<void>
        readonly onSettled?: (job: SettledJob) => Effect.Effect<void>
      }
    ) =>
      Effect.gen(function*() {
        const session: Session = {
          counters: { processed: 0, synced: 0, unchanged: 0, dropped: 0, retried: 0, held: 0, deadLettered: 0 },
          wake: yield* Queue.unbounded<void>(),
          inFlight: 0,
          claimed: 0,
          stopping: false,
          stoppedBy: null,
          fatal: null,
          lastHoldCheck: 0,
          scanWaits: Option.isSome(events) ? makeScanWaits(queue) : null,
          onSettled: options.onSettled
        }
        if (options.stop !== undefined) {
          yield* Effect.forkScoped(
            options.stop.pipe(
              Effect.zipRight(Effect.sync(() => {
                session.stopping = true
              })),
              Effect.zipRight(Queue.offer(session.wake, undefined))
            )
          )
        }
        if (options.wakeups !== undefined) {
          yield* Effect.forkScoped(Stream.runForEach(options.wakeups, () => Queue.offer(session.wake, undefined)))
        }
        if (Option.isSome(events) && session.scanWaits !== null) {
          const waits = session.scanWaits
          yield* Effect.forkScoped(Stream.runForEach(events.value.changes, (change) =>
            waits.changed(change).pipe(
              Effect.flatMap((due) =>
                due === 0 ? Effect.void : Effect.zipRight(
                  Effect.logDebug(`Plex: ${change._tag} in library ${change.sectionKey ?? "?"}; ${due} job(s) due now`),
                  Queue.offer(session.wake, undefined)
                )
              ),
              Effect.catchAll((error) =>
                Effect.logWarning(`Could not make the jobs waiting for a scan due: ${error.message}`)
              )
            )))
        }
        const jobs = new Set<Fiber.RuntimeFiber<void, never>>()

        while (true) {
          const ending = session.stopping || session.stoppedBy !== null || session.fatal !== null ||
            (options.maxJobs !== undefined && session.claimed >= options.maxJobs)
          if (ending) {
            if (session.inFlight === 0) break
            if (session.stopping && options.graceMs !== undefined) {
              const deadline = (yield* Clock.currentTimeMillis) + options.graceMs
              while (session.inFlight > 0 && (yield* Clock.currentTimeMillis) < deadline) {
                yield* waitForEvent(session, deadline)
              }
              if (session.inFlight > 0) {
                yield* Effect.logWarning(
                  `${session.inFlight} jobs did not finish within ${options.graceMs}ms; releasing them`
                )
                yield* Fiber.interruptAll(jobs)
              }
              break
            }
            yield* waitForEvent(session, null)
            continue
          }

          yield* housekeeping(session)
          if (session.stoppedBy !== null) continue

          let capacity = yield* admitted(session)
          if (options.maxJobs !== undefined) capacity = Math.min(capacity, options.maxJobs - session.claimed)
          if (capacity > 0) {
            const pace = yield* health.pace
            if (pace._tag === "Wait") {
              yield* waitForEvent(session, pace.until)
              continue
            }
            if (pace._tag === "One") capacity = 1
          }

          if (capacity > 0) {
            const claimed = yield* queue.claim({ limit: capacity, leaseMs: settings.leaseMs })
            if (claimed.length > 0) {
              for (const job of claimed) {
                session.inFlight++
                session.claimed++
                const fiber = yield* Effect.forkScoped(runJob(job, session))
                jobs.add(fiber)
                fiber.addObserver(() => jobs.delete(fiber))
              }
              continue
            }
            yield* health.unspend
          }

          if (session.inFlight > 0) {
            const next = yield* nextEventAt(false, session)
            yield* waitForEvent(session, next.at)
            continue
          }
          if (mode === "drain") break
          const next = yield* nextEventAt(capacity > 0 || (yield* admitted(session)) > 0, session)
          const now = yield* Clock.currentTimeMillis
          if (mode === "wait" && next.queueEmpty) {
            const counts = yield* queue.counts
            if (counts.running === 0) break
            // Another worker's job (or one whose lease is expiring) may come back: look again shortly.
            yield* waitForEvent(session, now + Math.min(settings.leaseMs, settings.idlePollMs))
            continue
          }
          const until = mode === "run"
            ? Math.min(next.at ?? Infinity, now + settings.idlePollMs)
            : next.at ?? now + Math.min(settings.leaseMs, settings.idlePollMs)
          yield* waitForEvent(session, until)
        }

        if (session.fatal !== null) return yield* Effect.failCause(session.fatal)
        const summary: DrainSummary = { ...session.counters, stoppedBy: session.stoppedBy }
        return summary
      }).pipe(Effect.scoped)

    const drain = (options: DrainOptions = {}) =>
      loop(options.wait === true ? "wait" : "drain", {
        ...(options.maxJobs === undefined ? {} : { maxJobs: options.maxJobs }),
        ...(options.stop === undefined ? {} : { stop: options.stop }),
        ...(options.wakeups === undefined ? {} : { wakeups: options.wakeups }),
        ...(options.onSettled === undefined ? {} : { onSettled: options.onSettled })
      }).pipe(Effect.withSpan("Worker.drain"))

    const run = (options: RunOptions) =>
      loop("run", {
        stop: options.stop,
        ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
        ...(options.wakeups === undefined ? {} : { wakeups: options.wakeups })
      }).pipe(
        Effect.flatMap((summary) =>
          summary.stoppedBy === null ? Effect.succeed(summary) : Effect.fail(summary.stoppedBy)
        ),
        Effect.withSpan("Worker.run")
      )

    return { drain, runOnce: drain(), run } satisfies Worker
  })

/** The services the worker needs; the process's shared `TargetBreakers` are used too when provided. */
export type WorkerRequirements = SyncQueue | SyncState | BreakerStore | OutageHistory | StashClient | PlexClient
