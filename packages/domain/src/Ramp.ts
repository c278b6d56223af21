/**
 * Graduated recovery after an outage: the job rate ramps linearly from `fromPerSec` to `toPerSec` over `overMs`
 * (a token bucket of capacity one, so no burst), and halves for `halveMs` whenever more than `failureRatio` of the
 * results in the last `windowMs` failed (once the window holds at least `minSamples` results). A pure state
 * machine: the worker keeps the state and asks before starting each job.
 */

export interface RampPolicy {
  readonly fromPerSec: number
  readonly toPerSec: number
  readonly overMs: number
  readonly windowMs: number
  readonly failureRatio: number
  readonly halveMs: number
  /** Fewer results than this in the window never halve the rate (one failure of one job is not 100 %). */
  readonly minSamples: number
}

export const defaultRampPolicy: RampPolicy = {
  fromPerSec: 5,
  toPerSec: 20,
  overMs: 300_000,
  windowMs: 60_000,
  failureRatio: 0.3,
  halveMs: 60_000,
  minSamples: 5
}

export interface RampState {
  readonly startedAt: number
  readonly tokens: number
  readonly refilledAt: number
  /** Results in the window, oldest first. */
  readonly results: ReadonlyArray<{ readonly at: number; readonly ok: boolean }>
  /** The rate is halved until this time (0: not halved). */
  readonly halvedUntil: number
}

/** A ramp starting now; the first job may start at once. */
export const startRamp = (now: number): RampState => ({
  startedAt: now,
  tokens: 1,
  refilledAt: now,
  results: [],
  halvedUntil: 0
})

/** The ramp is over: the full rate is reached and no halving is in force. */
export const isOver = (state: RampState, now: number, policy: RampPolicy): boolean =>
  now >= state.startedAt + policy.overMs && state.halvedUntil <= now

/** Jobs per second allowed now. */
export const rate = (state: RampState, now: number, policy: RampPolicy): number => {
  const progress = policy.overMs <= 0 ? 1 : Math.min(1, Math.max(0, (now - state.startedAt) / policy.overMs))
  const base = policy.fromPerSec + (policy.toPerSec - policy.fromPerSec) * progress
  return Math.max(0.001, state.halvedUntil > now ? base / 2 : base)
}

/**
 * Takes a token to start one job. `wait` 0: start now (the token is spent). Otherwise wait that many ms and ask
 * again (nothing is spent).
 */
export const take = (state: RampState, now: number, policy: RampPolicy): { wait: number; state: RampState } => {
  const perMs = rate(state, now, policy) / 1000
  const tokens = Math.min(1, state.tokens + Math.max(0, now - state.refilledAt) * perMs)
  if (tokens >= 1 - 1e-9) return { wait: 0, state: { ...state, tokens: tokens - 1, refilledAt: now } }
  return { wait: Math.max(1, Math.ceil((1 - tokens) / perMs)), state: { ...state, tokens, refilledAt: now } }
}

/** Records a job's result; too many failures in the window halve the rate for `halveMs`. */
export const record = (state: RampState, now: number, ok: boolean, policy: RampPolicy): RampState => {
  const results = [...state.results.filter((r) => r.at > now - policy.windowMs), { at: now, ok }]
  const failed = results.filter((r) => !r.ok).length
  const halve = state.halvedUntil <= now && results.length >= policy.minSamples &&
    failed / results.length > policy.failureRatio
  return { ...state, results, halvedUntil: halve ? now + policy.halveMs : state.halvedUntil }
}

/** The failure share of the current window (0 when empty). */
export const failureShare = (state: RampState, now: number, policy: RampPolicy): number => {
  const results = state.results.filter((r) => r.at > now - policy.windowMs)
  return results.length === 0 ? 0 : results.filter((r) => !r.ok).length / results.length
}
