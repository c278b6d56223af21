import { PlexEvents } from "@plexsync/domain/PlexEvents"
import type { EngineSettings, WorkerRequirements } from "@plexsync/domain/Worker"
import { makeWorker } from "@plexsync/domain/Worker"
import { Effect, Layer, Option } from "effect"
import { Wakeups } from "./Wakeups.js"
import { WorkerSlot } from "./WorkerLease.js"

/**
 * The sync engine's worker in the scheduler's worker slot. A fresh worker is built each time this process
 * takes the worker lease, so breakers, outages and the ramp are read from the database as another process may
 * have left them. The engine probes open breakers itself while it runs (the health supervisor), and looks at the
 * queue the moment a job may have been queued (`Wakeups`).
 */
export const layer = (
  settings: EngineSettings,
  options: { readonly graceMs: number; readonly retryStoppedAfterMs: number }
): Layer.Layer<WorkerSlot, never, WorkerRequirements | Wakeups> =>
  Layer.effect(
    WorkerSlot,
    Effect.gen(function*() {
      const context = yield* Effect.context<WorkerRequirements>()
      const wakeups = yield* Wakeups
      const events = yield* Effect.serviceOption(PlexEvents)
      return WorkerSlot.of({
        run: (stop) =>
          Effect.gen(function*() {
            const worker = yield* makeWorker(settings).pipe(
              Option.isSome(events) ? Effect.provideService(PlexEvents, events.value) : (effect) => effect
            )
            const summary = yield* worker.run({ stop, graceMs: options.graceMs, wakeups: wakeups.stream })
            yield* Effect.logInfo(
              `worker stopped: ${summary.processed} job(s) settled (${summary.synced} synced, ${summary.unchanged} unchanged, ` +
                `${summary.retried} retried, ${summary.held} held, ${summary.deadLettered} dead-lettered, ${summary.dropped} dropped)`
            )
          }).pipe(
            Effect.catchTags({
              WorkerStopped: (stopped) =>
                Effect.logError(stopped.message).pipe(
                  Effect.as({ reason: stopped.message, retryAfterMs: options.retryStoppedAfterMs })
                ),
              StoreError: (error) =>
                Effect.logError(`the worker stopped: the database failed (${error.reason}: ${error.message})`).pipe(
                  Effect.as({ reason: `the database failed: ${error.message}`, retryAfterMs: settings.leaseMs })
                )
            }),
            Effect.provide(context)
          )
      })
    })
  )
