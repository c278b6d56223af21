import { Context, Data, Deferred, Effect, Layer } from "effect"

/** The scheduler cannot go on (its database file was deleted or replaced): it exits non-zero with this message. */
export class FatalError extends Data.TaggedError("FatalError")<{ readonly message: string }> {}

/**
 * Where a duty says the scheduler must stop. A duty is a fiber of its own, whose failure would end only that fiber;
 * `Main` waits on `failed` beside the layers and ends the process with it.
 */
export interface FatalService {
  readonly fail: (message: string) => Effect.Effect<void>
  readonly failed: Effect.Effect<never, FatalError>
}

export class Fatal extends Context.Tag("@plexsync/scheduler/Fatal")<Fatal, FatalService>() {}

export const make = Effect.map(Deferred.make<never, FatalError>(), (deferred) =>
  Fatal.of({
    fail: (message) => Effect.asVoid(Deferred.fail(deferred, new FatalError({ message }))),
    failed: Deferred.await(deferred)
  }))

export const layer = Layer.effect(Fatal, make)
