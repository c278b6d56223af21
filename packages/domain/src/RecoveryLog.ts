import type { Effect, Option } from "effect"
import { Context, Schema } from "effect"
import { ErrorTag } from "./Errors.js"
import { Millis, OutageId, SceneId } from "./Ids.js"
import type { StoreError } from "./StoreError.js"

/** The window a recovery selects DLQ entries in. Both ends inclusive, in ms. */
export const RecoveryWindow = Schema.Struct({
  from: Millis,
  to: Millis,
  outageId: Schema.NullOr(OutageId)
})
export type RecoveryWindow = typeof RecoveryWindow.Type

/**
 * Why a recovery stopped before the end of its selection: Plex was unhealthy at the start gate (`PlexDown`:
 * nothing was re-queued), went down during the run (`PlexWentDown`: the entries not yet reached wait), or Stash
 * failed while the run checked that scenes exist (`StashFailed`: the run ended with `RecoveryStopped`).
 */
export const RecoveryStop = Schema.Literal("PlexDown", "PlexWentDown", "StashFailed")
export type RecoveryStop = typeof RecoveryStop.Type

/** The counts of one recovery run (`recover --json`, with times as ms here; see docs/architecture.md). */
export const RecoveryResult = Schema.Struct({
  window: RecoveryWindow,
  errorTags: Schema.Array(ErrorTag),
  dryRun: Schema.Boolean,
  recovered: Schema.Int,
  skippedAlreadyQueued: Schema.Int,
  skippedPlexDown: Schema.Int,
  skippedSceneMissing: Schema.Int,
  failed: Schema.Int,
  recoveredSceneIds: Schema.Array(SceneId),
  /**
   * Why the run stopped early, or null when it went through its selection (a Stash failure is `RecoveryStopped`
   * instead). Runs recorded before plexsync kept it read as null.
   */
  stoppedBy: Schema.optionalWith(Schema.NullOr(RecoveryStop), { default: () => null })
})
export type RecoveryResult = typeof RecoveryResult.Type

export const RecoveryTrigger = Schema.Literal("manual", "automatic")
export type RecoveryTrigger = typeof RecoveryTrigger.Type

/**
 * The audit row of one (non-dry) recovery run: written when the run starts (its window known, counts zero) and
 * finished when it ends. A row never finished (`finishedAt` null) is a run that was killed, or is still going.
 * Attempts that changed nothing for the same reason (Plex still down at the start gate) share one row: `attempts`
 * counts them, `startedAt` is the first and `finishedAt` the last.
 */
export class RecoveryRun extends Schema.Class<RecoveryRun>("RecoveryRun")({
  id: Schema.Int,
  startedAt: Millis,
  finishedAt: Schema.NullOr(Millis),
  trigger: RecoveryTrigger,
  result: RecoveryResult,
  attempts: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 1 })
}) {}

/** How a run ended: it went through its selection, stopped early (see `RecoveryStop`), or never finished. */
export type RecoveryOutcome = "completed" | "stopped" | "unfinished"

export const recoveryOutcome = (run: RecoveryRun): RecoveryOutcome =>
  run.finishedAt === null ? "unfinished" : run.result.stoppedBy === null ? "completed" : "stopped"

export interface RecoveryLogService {
  /** Writes the row of a run that starts now; `result` holds its window and zero counts. */
  readonly start: (
    run: { readonly startedAt: number; readonly trigger: RecoveryTrigger; readonly result: RecoveryResult }
  ) => Effect.Effect<RecoveryRun, StoreError>
  /**
   * Finishes a started row with the run's result. A run the Plex gate stopped at the start right after the same
   * kind of run over the same window was stopped the same way is folded into that row (one more attempt), so an
   * outage retried every few seconds while Plex stays down leaves one row, not one per try.
   */
  readonly finish: (
    id: number,
    run: { readonly finishedAt: number; readonly result: RecoveryResult }
  ) => Effect.Effect<RecoveryRun, StoreError>
  /** The newest row, however it ended. */
  readonly latest: Effect.Effect<Option.Option<RecoveryRun>, StoreError>
  /** The newest run that went through its selection. */
  readonly lastCompleted: Effect.Effect<Option.Option<RecoveryRun>, StoreError>
  readonly list: (options: { readonly limit: number }) => Effect.Effect<ReadonlyArray<RecoveryRun>, StoreError>
  /** Deletes the rows of runs that started before `cutoff` (ms), keeping the newest completed one; returns how many. */
  readonly prune: (cutoff: number) => Effect.Effect<number, StoreError>
}

export class RecoveryLog extends Context.Tag("@plexsync/domain/RecoveryLog")<RecoveryLog, RecoveryLogService>() {}
