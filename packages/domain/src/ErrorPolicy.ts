import type { ErrorTag } from "./Errors.js"
import type { Target } from "./Ids.js"

/** What an error does to the circuit breaker of its target. */
export type BreakerEffect<T extends Target = Target> =
  | { readonly _tag: "Counts"; readonly target: T }
  | { readonly _tag: "None" }

/** What the worker does with the job after the error. */
export type RetryPolicy =
  /** Retried with full-jitter backoff; held without spending attempts while the breaker is open. */
  | { readonly _tag: "Retry"; readonly baseMs: number; readonly capMs: number; readonly maxAttempts: number }
  /** Straight to the DLQ. */
  | { readonly _tag: "DeadLetter" }
  /** The worker stops; the job stays queued untouched (a configuration problem). */
  | { readonly _tag: "StopWorker" }
  /** The job is dropped and counted (the scene is gone). */
  | { readonly _tag: "Drop" }

export type RecoveryClass = "safe" | "optional" | "permanent" | "none"

/**
 * `target`: the system the error comes from (it answered, or failed to); null for an error of neither.
 * `breaker`: whether the error counts toward that target's breaker. An error can belong to a target without
 * counting (PlexNotFound: Plex answered). The type lets an error count only toward its own target.
 */
export type TargetColumns =
  | { readonly [T in Target]: { readonly target: T; readonly breaker: BreakerEffect<T> } }[Target]
  | { readonly target: null; readonly breaker: { readonly _tag: "None" } }

export type ErrorRule = TargetColumns & {
  readonly retry: RetryPolicy
  readonly recovery: RecoveryClass
}

const seconds = (n: number) => n * 1000
const minutes = (n: number) => n * 60_000
const counts = <T extends Target>(target: T): BreakerEffect<T> => ({ _tag: "Counts", target })
const none = { _tag: "None" } as const
const retry = (baseMs: number, capMs: number, maxAttempts: number): RetryPolicy => ({
  _tag: "Retry",
  baseMs,
  capMs,
  maxAttempts
})
const stopWorker: RetryPolicy = { _tag: "StopWorker" }
const deadLetter: RetryPolicy = { _tag: "DeadLetter" }

/** The error policy as data: one row per tag (see "Errors" in docs/architecture.md). */
export const errorPolicy: { readonly [K in ErrorTag]: ErrorRule } = {
  PlexServerDown: {
    target: "plex",
    breaker: counts("plex"),
    retry: retry(seconds(30), minutes(5), 10),
    recovery: "safe"
  },
  PlexTemporaryError: {
    target: "plex",
    breaker: counts("plex"),
    retry: retry(seconds(5), seconds(80), 5),
    recovery: "optional"
  },
  PlexNotFound: { target: "plex", breaker: none, retry: retry(seconds(30), minutes(10), 12), recovery: "optional" },
  PlexAuthError: { target: "plex", breaker: none, retry: stopWorker, recovery: "permanent" },
  PlexPermissionError: { target: "plex", breaker: none, retry: stopWorker, recovery: "permanent" },
  PlexPermanentError: { target: "plex", breaker: none, retry: deadLetter, recovery: "permanent" },
  MatchAmbiguous: { target: "plex", breaker: none, retry: deadLetter, recovery: "permanent" },
  StashUnavailable: {
    target: "stash",
    breaker: counts("stash"),
    retry: retry(seconds(5), seconds(80), 5),
    recovery: "safe"
  },
  StashAuthError: { target: "stash", breaker: none, retry: stopWorker, recovery: "permanent" },
  // A GraphQL error can be Stash's database being busy; a few retries, then the DLQ for a person to read.
  StashQueryError: { target: "stash", breaker: none, retry: retry(seconds(5), seconds(80), 5), recovery: "optional" },
  SceneMissing: { target: "stash", breaker: none, retry: { _tag: "Drop" }, recovery: "none" },
  // Parked by the claim itself (never thrown by a sync); a person reads it and retries or purges it.
  JobUndecodable: { target: null, breaker: none, retry: deadLetter, recovery: "permanent" }
}

const allTags = Object.keys(errorPolicy) as ReadonlyArray<ErrorTag>

/** The target an error belongs to (it answered, or failed to), whether or not it counts toward the breaker. */
export const targetOf = (tag: ErrorTag): Target | null => errorPolicy[tag].target

/** The target whose breaker the error counts toward, if any. */
export const breakerTargetOf = (tag: ErrorTag): Target | null => {
  const breaker = errorPolicy[tag].breaker
  return breaker._tag === "Counts" ? breaker.target : null
}

/** The tags whose failures count toward the target's breaker. */
export const tagsCountingToward = (target: Target): ReadonlyArray<ErrorTag> =>
  allTags.filter((tag) => breakerTargetOf(tag) === target)

/** The tags that stop the worker (a person must act). */
export const stopTags: ReadonlySet<ErrorTag> = new Set(
  allTags.filter((tag) => errorPolicy[tag].retry._tag === "StopWorker")
)

/**
 * The tag that names an outage of the target: the one that counts toward its breaker and that recovery
 * re-queues by default (`safe`). A job held past the hold limit is dead-lettered with it, so that the outage's
 * recovery selects it.
 */
export const outageTagOf = (target: Target): ErrorTag =>
  allTags.find((tag) => breakerTargetOf(tag) === target && errorPolicy[tag].recovery === "safe")!

const tagsOfClass = (cls: RecoveryClass): ReadonlyArray<ErrorTag> =>
  allTags.filter((tag) => errorPolicy[tag].recovery === cls)

export const safeRecoveryTags: ReadonlyArray<ErrorTag> = tagsOfClass("safe")
export const optionalRecoveryTags: ReadonlyArray<ErrorTag> = tagsOfClass("optional")
export const permanentTags: ReadonlyArray<ErrorTag> = tagsOfClass("permanent")

/** The tags an outage recovery selects: safe ones, plus optional ones on request; permanent ones never. */
export const errorTagsForRecovery = (options: { readonly includeOptional: boolean }): ReadonlyArray<ErrorTag> =>
  options.includeOptional ? [...safeRecoveryTags, ...optionalRecoveryTags] : safeRecoveryTags

/**
 * Narrows a caller-chosen tag set (e.g. `--error TAG`) to what recovery may touch: permanent tags and
 * tags that never reach the DLQ are removed, whatever was asked.
 */
export const recoverableTags = (requested: ReadonlyArray<ErrorTag>): ReadonlyArray<ErrorTag> =>
  requested.filter((tag) => errorPolicy[tag].recovery === "safe" || errorPolicy[tag].recovery === "optional")
