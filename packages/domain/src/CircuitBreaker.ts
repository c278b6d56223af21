import { Clock, Context, Effect, Layer, Option, Random } from "effect"
import { BreakerState, BreakerStore, closedFields } from "./BreakerStore.js"
import { errorPolicy } from "./ErrorPolicy.js"
import type { ErrorTag } from "./Errors.js"
import { Target } from "./Ids.js"
import type { Outage } from "./OutageHistory.js"
import { OutageHistory } from "./OutageHistory.js"
import type { StoreError } from "./StoreError.js"

/**
 * The circuit breaker of one target (`plex`, `stash`), as a pure state machine over `BreakerState`:
 * - closed: counts consecutive target-level failures (from when the first of them happened); at `threshold` it
 *   opens, and the outage starts at the streak's first failure (`openedAt`);
 * - open: nothing is sent to the target; a deep health probe is due at `nextProbeAt`, backing off from
 *   `probeMinMs` to `probeMaxMs` with jitter; a good probe moves it to half-open;
 * - half_open: one trial (a job or a probe) — success closes it, failure opens it again. Re-opening from
 *   half-open continues the same outage: `openedAt` (the outage start) is kept.
 */

export interface BreakerPolicy {
  readonly threshold: number
  readonly probeMinMs: number
  readonly probeMaxMs: number
}

export const defaultBreakerPolicy: BreakerPolicy = { threshold: 5, probeMinMs: 5_000, probeMaxMs: 60_000 }

/** `opened` starts an outage and `closed` ends it; `reopened` (a failed half-open trial) continues it. */
export type Transition = "opened" | "reopened" | "half_opened" | "closed"

export interface Step {
  readonly state: BreakerState
  readonly transition: Transition | null
  /** The state differs from the input (it must be persisted). */
  readonly changed: boolean
}

const same = (state: BreakerState): Step => ({ state, transition: null, changed: false })

const update = (
  state: BreakerState,
  patch: Partial<BreakerState>,
  now: number,
  transition: Transition | null = null
): Step => ({
  state: new BreakerState({ ...state, ...patch, updatedAt: now }),
  transition,
  changed: true
})

/**
 * The wait before probe number `attempt` (0 = the first after opening): `probeMinMs · 2^attempt` capped at
 * `probeMaxMs`, spread ±25 % by `random` ∈ [0, 1), and kept within [probeMinMs, probeMaxMs].
 */
export const probeDelay = (attempt: number, policy: BreakerPolicy, random: number): number => {
  const ceiling = Math.min(policy.probeMaxMs, policy.probeMinMs * Math.pow(2, Math.min(Math.max(0, attempt), 30)))
  const r = random >= 0 && random < 1 ? random : 0.5
  const jittered = ceiling * (0.75 + 0.5 * r)
  return Math.round(Math.min(policy.probeMaxMs, Math.max(policy.probeMinMs, jittered)))
}

export interface Event {
  readonly now: number
  readonly policy: BreakerPolicy
  /** A number in [0, 1) for the probe jitter. */
  readonly random: number
}

/** A target-level failure of a job (the target was down, timed out, or answered 5xx). */
export const onFailure = (state: BreakerState, error: string, event: Event): Step => {
  const { now, policy, random } = event
  switch (state.state) {
    case "closed": {
      const failures = state.consecutiveFailures + 1
      const failingSince = state.consecutiveFailures === 0 ? now : state.failingSince ?? now
      if (failures < policy.threshold) {
        return update(state, { consecutiveFailures: failures, failingSince, lastError: error }, now)
      }
      return update(
        state,
        {
          state: "open",
          consecutiveFailures: failures,
          // The outage began with the streak's first failure (a hung server may take minutes to reach the threshold).
          openedAt: Math.min(failingSince, now),
          failingSince: null,
          probeAttempt: 0,
          nextProbeAt: now + probeDelay(0, policy, random),
          lastError: error
        },
        now,
        "opened"
      )
    }
    case "half_open":
      return reopen(state, error, event)
    case "open":
      // Jobs that were already in flight when it opened: nothing new to learn.
      return same(state)
  }
}

const reopen = (state: BreakerState, error: string, { now, policy, random }: Event): Step => {
  const attempt = state.probeAttempt + 1
  return update(
    state,
    {
      state: "open",
      probeAttempt: attempt,
      nextProbeAt: now + probeDelay(attempt, policy, random),
      lastError: error
    },
    now,
    "reopened"
  )
}

/** A job against the target succeeded (the target answered). */
export const onSuccess = (state: BreakerState, now: number): Step => {
  switch (state.state) {
    case "closed":
      return state.consecutiveFailures === 0 && state.failingSince === null
        ? same(state)
        : update(state, { consecutiveFailures: 0, failingSince: null }, now)
    case "half_open":
      return close(state, now)
    case "open":
      // Only a probe moves an open breaker: a late answer to a request sent before it opened proves little.
      return same(state)
  }
}

const close = (state: BreakerState, now: number): Step =>
  update(
    state,
    closedFields,
    now,
    "closed"
  )

/** The result of a deep health probe. */
export const onProbe = (
  state: BreakerState,
  result: { readonly ok: true } | { readonly ok: false; readonly error: string },
  event: Event
): Step => {
  const { now, policy, random } = event
  switch (state.state) {
    case "closed":
      return same(state)
    case "open":
      if (result.ok) {
        // Half-open: a trial job may run; if none comes, the next probe decides.
        return update(state, { state: "half_open", nextProbeAt: now + policy.probeMinMs }, now, "half_opened")
      } else {
        const attempt = state.probeAttempt + 1
        return update(state, {
          probeAttempt: attempt,
          nextProbeAt: now + probeDelay(attempt, policy, random),
          lastError: result.error
        }, now)
      }
    case "half_open":
      return result.ok ? close(state, now) : reopen(state, result.error, event)
  }
}

/** How many jobs may be in flight against the target: all, one trial, or none. */
export const admission = (state: BreakerState): "all" | "trial" | "none" =>
  state.state === "closed" ? "all" : state.state === "half_open" ? "trial" : "none"

export const probeDue = (state: BreakerState, now: number): boolean =>
  state.state !== "closed" && (state.nextProbeAt === null || state.nextProbeAt <= now)

// ---------------------------------------------------------------------------------------------------------
// The persisted service: breakers of every target, with their outage records.

export interface BreakerUpdate {
  readonly step: Step
  /** The outage the breaker belongs to while not closed (opened by this step, or continuing); on close, the one closed. */
  readonly outage: Option.Option<Outage>
}

export interface Breakers {
  readonly state: (target: Target) => Effect.Effect<BreakerState>
  readonly recordSuccess: (target: Target) => Effect.Effect<BreakerUpdate, StoreError>
  readonly recordFailure: (target: Target, error: string) => Effect.Effect<BreakerUpdate, StoreError>
  readonly recordProbe: (
    target: Target,
    result: { readonly ok: true } | { readonly ok: false; readonly error: string }
  ) => Effect.Effect<BreakerUpdate, StoreError>
  /** The target's open outage, if any. */
  readonly currentOutage: (target: Target) => Effect.Effect<Option.Option<Outage>>
  /** Reads every breaker from the store again (another process may have moved one). */
  readonly refresh: Effect.Effect<void, StoreError>
}

/**
 * The process's breakers, shared by every path that talks to a target: the worker (through `TargetHealth`), the
 * change feed and reconciliation (through `recordingHealth`). One instance per process keeps them consistent with
 * each other; the store keeps them consistent with other processes (each change re-reads the stored row first).
 */
export class TargetBreakers extends Context.Tag("@plexsync/domain/TargetBreakers")<TargetBreakers, Breakers>() {}

const targets: ReadonlyArray<Target> = Target.literals

/**
 * Loads every target's breaker and keeps it in memory, persisting each change through `BreakerStore`. An
 * outage record opens when a breaker opens (starting at the streak's first failure) and closes when it closes —
 * one per outage however many half-open trials fail in between. On load, a breaker and its outage record that
 * disagree (a crash between the two writes) are put back in step.
 *
 * Every change but a success that has nothing to reset re-reads the stored row first, so a breaker another
 * process moved (its change feed, its worker) is changed from where that process left it, not overwritten.
 */
export const makeBreakers = (
  policy: BreakerPolicy
): Effect.Effect<Breakers, StoreError, BreakerStore | OutageHistory> =>
  Effect.gen(function*() {
    const store = yield* BreakerStore
    const history = yield* OutageHistory
    const lock = yield* Effect.makeSemaphore(1)
    const states = new Map<Target, BreakerState>()
    const outages = new Map<Target, Outage>()

    for (const target of targets) {
      const state = yield* store.get(target)
      states.set(target, state)
      const open = yield* history.current(target)
      if (state.state === "closed" && Option.isSome(open)) {
        yield* history.close(target, yield* Clock.currentTimeMillis)
        yield* Effect.logWarning(`Closed the ${target} outage #${open.value.id}: its breaker was already closed`)
      } else if (state.state !== "closed") {
        const outage = Option.isSome(open)
          ? open.value
          : yield* history.open(target, { startedAt: state.openedAt ?? state.updatedAt, cause: state.lastError })
        outages.set(target, outage)
      }
    }

    /** Takes the stored state as the truth; the outage record follows it (another process opened or closed it). */
    const adopt = (target: Target, stored: BreakerState) =>
      Effect.gen(function*() {
        const cached = states.get(target)!
        states.set(target, stored)
        if (stored.state === "closed") {
          outages.delete(target)
          return
        }
        if (outages.has(target) && cached.state !== "closed" && cached.openedAt === stored.openedAt) return
        const open = yield* history.current(target)
        outages.set(
          target,
          Option.isSome(open)
            ? open.value
            : yield* history.open(target, { startedAt: stored.openedAt ?? stored.updatedAt, cause: stored.lastError })
        )
      })

    const apply = (
      target: Target,
      next: (state: BreakerState, event: Event) => Step,
      reread: (cached: BreakerState) => boolean = () => true
    ) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const random = yield* Random.next
        if (reread(states.get(target)!)) yield* adopt(target, yield* store.get(target))
        const step = next(states.get(target)!, { now, policy, random })
        if (step.changed) {
          yield* store.put(step.state)
          states.set(target, step.state)
        }
        let outage = Option.fromNullable(outages.get(target))
        switch (step.transition) {
          case "opened": {
            const opened = yield* history.open(target, {
              startedAt: step.state.openedAt ?? now,
              cause: step.state.lastError
            })
            outages.set(target, opened)
            outage = Option.some(opened)
            yield* Effect.logWarning(
              `The ${target} circuit breaker opened after ${step.state.consecutiveFailures} failures in a row ` +
                `since ${new Date(opened.startedAt).toISOString()} (last: ${step.state.lastError}); jobs are held ` +
                `until a health probe succeeds`
            ).pipe(Effect.annotateLogs({ outageId: opened.id, target }))
            break
          }
          case "reopened":
            yield* Effect.logWarning(
              `The ${target} trial failed (${step.state.lastError}); the breaker is open again`
            ).pipe(Effect.annotateLogs({ outageId: outages.get(target)?.id ?? null, target }))
            break
          case "half_opened":
            yield* Effect.logInfo(`${target} answered a health probe; trying one job`).pipe(
              Effect.annotateLogs({ outageId: outages.get(target)?.id ?? null, target })
            )
            break
          case "closed": {
            const closed = yield* history.close(target, now)
            outages.delete(target)
            outage = closed
            yield* Effect.logInfo(`${target} is back: the circuit breaker closed`).pipe(
              Effect.annotateLogs({ outageId: Option.isSome(closed) ? closed.value.id : null, target })
            )
            break
          }
          case null:
            break
        }
        return { step, outage } satisfies BreakerUpdate
      }))

    return {
      state: (target) => Effect.sync(() => states.get(target)!),
      // A success on a closed breaker with nothing counted changes nothing: no read, no write (one per job).
      recordSuccess: (target) =>
        apply(
          target,
          (state, event) => onSuccess(state, event.now),
          (cached) => cached.state !== "closed" || cached.consecutiveFailures > 0
        ),
      recordFailure: (target, error) => apply(target, (state, event) => onFailure(state, error, event)),
      recordProbe: (target, result) => apply(target, (state, event) => onProbe(state, result, event)),
      currentOutage: (target) => Effect.sync(() => Option.fromNullable(outages.get(target))),
      refresh: Effect.forEach(
        targets,
        (target) => lock.withPermits(1)(Effect.flatMap(store.get(target), (stored) => adopt(target, stored))),
        { discard: true }
      )
    }
  })

/** The process's shared breakers (`TargetBreakers`), built once with the engine's breaker policy. */
export const layer = (policy: BreakerPolicy): Layer.Layer<TargetBreakers, StoreError, BreakerStore | OutageHistory> =>
  Layer.effect(TargetBreakers, makeBreakers(policy))

const describeError = (error: unknown): { readonly tag: ErrorTag; readonly message: string } | null => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) return null
  const tag = (error as { readonly _tag: unknown })._tag
  if (typeof tag !== "string" || !Object.hasOwn(errorPolicy, tag)) return null
  const message = (error as { readonly message?: unknown }).message
  return { tag: tag as ErrorTag, message: typeof message === "string" ? message : tag }
}

/**
 * What one outcome of a request outside the worker says of the targets, recorded on the shared breakers as the
 * worker records a job's: a failure that counts toward a target's breaker counts (refused, reset, timed out,
 * 503…), whichever path sent the request; a failure in which the target answered (not found, a 4xx) and a
 * success (for each of `answered`) say it is up.
 */
export const recordOutcome = (
  breakers: Breakers,
  answered: ReadonlyArray<Target>,
  outcome: { readonly _tag: "Success" } | { readonly _tag: "Failure"; readonly error: unknown }
): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (outcome._tag === "Success") {
      for (const target of answered) yield* breakers.recordSuccess(target)
      return
    }
    const error = describeError(outcome.error)
    if (error === null) return
    const rule = errorPolicy[error.tag]
    if (rule.breaker._tag === "Counts") {
      yield* breakers.recordFailure(rule.breaker.target, `${error.tag}: ${error.message}`)
    } else if (rule.target !== null && rule.retry._tag !== "StopWorker") {
      yield* breakers.recordSuccess(rule.target)
    }
  }).pipe(
    Effect.catchAll((error) => Effect.logWarning(`Could not record a target's health: ${error.message}`))
  )

/**
 * Runs `effect` (requests to `answered`'s targets made outside the worker: the change feed, reconciliation) and
 * records its outcome on the process's shared breakers (`recordOutcome`): `breakers` when given, else
 * `TargetBreakers` when the context has them. The effect's own result and error are unchanged.
 */
export const recordingHealth =
  (answered: ReadonlyArray<Target>, breakers?: Option.Option<Breakers>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(
      breakers === undefined ? Effect.serviceOption(TargetBreakers) : Effect.succeed(breakers),
      (breakers) =>
        Option.isNone(breakers) ? effect : effect.pipe(
          Effect.tapBoth({
            onSuccess: () => recordOutcome(breakers.value, answered, { _tag: "Success" }),
            onFailure: (error) => recordOutcome(breakers.value, answered, { _tag: "Failure", error })
          })
        )
    )
