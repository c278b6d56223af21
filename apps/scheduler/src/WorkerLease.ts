import { ProcessLease } from "@plexsync/domain/Settings"
import { Cause, Clock, Context, Deferred, Duration, Effect, Fiber, Option } from "effect"
import { RunnerState } from "./RunnerState.js"

/**
 * Only one worker per database. The scheduler takes the `ProcessLease` row "worker" before it claims a
 * single job and renews it every third of the lease; a second scheduler, or a `plexsync run` started next to
 * it, sees the lease held and waits. A lease that cannot be renewed stops the worker: two workers must never
 * run at once, even at the cost of a pause.
 */

export const workerLeaseName = "worker"

/** Why a worker run ended by itself. */
export interface WorkerStopped {
  /** A person must act (bad token, permissions): the scheduler waits `retryAfterMs` before trying again. */
  readonly reason: string
  readonly retryAfterMs: number
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
  readonly holder: string
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
    const renewEvery = Duration.millis(Math.max(10, Math.floor(options.leaseMs / 3)))

    const acquire = lease.acquire(workerLeaseName, options.holder, options.leaseMs)

    /** Waits until the lease is ours; says so once per change of holder. */
    const waitForLease = Effect.gen(function*() {
      let announced: string | null = null
      while (true) {
        const got = yield* acquire.pipe(
          Effect.catchAll((error) =>
            Effect.logWarning(`worker lease: the database did not answer (${error.message}); trying again`).pipe(
              Effect.as(false)
            )
          )
        )
        if (got) return
        const current = yield* lease.holder(workerLeaseName).pipe(Effect.orElseSucceed(() => Option.none()))
        if (Option.isSome(current)) {
          yield* state.setWorker({ _tag: "Waiting", holder: current.value.holder, until: current.value.until })
          if (announced !== current.value.holder) {
            announced = current.value.holder
            yield* Effect.logWarning(
              `another process (${current.value.holder}) holds the worker lease; this scheduler waits and serves HTTP meanwhile`
            )
          }
        }
        yield* Effect.sleep(renewEvery)
      }
    })

    /** Renews every third of the lease; completes `lost` when the lease is gone or cannot be renewed in time. */
    const renewLoop = (lost: Deferred.Deferred<string>) =>
      Effect.gen(function*() {
        let lastRenewed = yield* Clock.currentTimeMillis
        while (true) {
          yield* Effect.sleep(renewEvery)
          const now = yield* Clock.currentTimeMillis
          const renewed = yield* Effect.either(acquire)
          if (renewed._tag === "Right" && renewed.right) {
            lastRenewed = now
            continue
          }
          if (renewed._tag === "Right") {
            return yield* Deferred.succeed(lost, "another process took the worker lease")
          }
          yield* Effect.logWarning(`worker lease: renewal failed (${renewed.left.message})`)
          // Stop before the lease can expire under us, leaving a third of it as margin.
          if (now - lastRenewed >= (options.leaseMs * 2) / 3) {
            return yield* Deferred.succeed(lost, "the worker lease could not be renewed")
          }
        }
      })

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
      const lost = yield* Deferred.make<string>()
      const since = yield* Clock.currentTimeMillis
      yield* state.setWorker({ _tag: "Running", since })
      yield* Effect.logInfo("holding the worker lease; processing the queue")
      const renewer = yield* Effect.forkDaemon(renewLoop(lost))
      const worker = yield* Effect.forkDaemon(slot.run(Deferred.await(stop)))
      return yield* Effect.gen(function*() {
        const outcome = yield* Effect.raceFirst(
          Fiber.join(worker).pipe(Effect.map((stopped) => ({ _tag: "WorkerEnded" as const, stopped }))),
          Deferred.await(lost).pipe(Effect.map((why) => ({ _tag: "LeaseLost" as const, why })))
        ).pipe(
          Effect.onInterrupt(() =>
            state.setWorker({ _tag: "ShuttingDown" }).pipe(
              Effect.zipRight(Effect.logInfo("shutting down: the worker stops claiming; in-flight jobs may finish")),
              Effect.zipRight(stopWorker(worker, stop, "shutdown"))
            )
          )
        )
        if (outcome._tag === "LeaseLost") {
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
            Effect.zipRight(lease.release(workerLeaseName, options.holder).pipe(Effect.ignore)),
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
      const now = yield* Clock.currentTimeMillis
      const retryAt = ended.retryAfterMs > 0 ? now + ended.retryAfterMs : null
      yield* state.setWorker({ _tag: "Stopped", reason: ended.reason, retryAt })
      if (ended.retryAfterMs > 0) yield* Effect.sleep(Duration.millis(ended.retryAfterMs))
    }
  }).pipe(Effect.annotateLogs("duty", "worker"))
