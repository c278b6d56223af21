import type { LeaseLoss, ThisHost } from "@plexsync/domain/LeaseHolder"
import { acquireLease, describeHolder, holderText, keepLease } from "@plexsync/domain/LeaseHolder"
import { ProcessLease } from "@plexsync/domain/Settings"
import { takeOverFrom } from "@plexsync/domain/WorkerTakeover"
import { Database } from "@plexsync/sqlite/Database"
import { Cause, Clock, Context, Deferred, Duration, Effect, Fiber, Option } from "effect"
import { Fatal } from "./Fatal.js"
import { RunnerState } from "./RunnerState.js"

/**
 * Only one worker per database. The scheduler takes the `ProcessLease` row "worker" before it claims a
 * single job and renews it every third of the lease; a second scheduler, or a `plexsync run` started next to
 * it, sees the lease held and waits. A lease that cannot be renewed stops the worker: two workers must never
 * run at once, even at the cost of a pause. A holder that is a process of this host that no longer exists (killed)
 * is taken over at once.
 *
 * The lease loops also check that the database file is still the one opened: deleted or replaced, what the worker
 * writes would be lost, so the worker stops, `/healthz` fails, and the scheduler exits non-zero (`Fatal`).
 */

export const workerLeaseName = "worker"

/** Why a worker run ended by itself. */
export interface WorkerStopped {
  /** A person must act (bad token, permissions): the scheduler waits `retryAfterMs` before trying again. */
  readonly reason: string
  readonly retryAfterMs: number
  /** Nothing to retry: the scheduler must exit (the database file is gone). */
  readonly fatal?: boolean
}

/**
 * The sync engine's worker as the scheduler runs it: it processes jobs until `stop` completes, then claims
 * nothing more and returns once its in-flight jobs are done. Interrupted, it abandons in-flight jobs and
 * releases their leases, so the jobs are due again at once.
 */
export interface WorkerSlotService {
  readonly run: (stop: Effect.Effect<void>) => Effect.Effect<WorkerStopped | void>
}

export class WorkerSlot extends Context.Tag("@plexsync/scheduler/WorkerSlot")<WorkerSlot, WorkerSlotService>() {}

export interface WorkerLeaseOptions {
  /** This process, in the lease row. */
  readonly here: ThisHost
  readonly leaseMs: number
  /** How long in-flight jobs may finish after shutdown starts. */
  readonly shutdownGraceMs: number
}

/**
 * Runs the worker whenever this process holds the lease, forever. Interrupting this effect is the shutdown:
 * the worker stops claiming, in-flight jobs get the grace period, whatever is left is interrupted (leases
 * released), and the worker lease is released last.
 */
export const superviseWorker = (options: WorkerLeaseOptions) =>
  Effect.gen(function*() {
    const lease = yield* ProcessLease
    const slot = yield* WorkerSlot
    const state = yield* RunnerState
    const database = yield* Effect.serviceOption(Database)
    const fatal = yield* Effect.serviceOption(Fatal)
    const renewEvery = Duration.millis(Math.max(10, Math.floor(options.leaseMs / 3)))
    const holder = holderText(options.here.holder)

    /** Fails with the reason when the database file was deleted or replaced under this process. */
    const fileLost = Option.match(database, {
      onNone: () => Effect.succeed(Option.none<string>()),
      onSome: (db) =>
        db.checkFile.pipe(
          Effect.as(Option.none<string>()),
          Effect.catchAll((error) => Effect.succeed(Option.some(error.message)))
        )
    })

    /** The database file is gone: nothing this process writes counts any more. Fails `/healthz`, then exits. */
    const stopForGood = (why: string) =>
      Effect.gen(function*() {
        yield* state.setWorker({ _tag: "Stopped", reason: why, retryAt: null })
        yield* Effect.logError(`${why} The scheduler exits.`)
        // A moment for a monitor to see /healthz fail before the process is gone.
        yield* Effect.sleep(Duration.seconds(1))
        if (Option.isSome(fatal)) yield* fatal.value.fail(why)
        return yield* Effect.never
      })

    /** Waits until the lease is ours; says so once per change of holder. */
    const waitForLease = Effect.gen(function*() {
      let announced: string | null = null
      while (true) {
        const lost = yield* fileLost
        if (Option.isSome(lost)) return yield* stopForGood(lost.value)
        const got = yield* acquireLease(workerLeaseName, options.here, options.leaseMs).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning(`worker lease: the database did not answer (${error.message}); trying again`).pipe(
              Effect.as(null)
            )
          )
        )
        if (got?._tag === "Acquired") {
          if (got.tookOverFrom !== null) {
            yield* takeOverFrom(got.tookOverFrom).pipe(
              Effect.catchAll((error) =>
                Effect.logWarning(`the dead worker's jobs wait out their leases: ${error.message}`)
              )
            )
          }
          return
        }
        if (got?._tag === "Held") {
          yield* state.setWorker({ _tag: "Waiting", holder: got.holder, until: got.until })
          if (announced !== got.holder) {
            announced = got.holder
            yield* Effect.logWarning(
              `another process (${
                describeHolder(got.holder)
              }) holds the worker lease; this scheduler waits and serves HTTP meanwhile`
            )
          }
        }
        yield* Effect.sleep(renewEvery)
      }
    })

    /** Renews every third of the lease; completes `lost` when the lease is gone or cannot be renewed in time. */
    const renewLoop = (lost: Deferred.Deferred<LeaseLoss>) =>
      keepLease(workerLeaseName, holder, options.leaseMs, fileLost).pipe(
        Effect.flatMap((loss) => Deferred.succeed(lost, loss))
      )

    /**
     * Asks the worker to stop claiming and gives its in-flight jobs the grace period; whatever is still running
     * then is interrupted, which releases its leases. Safe to run as a finalizer: it waits on a `Deferred` fed
     * by daemon fibers rather than racing, so it needs no interruptible region.
     */
    const stopWorker = (
      worker: Fiber.RuntimeFiber<WorkerStopped | void>,
      stop: Deferred.Deferred<void>,
      why: string
    ) =>
      Effect.gen(function*() {
        yield* Deferred.succeed(stop, undefined)
        const settled = yield* Deferred.make<void>()
        yield* Effect.forkDaemon(Fiber.await(worker).pipe(Effect.zipRight(Deferred.succeed(settled, undefined))))
        yield* Effect.forkDaemon(
          Effect.sleep(Duration.millis(options.shutdownGraceMs)).pipe(
            Effect.zipRight(Deferred.succeed(settled, undefined))
          )
        )
        yield* Deferred.await(settled)
        if (Option.isNone(yield* Fiber.poll(worker))) {
          yield* Effect.logWarning(
            `${why}: in-flight jobs did not finish within ${options.shutdownGraceMs}ms; releasing their leases`
          )
          yield* Fiber.interrupt(worker)
        }
      })

    const holdAndRun = Effect.gen(function*() {
      const stop = yield* Deferred.make<void>()
      const lost = yield* Deferred.make<LeaseLoss>()
      const since = yield* Clock.currentTimeMillis
      yield* state.setWorker({ _tag: "Running", since })
      yield* Effect.logInfo("holding the worker lease; processing the queue")
      const renewer = yield* Effect.forkDaemon(renewLoop(lost))
      const worker = yield* Effect.forkDaemon(slot.run(Deferred.await(stop)))
      return yield* Effect.gen(function*() {
        const outcome = yield* Effect.raceFirst(
          Fiber.join(worker).pipe(Effect.map((stopped) => ({ _tag: "WorkerEnded" as const, stopped }))),
          Deferred.await(lost).pipe(Effect.map((loss) => ({ _tag: "LeaseLost" as const, ...loss })))
        ).pipe(
          Effect.onInterrupt(() =>
            state.setWorker({ _tag: "ShuttingDown" }).pipe(
              Effect.zipRight(Effect.logInfo("shutting down: the worker stops claiming; in-flight jobs may finish")),
              Effect.zipRight(stopWorker(worker, stop, "shutdown"))
            )
          )
        )
        if (outcome._tag === "LeaseLost") {
          if (outcome.fatal) {
            yield* stopWorker(worker, stop, outcome.why)
            return { reason: outcome.why, retryAfterMs: 0, fatal: true } satisfies WorkerStopped
          }
          yield* Effect.logError(`${outcome.why}: the worker stops so that two workers never run at once`)
          yield* stopWorker(worker, stop, outcome.why)
          return { reason: outcome.why, retryAfterMs: 0 } satisfies WorkerStopped
        }
        return outcome.stopped ?? { reason: "the worker ended", retryAfterMs: options.leaseMs }
      }).pipe(
        // A worker that died may still hold jobs: make sure it is gone before the lease is released.
        Effect.onError(() => Fiber.interrupt(worker)),
        Effect.ensuring(
          Fiber.interrupt(renewer).pipe(
            Effect.zipRight(lease.release(workerLeaseName, holder).pipe(Effect.ignore)),
            Effect.zipRight(Effect.logInfo("worker lease released"))
          )
        )
      )
    })

    while (true) {
      yield* waitForLease
      const ended = yield* holdAndRun.pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logError("the worker failed", cause).pipe(
            Effect.as<WorkerStopped>({
              reason: `the worker failed: ${Cause.pretty(cause).split("\n")[0]}`,
              retryAfterMs: options.leaseMs
            })
          )
        )
      )
      if (ended.fatal === true) return yield* stopForGood(ended.reason)
      const now = yield* Clock.currentTimeMillis
      const retryAt = ended.retryAfterMs > 0 ? now + ended.retryAfterMs : null
      yield* state.setWorker({ _tag: "Stopped", reason: ended.reason, retryAt })
      if (ended.retryAfterMs > 0) yield* Effect.sleep(Duration.millis(ended.retryAfterMs))
    }
  }).pipe(Effect.annotateLogs("duty", "worker"))
