import type { ErrorTag } from "./Errors.js"
import type { Target } from "./Ids.js"

/** What an error does to the target's circuit breaker. */
export type BreakerEffect =
  | { readonly _tag: "Counts"; readonly target: Target }
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

export interface ErrorRule {
  readonly breaker: BreakerEffect
  readonly retry: RetryPolicy
  readonly recovery: RecoveryClass
}

const seconds = (n: number) => n * 1000
const minutes = (n: number) => n * 60_000
const counts = (target: Target): BreakerEffect => ({ _tag: "Counts", target })
const none: BreakerEffect = { _tag: "None" }
const retry = (baseMs: number, capMs: number, maxAttempts: number): RetryPolicy => ({
  _tag: "Retry",
  baseMs,
  capMs,
  maxAttempts
})

/** The error policy as data: one row per tag, as ARCHITECTURE.md's table. */
export const errorPolicy: { readonly [K in ErrorTag]: ErrorRule } = {
  PlexServerDown: { breaker: counts("plex"), retry: retry(seconds(30), minutes(5), 10), recovery: "safe" },
  PlexTemporaryError: { breaker: counts("plex"), retry: retry(seconds(5), seconds(80), 5), recovery: "optional" },
  PlexNotFound: { breaker: none, retry: retry(seconds(30), minutes(10), 12), recovery: "optional" },
  PlexAuthError: { breaker: none, retry: { _tag: "StopWorker" }, recovery: "permanent" },
  PlexPermissionError: { breaker: none, retry: { _tag: "StopWorker" }, recovery: "permanent" },
  PlexPermanentError: { breaker: none, retry: { _tag: "DeadLetter" }, recovery: "permanent" },
  MatchAmbiguous: { breaker: none, retry: { _tag: "DeadLetter" }, recovery: "permanent" },
  StashUnavailable: { breaker: counts("stash"), retry: retry(seconds(5), seconds(80), 5), recovery: "safe" },
  StashAuthError: { breaker: none, retry: { _tag: "StopWorker" }, recovery: "permanent" },
  // A GraphQL error can be Stash's database being busy; a few retries, then the DLQ for a person to read.
  StashQueryError: { breaker: none, retry: retry(seconds(5), seconds(80), 5), recovery: "optional" },
  SceneMissing: { breaker: none, retry: { _tag: "Drop" }, recovery: "none" }
}

const tagsOfClass = (cls: RecoveryClass): ReadonlyArray<ErrorTag> =>
  (Object.keys(errorPolicy) as Array<ErrorTag>).filter((tag) => errorPolicy[tag].recovery === cls)

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
