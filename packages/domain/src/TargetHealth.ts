import { Cause, Clock, Duration, Effect, Exit, Option } from "effect"
import type { BreakerState, BreakerStore } from "./BreakerStore.js"
import * as CircuitBreaker from "./CircuitBreaker.js"
import { errorPolicy, outageTagOf, stopTags, tagsCountingToward } from "./ErrorPolicy.js"
import type { PlexError, StashError, SyncError } from "./Errors.js"
import type { JobId, OutageId } from "./Ids.js"
import { Target } from "./Ids.js"
import { OutageHistory } from "./OutageHistory.js"
import { PlexClient } from "./PlexClient.js"
import * as Ramp from "./Ramp.js"
import type { BreakerView } from "./Settle.js"
import { StashClient } from "./StashClient.js"
import type { StoreError } from "./StoreError.js"
import { SyncQueue } from "./SyncQueue.js"
import type { SyncOutcome } from "./SyncScene.js"

/**
 * The health of the targets (Plex, Stash) as the worker keeps it for its life: the circuit breakers (the process's
 * shared `TargetBreakers` when there are, so the change feed's failures count too; else its own, loaded from
 * `BreakerStore`) and their health probes, the outage accounting (which jobs an outage affected, and jobs held
 * past the hold limit), and the recovery ramp that paces jobs after an outage closes (resumed if one closed less
 * than `rampOverMs` ago).
 *
 * Whoever moved a breaker (a job, a probe, the change feed, another process), the worker acts on what it sees:
 * when an outage opens, the jobs that failed against the target before it opened are held by it too (so the hold
 * limit applies to them); when it closes, those jobs are due and the ramp starts.
 */

export interface TargetHealthSettings {
  /** A job held by an open breaker longer than this goes to the DLQ with the outage class (`PLEXSYNC_HOLD_LIMIT`). */
  readonly holdLimitMs: number
  /** Consecutive target-level failures that open a breaker (`PLEXSYNC_BREAKER_THRESHOLD`). */
  readonly breakerThreshold: number
  /** The health probes' backoff while a breaker is open (`PLEXSYNC_PROBE_MIN`, `_MAX`). */
  readonly probeMinMs: number
  readonly probeMaxMs: number
  /** Jobs/s ramp after an outage closes (`PLEXSYNC_RAMP_FROM`, `_TO`, `_OVER`). */
  readonly rampFromPerSec: number
  readonly rampToPerSec: number
  readonly rampOverMs: number
}

/** How fast jobs may start, by the recovery ramp. */
export type Pace =
  /** No ramp: as many as the breakers and the concurrency allow. */
  | { readonly _tag: "Full" }
  /** One job now. */
  | { readonly _tag: "One" }
  /** None before `until` (Clock time). */
  | { readonly _tag: "Wait"; readonly until: number }

export interface TargetHealth {
  readonly state: (target: Target) => Effect.Effect<BreakerState>
  /** Both breakers, as the settle decision sees them. */
  readonly breakers: Effect.Effect<{ readonly [T in Target]: BreakerView }>
  /** How many jobs the breakers admit: all, one trial, or none. */
  readonly admission: Effect.Effect<"all" | "trial" | "none">
  /** When the next probe is due, if a breaker is not closed. */
  readonly nextProbeAt: Effect.Effect<number | null>
  /** A job synced (or found nothing to do): the targets it reached answered. */
  readonly jobSucceeded: (outcome: SyncOutcome) => Effect.Effect<void, StoreError>
  /**
   * A job failed: the failure counts toward its target's breaker (and the outage it opens), or says the target
   * answered, per the error policy; the ramp records the result.
   */
  readonly jobFailed: (job: JobId, error: SyncError) => Effect.Effect<void, StoreError>
  /** The ramp records a job's result (a failure that counts toward no breaker is a result too). */
  readonly recordResult: (ok: boolean) => Effect.Effect<void>
  /** A job held by the outage counts in its `jobsAffected` (once). */
  readonly countHeld: (outageId: OutageId, job: JobId) => Effect.Effect<void, StoreError>
  /** A health probe of the target; returns the error that must stop the worker, if it met one. */
  readonly probe: (target: Target) => Effect.Effect<Option.Option<SyncError>, StoreError>
  /**
   * Acts on breakers moved by others (the change feed, another process): reads them again from the store at most
   * once per `probeMinMs`, then holds or frees jobs as for the worker's own transitions.
   */
  readonly observe: (now: number) => Effect.Effect<void, StoreError>
  /** When the jobs held since an open outage began reach the hold limit, if `sweepHeld` has not looked since. */
  readonly nextHoldCheckAt: (sweep: { lastHoldCheck: number }) => Effect.Effect<number | null>
  /**
   * Moves jobs held past the hold limit while the target is down to the DLQ, with the outage's class, at most
   * once per `probeMinMs` per `sweep`; returns how many moved.
   */
  readonly sweepHeld: (
    target: Target,
    now: number,
    sweep: { lastHoldCheck: number }
  ) => Effect.Effect<number, StoreError>
  /** Asks the ramp before starting jobs (a `One` spends its token). */
  readonly pace: Effect.Effect<Pace>
  /** Gives back the token a `One` took when no job was there to start. */
  readonly unspend: Effect.Effect<void>
}

export const targets: ReadonlyArray<Target> = Target.literals

export type TargetHealthRequirements = SyncQueue | OutageHistory | BreakerStore | StashClient | PlexClient

export const makeTargetHealth = (
  settings: TargetHealthSettings
): Effect.Effect<TargetHealth, StoreError, TargetHealthRequirements> =>
  Effect.gen(function*() {
    const queue = yield* SyncQueue
    const history = yield* OutageHistory
    const stash = yield* StashClient
    const plex = yield* PlexClient

    const breakerPolicy: CircuitBreaker.BreakerPolicy = {
      threshold: settings.breakerThreshold,
      probeMinMs: settings.probeMinMs,
      probeMaxMs: settings.probeMaxMs
    }
    const rampPolicy: Ramp.RampPolicy = {
      ...Ramp.defaultRampPolicy,
      fromPerSec: settings.rampFromPerSec,
      toPerSec: settings.rampToPerSec,
      overMs: settings.rampOverMs
    }
    const shared = yield* Effect.serviceOption(CircuitBreaker.TargetBreakers)
    const breakers = Option.isSome(shared) ? shared.value : yield* CircuitBreaker.makeBreakers(breakerPolicy)
    // Shared breakers were loaded when the process started: another process may have moved them since.
    if (Option.isSome(shared)) yield* breakers.refresh

    let ramp: Ramp.RampState | null = null
    {
      const now = yield* Clock.currentTimeMillis
      for (const target of targets) {
        const last = yield* history.lastCompleted(target)
        if (Option.isSome(last) && last.value.endedAt !== null && now - last.value.endedAt < settings.rampOverMs) {
          const start = Math.max(last.value.endedAt, ramp?.startedAt ?? 0)
          ramp = Ramp.startRamp(start)
        }
      }
    }

    // --- outage accounting ----------------------------------------------------------------------------------

    /** Jobs in the current failure streak of each target (they become part of the outage if it opens). */
    const streak = new Map<Target, Set<JobId>>([["plex", new Set()], ["stash", new Set()]])

    /** The store counts each job once per outage, whichever process (or restart) saw it. */
    const countAffected = (outageId: OutageId, jobs: Iterable<JobId>) =>
      Effect.asVoid(history.addAffectedJobs(outageId, [...jobs]))

    /** Per target, the outage whose jobs this worker has held (null: none, or its close was acted on). */
    const handled = new Map<Target, OutageId | null>([["plex", null], ["stash", null]])

    const onOpened = (target: Target, outage: { readonly id: OutageId; readonly startedAt: number }) =>
      Effect.gen(function*() {
        // Jobs that failed against the target before its breaker opened wait out a backoff: they are held by the
        // outage like the jobs failing after it (since its start, their streak's first failure), so the hold limit
        // moves them to the DLQ too; nothing else changes (attempts, due time).
        const held = yield* queue.holdFailed({ errorTags: tagsCountingToward(target), heldSince: outage.startedAt })
        if (held.length > 0) {
          yield* countAffected(outage.id, held)
          yield* Effect.logInfo(`${held.length} jobs that failed before the ${target} breaker opened are held`).pipe(
            Effect.annotateLogs({ outageId: outage.id })
          )
        }
      })

    const onClosed = (target: Target) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        // Jobs that failed against the target before its breaker opened still wait out their backoff (up to
        // minutes for PlexServerDown); the target is back, so they are due now, attempts unchanged. The ramp
        // paces them.
        const madeDue = yield* queue.makeDue({ errorTags: tagsCountingToward(target) })
        if (madeDue > 0) yield* Effect.logInfo(`${madeDue} jobs that failed while ${target} was down are due now`)
        ramp = Ramp.startRamp(now)
        yield* Effect.logInfo(
          `Resuming at ${settings.rampFromPerSec} jobs/s, ramping to ${settings.rampToPerSec} over ` +
            `${Duration.format(Duration.millis(settings.rampOverMs))}`
        )
      })

    /** Acts on the target's breaker as it is now: an outage not acted on yet holds its jobs; a close frees them. */
    const observeTarget = (target: Target) =>
      Effect.gen(function*() {
        const state = yield* breakers.state(target)
        const outage = yield* breakers.currentOutage(target)
        const seen = handled.get(target) ?? null
        if (Option.isSome(outage) && state.state !== "closed") {
          if (seen === outage.value.id) return
          handled.set(target, outage.value.id)
          yield* onOpened(target, outage.value)
        } else if (state.state === "closed" && seen !== null) {
          handled.set(target, null)
          yield* onClosed(target)
        }
      })

    const onTransition = (update: CircuitBreaker.BreakerUpdate) =>
      update.step.transition === null ? Effect.void : observeTarget(update.step.state.target)

    let lastRefresh = Number.NEGATIVE_INFINITY
    const observe = (now: number) =>
      Effect.gen(function*() {
        if (Option.isSome(shared) && now - lastRefresh >= settings.probeMinMs) {
          lastRefresh = now
          yield* breakers.refresh
        }
        for (const target of targets) yield* observeTarget(target)
      })

    const nextHoldCheckAt = (sweep: { lastHoldCheck: number }) =>
      Effect.gen(function*() {
        const times: Array<number> = []
        for (const target of targets) {
          const outage = yield* breakers.currentOutage(target)
          if (Option.isNone(outage)) continue
          // The jobs held since the outage began reach the limit together; a job held later (a failed half-open
          // trial) is found by a sweep at a later wake-up (a probe, at most `probeMaxMs` apart).
          const deadline = outage.value.startedAt + settings.holdLimitMs
          if (sweep.lastHoldCheck < deadline) times.push(Math.max(deadline, sweep.lastHoldCheck + settings.probeMinMs))
        }
        return times.length === 0 ? null : Math.min(...times)
      })

    // --- job results ----------------------------------------------------------------------------------------

    const recordResult = (ok: boolean) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          if (ramp !== null) ramp = Ramp.record(ramp, now, ok, rampPolicy)
        }))

    const answered = (target: Target) =>
      Effect.gen(function*() {
        streak.get(target)!.clear()
        const update = yield* breakers.recordSuccess(target)
        yield* onTransition(update)
      })

    const jobSucceeded = (outcome: SyncOutcome) =>
      Effect.gen(function*() {
        yield* answered("stash")
        if (outcome._tag === "Synced" || outcome.checkedPlex) yield* answered("plex")
      })

    const jobFailed = (job: JobId, error: SyncError) =>
      Effect.gen(function*() {
        const rule = errorPolicy[error._tag]
        const countsFor = rule.breaker._tag === "Counts" ? rule.breaker.target : null
        if (countsFor !== null) {
          streak.get(countsFor)!.add(job)
          const update = yield* breakers.recordFailure(countsFor, `${error._tag}: ${error.message}`)
          if (update.step.transition === "opened" && Option.isSome(update.outage)) {
            yield* countAffected(update.outage.value.id, streak.get(countsFor)!)
          }
          yield* onTransition(update)
          // Plex is asked only after the scene was read from Stash: Stash answered.
          if (countsFor === "plex") yield* answered("stash")
        } else if (!stopTags.has(error._tag)) {
          // The target answered (not found, ambiguous, a 4xx): it is up.
          if (rule.target === "plex") yield* answered("stash")
          if (rule.target !== null) yield* answered(rule.target)
        }
        yield* recordResult(countsFor === null)
      })

    // --- probes and held jobs -------------------------------------------------------------------------------

    const probe = (target: Target) =>
      Effect.gen(function*() {
        const check: Effect.Effect<void, PlexError | StashError | { _tag: "Unhealthy"; message: string }> =
          target === "plex"
            ? Effect.asVoid(plex.health)
            : Effect.flatMap(
              stash.health,
              (h) =>
                h.healthy ? Effect.void : Effect.fail({ _tag: "Unhealthy" as const, message: `status ${h.status}` })
            )
        const exit = yield* Effect.exit(check)
        if (Exit.isSuccess(exit)) {
          yield* onTransition(yield* breakers.recordProbe(target, { ok: true }))
          return Option.none<SyncError>()
        }
        const error = Cause.failureOption(exit.cause)
        if (Option.isSome(error) && error.value._tag !== "Unhealthy" && stopTags.has(error.value._tag)) {
          return Option.some<SyncError>(error.value)
        }
        const message = Option.isSome(error) ? `${error.value._tag}: ${error.value.message}` : Cause.pretty(exit.cause)
        yield* onTransition(yield* breakers.recordProbe(target, { ok: false, error: message }))
        yield* Effect.logDebug(`The ${target} health probe failed: ${message}`)
        return Option.none<SyncError>()
      }).pipe(Effect.withSpan("Worker.probe", { attributes: { target } }))

    const sweepHeld = (target: Target, now: number, sweep: { lastHoldCheck: number }) =>
      Effect.gen(function*() {
        const outage = yield* breakers.currentOutage(target)
        if (
          Option.isNone(outage) || now - outage.value.startedAt < settings.holdLimitMs ||
          now - sweep.lastHoldCheck < settings.probeMinMs
        ) return 0
        sweep.lastHoldCheck = now
        const moved = yield* queue.deadLetterHeld({
          // Held for the whole limit (`heldBefore` is exclusive), by this target (a job held for the other target
          // goes with that one's outage).
          heldBefore: now - settings.holdLimitMs + 1,
          errorTags: tagsCountingToward(target),
          failure: {
            tag: outageTagOf(target),
            message: `Held for more than ${Duration.format(Duration.millis(settings.holdLimitMs))} while ` +
              `${target} was down (outage #${outage.value.id}); outage recovery re-queues it`
          },
          outageId: outage.value.id
        })
        if (moved > 0) {
          yield* Effect.logWarning(`Moved ${moved} jobs held past the hold limit to the DLQ`).pipe(
            Effect.annotateLogs({ outageId: outage.value.id })
          )
        }
        return moved
      })

    // --- admission and pace ---------------------------------------------------------------------------------

    const admission = Effect.gen(function*() {
      let admission: "all" | "trial" | "none" = "all"
      for (const target of targets) {
        const a = CircuitBreaker.admission(yield* breakers.state(target))
        if (a === "none") admission = "none"
        else if (a === "trial" && admission === "all") admission = "trial"
      }
      return admission
    })

    const nextProbeAt = Effect.gen(function*() {
      const times: Array<number> = []
      for (const target of targets) {
        const state = yield* breakers.state(target)
        if (state.state !== "closed") times.push(state.nextProbeAt ?? 0)
      }
      return times.length === 0 ? null : Math.min(...times)
    })

    const breakerViews = Effect.gen(function*() {
      const view = (target: Target) =>
        Effect.gen(function*() {
          const state = yield* breakers.state(target)
          const outage = yield* breakers.currentOutage(target)
          return { state: state.state, outage: Option.isSome(outage) ? outage.value.id : null } satisfies BreakerView
        })
      return { plex: yield* view("plex"), stash: yield* view("stash") }
    })

    const pace: Effect.Effect<Pace> = Effect.gen(function*() {
      if (ramp === null) return { _tag: "Full" } as const
      const now = yield* Clock.currentTimeMillis
      if (Ramp.isOver(ramp, now, rampPolicy)) {
        ramp = null
        yield* Effect.logInfo("Recovery ramp over: back to full speed")
        return { _tag: "Full" } as const
      }
      const step = Ramp.take(ramp, now, rampPolicy)
      ramp = step.state
      return step.wait > 0 ? { _tag: "Wait", until: now + step.wait } as const : { _tag: "One" } as const
    })

    const unspend = Effect.sync(() => {
      if (ramp !== null) ramp = { ...ramp, tokens: Math.min(1, ramp.tokens + 1) }
    })

    return {
      state: breakers.state,
      breakers: breakerViews,
      admission,
      nextProbeAt,
      jobSucceeded,
      jobFailed,
      recordResult,
      countHeld: (outageId, job) => countAffected(outageId, [job]),
      probe,
      observe,
      nextHoldCheckAt,
      sweepHeld,
      pace,
      unspend
    } satisfies TargetHealth
  })
