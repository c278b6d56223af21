import { Data } from "effect"
import * as Backoff from "./Backoff.js"
import type { BreakerStatus } from "./BreakerStore.js"
import type { ErrorRule } from "./ErrorPolicy.js"
import type { OutageId } from "./Ids.js"
import { Target } from "./Ids.js"

/**
 * What becomes of a job whose sync failed, decided from the error's rule, the job's attempts and the breakers —
 * a pure function, so the whole policy can be read (and tested) as a table. The worker applies the decision:
 * queue writes, the DLQ, counters and logs.
 */

/** A target's breaker as the decision sees it, after the failure was recorded. */
export interface BreakerView {
  readonly state: BreakerStatus
  /** The target's open outage (there is one while the breaker is not closed). */
  readonly outage: OutageId | null
}

export interface SettleInput {
  readonly rule: ErrorRule
  /** Attempts the job spent before this one. */
  readonly attempts: number
  readonly breakers: { readonly [T in Target]: BreakerView }
  /** A number in [0, 1) for the backoff jitter; read only for a `Retry`. */
  readonly random: number
}

export type SettleDecision = Data.TaggedEnum<{
  /** The job is done with and counted (the scene is gone). */
  Drop: {}
  /** The worker stops; the job is put back untouched. */
  Stop: {}
  /**
   * To the DLQ, the attempt counted. `exhausted`: its retries ran out (otherwise the error is permanent).
   * `outageId`: an open outage, the error's own target first, so outage recovery finds the entry.
   */
  DeadLetter: { readonly attempts: number; readonly exhausted: boolean; readonly outageId: OutageId | null }
  /** Put back at once without spending an attempt: the error's target is down (its breaker is not closed). */
  Hold: { readonly target: Target; readonly outageId: OutageId }
  /** Put back for `waitMs` (full-jitter backoff); `attempt` is the attempt just spent. */
  Retry: { readonly attempt: number; readonly maxAttempts: number; readonly waitMs: number }
}>

export const { $is, $match, DeadLetter, Drop, Hold, Retry, Stop } = Data.taggedEnum<SettleDecision>()

const targets: ReadonlyArray<Target> = Target.literals

/** An open outage, `preferred`'s first. */
const openOutage = (breakers: SettleInput["breakers"], preferred: Target | null): OutageId | null => {
  for (const target of preferred === null ? targets : [preferred, ...targets]) {
    const outage = breakers[target].outage
    if (outage !== null) return outage
  }
  return null
}

export const decide = (input: SettleInput): SettleDecision => {
  const { breakers, rule } = input
  const countsFor = rule.breaker._tag === "Counts" ? rule.breaker.target : null
  const attempts = input.attempts + 1
  switch (rule.retry._tag) {
    case "Drop":
      return Drop()
    case "StopWorker":
      return Stop()
    case "DeadLetter":
      return DeadLetter({ attempts, exhausted: false, outageId: openOutage(breakers, countsFor) })
    case "Retry": {
      if (countsFor !== null) {
        const breaker = breakers[countsFor]
        // Held, not failed: no attempt is spent while the target is down.
        if (breaker.state !== "closed" && breaker.outage !== null) {
          return Hold({ target: countsFor, outageId: breaker.outage })
        }
      }
      if (attempts >= rule.retry.maxAttempts) {
        return DeadLetter({ attempts, exhausted: true, outageId: openOutage(breakers, countsFor) })
      }
      const waitMs = Backoff.fullJitter({
        baseMs: rule.retry.baseMs,
        capMs: rule.retry.capMs,
        attempt: attempts,
        random: () => input.random
      })
      return Retry({ attempt: attempts, maxAttempts: rule.retry.maxAttempts, waitMs })
    }
  }
}
