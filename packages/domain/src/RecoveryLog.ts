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

/** The counts of one recovery run (CONTRACT.md `recover --json`, with times as ms here). */
export const RecoveryResult = Schema.Struct({
  window: RecoveryWindow,
  errorTags: Schema.Array(ErrorTag),
  dryRun: Schema.Boolean,
  recovered: Schema.Int,
  skippedAlreadyQueued: Schema.Int,
  skippedPlexDown: Schema.Int,
  skippedSceneMissing: Schema.Int,
  failed: Schema.Int,
  recoveredSceneIds: Schema.Array(SceneId)
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
