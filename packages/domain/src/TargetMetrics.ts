import { Effect, Metric } from "effect"
import { errorPolicy } from "./ErrorPolicy.js"
import type { ErrorTag } from "./Errors.js"
import type { Target } from "./Ids.js"

/**
 * Requests plexsync sends to each server and the ones that failed, by the error they failed with (the tags of the
 * error table, as in the DLQ): counted by the live clients, one per HTTP request.
 */

export const targetRequests = Metric.counter("plexsync_target_requests_total", {
  description: "HTTP requests sent to each server (target)",
  incremental: true
})

export const targetErrors = Metric.counter("plexsync_target_errors_total", {
  description: "Requests to each server (target) that failed, by the error they failed with (error_tag)",
  incremental: true
})

/** The error tags each target's requests can fail with: every label set the error counter may have. */
export const errorTagsOf = (target: Target): ReadonlyArray<ErrorTag> =>
  (Object.keys(errorPolicy) as Array<ErrorTag>).filter((tag) => errorPolicy[tag].target === target)

/** Counts one request to `target`, and its failure by its error's tag. */
export const counted = (target: Target) =>
<A, E extends { readonly _tag: string }, R>(
  request: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Metric.increment(Metric.tagged(targetRequests, "target", target)).pipe(
    Effect.zipRight(request),
    Effect.tapError((error) => countError(target, error._tag))
  )

/** Counts a failure found after the exchange (an answer that does not decode). */
export const countError = (target: Target, errorTag: string) =>
  Metric.increment(Metric.tagged(Metric.tagged(targetErrors, "target", target), "error_tag", errorTag))

/** The requests counted for `target` so far, and those failed with `errorTag`. */
export const countsOf = (target: Target, errorTag: string) =>
  Effect.map(
    Effect.all([
      Metric.value(Metric.tagged(targetRequests, "target", target)),
      Metric.value(Metric.tagged(Metric.tagged(targetErrors, "target", target), "error_tag", errorTag))
    ]),
    ([requests, errors]) => ({ requests: requests.count, errors: errors.count })
  )
