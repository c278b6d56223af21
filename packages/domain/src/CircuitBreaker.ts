import { Clock, Effect, Option, Random } from "effect"
import { BreakerState, BreakerStore } from "./BreakerStore.js"
import { Target } from "./Ids.js"
import type { Outage } from "./OutageHistory.js"
import { OutageHistory } from "./OutageHistory.js"
import type { StoreError } from "./StoreError.js"

/**
 * The circuit breaker of one target (`plex`, `stash`), as a pure state machine over `BreakerState`:
 * - closed: counts consecutive target-level failures; at `threshold` it opens;
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
      if (failures < policy.threshold) return update(state, { consecutiveFailures: failures, lastError: error }, now)
      return update(
        state,
        {
          state: "open",
          consecutiveFailures: failures,
          openedAt: now,
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
      return state.consecutiveFailures === 0 ? same(state) : update(state, { consecutiveFailures: 0 }, now)
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
    {
      state: "closed",
      consecutiveFailures: 0,
      openedAt: null,
      nextProbeAt: null,
      probeAttempt: 0,
      lastError: null
    },
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
}

const targets: ReadonlyArray<Target> = Target.literals

/**
 * Loads every target's breaker and keeps it in memory, persisting each change through `BreakerStore`. An
 * outage record opens when a breaker opens and closes when it closes — one per outage however many half-open
 * trials fail in between. On load, a breaker and its outage record that disagree (a crash between the two
 * writes) are put back in step.
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

    const apply = (target: Target, next: (state: BreakerState, event: Event) => Step) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const random = yield* Random.next
        const step = next(states.get(target)!, { now, policy, random })
        if (step.changed) {
          yield* store.put(step.state)
          states.set(target, step.state)
        }
        let outage = Option.fromNullable(outages.get(target))
        switch (step.transition) {
          case "opened": {
            const opened = yield* history.open(target, { startedAt: now, cause: step.state.lastError })
            outages.set(target, opened)
            outage = Option.some(opened)
            yield* Effect.logWarning(
              `The ${target} circuit breaker opened after ${step.state.consecutiveFailures} failures in a row ` +
                `(last: ${step.state.lastError}); jobs are held until a health probe succeeds`
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
      recordSuccess: (target) => apply(target, (state, event) => onSuccess(state, event.now)),
      recordFailure: (target, error) => apply(target, (state, event) => onFailure(state, error, event)),
      recordProbe: (target, result) => apply(target, (state, event) => onProbe(state, result, event)),
      currentOutage: (target) => Effect.sync(() => Option.fromNullable(outages.get(target)))
    }
  })
