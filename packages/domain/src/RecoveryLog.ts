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
 * nothing was re-queued), or went down during the run (`PlexWentDown`: the entries not yet reached wait).
 */
export const RecoveryStop = Schema.Literal("PlexDown", "PlexWentDown")
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

/** The audit row of one (non-dry) recovery run. */
export class RecoveryRun extends Schema.Class<RecoveryRun>("RecoveryRun")({
  id: Schema.Int,
  startedAt: Millis,
  finishedAt: Millis,
  trigger: RecoveryTrigger,
  result: RecoveryResult
}) {}

export interface RecoveryLogService {
  readonly record: (
    run: {
      readonly startedAt: number
      readonly finishedAt: number
      readonly trigger: RecoveryTrigger
      readonly result: RecoveryResult
    }
  ) => Effect.Effect<RecoveryRun, StoreError>
  readonly latest: Effect.Effect<Option.Option<RecoveryRun>, StoreError>
  readonly list: (options: { readonly limit: number }) => Effect.Effect<ReadonlyArray<RecoveryRun>, StoreError>
}

export class RecoveryLog extends Context.Tag("@plexsync/domain/RecoveryLog")<RecoveryLog, RecoveryLogService>() {}
