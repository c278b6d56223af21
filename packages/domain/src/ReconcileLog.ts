import type { Effect } from "effect"
import { Context } from "effect"
import type { StoreError } from "./StoreError.js"

/**
 * The history of (non-dry) reconciliation runs, newest first: each run's stored record (`Reconcile.storedRecord`,
 * the `reconcile --json` document with its id list cut short). `reconcile.last` in `Settings` keeps the newest for
 * the schedule; this keeps the ones before it for a person to look back at.
 */
export interface ReconcileRun {
  readonly id: number
  readonly startedAt: number
  readonly finishedAt: number
  /** The stored record as it was written; a row whose JSON does not parse reads as null. */
  readonly record: unknown
}

/** Rows kept: older runs are deleted as new ones are written. */
export const reconcileHistoryLimit = 500

export interface ReconcileLogService {
  readonly record: (
    run: { readonly startedAt: number; readonly finishedAt: number; readonly record: unknown }
  ) => Effect.Effect<void, StoreError>
  readonly list: (options: { readonly limit: number }) => Effect.Effect<ReadonlyArray<ReconcileRun>, StoreError>
}

export class ReconcileLog extends Context.Tag("@plexsync/domain/ReconcileLog")<ReconcileLog, ReconcileLogService>() {}
