import { ReconcileLog } from "@plexsync/domain/ReconcileLog"
import { RecoveryLog } from "@plexsync/domain/RecoveryLog"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { jobDocument, reconcileRunDocument, recoveryRunDocument } from "@plexsync/runtime/Documents"
import { parseStored } from "@plexsync/runtime/Status"
import { Effect, Option } from "effect"

/** Documents the API answers and the web UI shows, built once for both. */

/** `GET /api/v1/queue`: the queue's counts and its jobs in due order. */
export const queueListing = (options: { readonly state?: "queued" | "running" | undefined; readonly limit: number }) =>
  Effect.gen(function*() {
    const queue = yield* SyncQueue
    const [counts, jobs] = yield* Effect.all([
      queue.counts,
      queue.list(
        options.state === undefined ? { limit: options.limit } : { limit: options.limit, state: options.state }
      )
    ])
    return { counts, jobs: jobs.map(jobDocument) }
  })

export type QueueListing = Effect.Effect.Success<ReturnType<typeof queueListing>>

/** `GET /api/v1/runs`: recovery runs and reconciliations, newest first, and the last reconciliation's record. */
export const runsListing = (limit: number) =>
  Effect.gen(function*() {
    const [recoveries, reconciliations, lastReconcile] = yield* Effect.all([
      Effect.flatMap(RecoveryLog, (log) => log.list({ limit })),
      Effect.flatMap(ReconcileLog, (log) => log.list({ limit })),
      Effect.flatMap(Settings, (settings) => settings.get(SettingKeys.lastReconcile))
    ])
    return {
      recoveries: recoveries.map(recoveryRunDocument),
      reconciliations: reconciliations.map(reconcileRunDocument),
      lastReconcile: Option.getOrNull(Option.map(lastReconcile, parseStored))
    }
  })

export type RunsListing = Effect.Effect.Success<ReturnType<typeof runsListing>>
