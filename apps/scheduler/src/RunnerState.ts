import type { ReconcileSchedule } from "@plexsync/runtime/AppConfig"
import { Clock, Context, Effect, Layer, Ref } from "effect"

/**
 * What this scheduler process is doing, for the web UI and `/status`: kept in memory, because it
 * describes this process only (the shared state lives in the database).
 */

export type WorkerPhase =
  | { readonly _tag: "Starting" }
  | { readonly _tag: "Waiting"; readonly holder: string; readonly until: number }
  | { readonly _tag: "Running"; readonly since: number }
  | { readonly _tag: "Stopped"; readonly reason: string; readonly retryAt: number | null }
  | { readonly _tag: "ShuttingDown" }

export interface PollSummary {
  readonly at: number
  readonly read: number
  readonly queued: number
  readonly watermark: string | null
  readonly error: string | null
}

export interface Snapshot {
  readonly startedAt: number
  readonly holder: string
  readonly worker: WorkerPhase
  readonly lastPoll: PollSummary | null
  /** When the change feed last read Stash without an error. */
  readonly lastPollOkAt: number | null
  readonly lastPurge: { readonly at: number; readonly purged: number } | null
  /** The scheduled reconciliation this process runs. */
  readonly reconcile: ReconcileSchedule
}

export interface RunnerStateService {
  readonly snapshot: Effect.Effect<Snapshot>
  readonly setWorker: (phase: WorkerPhase) => Effect.Effect<void>
  readonly recordPoll: (poll: PollSummary) => Effect.Effect<void>
  readonly recordPurge: (purge: { readonly at: number; readonly purged: number }) => Effect.Effect<void>
}

export class RunnerState extends Context.Tag("@plexsync/scheduler/RunnerState")<RunnerState, RunnerStateService>() {}

export const make = (holder: string, reconcile: ReconcileSchedule = { _tag: "Never" }) =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const ref = yield* Ref.make<Snapshot>({
      startedAt,
      holder,
      worker: { _tag: "Starting" },
      lastPoll: null,
      lastPollOkAt: null,
      lastPurge: null,
      reconcile
    })
    return RunnerState.of({
      snapshot: Ref.get(ref),
      setWorker: (worker) => Ref.update(ref, (s) => ({ ...s, worker })),
      recordPoll: (lastPoll) =>
        Ref.update(
          ref,
          (s) => ({ ...s, lastPoll, lastPollOkAt: lastPoll.error === null ? lastPoll.at : s.lastPollOkAt })
        ),
      recordPurge: (lastPurge) => Ref.update(ref, (s) => ({ ...s, lastPurge }))
    })
  })

export const layer = (holder: string, reconcile?: ReconcileSchedule) =>
  Layer.effect(RunnerState, make(holder, reconcile))

/** The worker phase in a few words, for a person. */
export const describeWorker = (phase: WorkerPhase, now: number): string => {
  switch (phase._tag) {
    case "Starting":
      return "starting"
    case "Waiting":
      return `waiting: another process (${phase.holder}) holds the worker lease`
    case "Running":
      return "running"
    case "Stopped":
      return phase.retryAt === null
        ? `stopped: ${phase.reason}`
        : `stopped: ${phase.reason} (retrying in ${Math.max(0, Math.round((phase.retryAt - now) / 1000))}s)`
    case "ShuttingDown":
      return "shutting down"
  }
}
