import { Cause, Clock, Duration, Effect, Option, Queue, Ref, Schedule, Stream } from "effect"

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
    const guarded = yield* guard(name, tick, `trying again in ${Duration.format(every)}`)
    return yield* guarded.pipe(Effect.repeat(Schedule.spaced(every)), Effect.zipRight(Effect.never))
  }).pipe(Effect.annotateLogs("duty", name)) as Effect.Effect<never, never, R>

/**
 * A duty that runs at the times `nextAt` gives (epoch ms; null: not now, look again in `every`), asked afresh
 * before each run, so a schedule can follow what the database says (the last reconciliation's end). A failed run
 * is tried again no sooner than `retryAfterMs` after it.
 */
export const dutyAt = <A, E, R, R2>(
  name: string,
  tick: Effect.Effect<A, E, R>,
  nextAt: Effect.Effect<number | null, never, R2>,
  options: { readonly retryAfterMs: number }
): Effect.Effect<never, never, R | R2> =>
  Effect.gen(function*() {
    const guarded = yield* guard(name, tick, "trying again at its next scheduled time")
    let lastAttemptEnd: number | null = null
    while (true) {
      const next = yield* nextAt
      if (next === null) return yield* Effect.never
      const at = lastAttemptEnd === null ? next : Math.max(next, lastAttemptEnd + options.retryAfterMs)
      const now = yield* Clock.currentTimeMillis
      if (at > now) yield* Effect.sleep(Duration.millis(at - now))
      yield* guarded
      lastAttemptEnd = yield* Clock.currentTimeMillis
    }
  }).pipe(Effect.annotateLogs("duty", name)) as Effect.Effect<never, never, R | R2>

/**
 * A duty for work that only events create (an outage closing): it runs at the start, whenever `wakeups` emits, and
 * otherwise `everyMs` after its last run — `pendingMs` after a run that says more is pending (`true`) or that
 * failed. An idle scheduler does not wake for it.
 */
export const dutyWoken = <E, R>(
  name: string,
  tick: Effect.Effect<boolean, E, R>,
  options: { readonly wakeups: Stream.Stream<void>; readonly everyMs: number; readonly pendingMs: number }
): Effect.Effect<never, never, R> =>
  Effect.gen(function*() {
    const woken = yield* Queue.sliding<void>(1)
    yield* Effect.forkScoped(Stream.runForEach(options.wakeups, () => Queue.offer(woken, undefined)))
    const guarded = yield* guard(name, tick, `trying again in ${Duration.format(Duration.millis(options.pendingMs))}`)
    while (true) {
      const pending = Option.getOrElse(yield* guarded, () => true)
      yield* Effect.raceFirst(
        Queue.take(woken),
        Effect.sleep(Duration.millis(pending ? options.pendingMs : options.everyMs))
      )
      yield* Queue.takeAll(woken)
    }
  }).pipe(Effect.scoped, Effect.annotateLogs("duty", name)) as Effect.Effect<never, never, R>

/**
 * The tick, made to outlive its failures (its value, or none when it failed): the first failure of a streak is a warning, repeats of the same failure
 * are logged at debug level, and the first success after a streak says so.
 */
const guard = <A, E, R>(name: string, tick: Effect.Effect<A, E, R>, retry: string) =>
  Effect.map(Ref.make<string | null>(null), (lastFailure) =>
    tick.pipe(
      Effect.zipLeft(
        Ref.getAndSet(lastFailure, null).pipe(
          Effect.flatMap((previous) =>
            previous === null ? Effect.void : Effect.logInfo(`${name}: working again after: ${previous}`)
          )
        )
      ),
      Effect.map(Option.some),
      Effect.catchAllCause((cause) => {
        if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
        const text = describe(cause)
        return Ref.getAndSet(lastFailure, text).pipe(
          Effect.flatMap((previous) =>
            previous === text
              ? Effect.logDebug(`${name} failed again: ${text}`)
              : Effect.logWarning(`${name} failed: ${text}; ${retry}`).pipe(
                // The full cause (with its stack) only at debug level.
                Effect.zipRight(Effect.logDebug(`${name} failure detail`, cause))
              )
          ),
          Effect.as(Option.none<A>())
        )
      })
    ))

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
