import { Cause, Duration, Effect, Ref, Schedule } from "effect"

/**
 * A duty is one of the scheduler's recurring jobs (poll Stash, recover outages, purge the DLQ, …): a tick on a
 * schedule, in its own fiber, that outlives its own failures. A failing tick is logged — the first failure of a
 * streak as a warning, repeats of the same failure at debug level so a long outage does not flood the log —
 * and the duty carries on at its next tick. Only interruption (shutdown) ends it.
 */
export const duty = <A, E, R>(
  name: string,
  tick: Effect.Effect<A, E, R>,
  every: Duration.DurationInput,
  options: { readonly firstAfterInterval?: boolean } = {}
): Effect.Effect<never, never, R> =>
  Effect.gen(function*() {
    // Long-period duties (a daily reconciliation) should not all fire at every start.
    if (options.firstAfterInterval === true) yield* Effect.sleep(every)
    const lastFailure = yield* Ref.make<string | null>(null)
    const guarded = tick.pipe(
      Effect.zipLeft(
        Ref.getAndSet(lastFailure, null).pipe(
          Effect.flatMap((previous) =>
            previous === null ? Effect.void : Effect.logInfo(`${name}: working again after: ${previous}`)
          )
        )
      ),
      Effect.catchAllCause((cause) => {
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
        const text = describe(cause)
        return Ref.getAndSet(lastFailure, text).pipe(
          Effect.flatMap((previous) =>
            previous === text
              ? Effect.logDebug(`${name} failed again: ${text}`)
              : Effect.logWarning(`${name} failed: ${text}; trying again in ${Duration.format(every)}`).pipe(
                // The full cause (with its stack) only at debug level.
                Effect.zipRight(Effect.logDebug(`${name} failure detail`, cause))
              )
          )
        )
      })
    )
    return yield* guarded.pipe(Effect.repeat(Schedule.spaced(every)), Effect.zipRight(Effect.never))
  }).pipe(Effect.annotateLogs("duty", name)) as Effect.Effect<never, never, R>

/** One line for a person: the failure's message, never a stack. */
const describe = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  const error: unknown = failure._tag === "Some" ? failure.value : Cause.squash(cause)
  if (typeof error === "object" && error !== null) {
    const tag = "_tag" in error ? String((error as { _tag: unknown })._tag) : null
    const message = "message" in error ? String((error as { message: unknown }).message) : String(error)
    return tag === null || message.startsWith(tag) ? message : `${tag}: ${message}`
  }
  return String(error)
}
