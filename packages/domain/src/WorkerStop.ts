import { Effect, Either, Option, Schema } from "effect"
import type { SettingsService } from "./Settings.js"
import { SettingKeys } from "./Settings.js"
import type { StoreError } from "./StoreError.js"

/**
 * Why the worker last stopped for a person to act (a refused token or API key, a shared user's token), kept in
 * the database so every process can say so: `plexsync status`, the scheduler's `/status` and `/healthz`. A worker
 * that settles a job successfully afterwards clears it: the credentials work again.
 */

export const WorkerStopRecord = Schema.Struct({
  /** The error's tag, e.g. `PlexPermissionError`. */
  reason: Schema.String,
  message: Schema.String,
  /** Epoch ms. */
  at: Schema.Number
})
export type WorkerStopRecord = typeof WorkerStopRecord.Type

const FromJson = Schema.parseJson(WorkerStopRecord)

export const recordStop = (
  settings: SettingsService,
  stop: WorkerStopRecord
): Effect.Effect<void, StoreError> => settings.set(SettingKeys.workerStopped, Schema.encodeSync(FromJson)(stop))

export const clearStop = (settings: SettingsService): Effect.Effect<void, StoreError> =>
  Effect.flatMap(
    settings.get(SettingKeys.workerStopped),
    (stored) => Option.isSome(stored) && stored.value !== "" ? settings.set(SettingKeys.workerStopped, "") : Effect.void
  )

/** The recorded stop, if the worker is stopped (a record that does not decode is reported as unreadable). */
export const readStop = (settings: SettingsService): Effect.Effect<Option.Option<WorkerStopRecord>, StoreError> =>
  Effect.map(settings.get(SettingKeys.workerStopped), (stored) => {
    if (Option.isNone(stored) || stored.value === "") return Option.none()
    return Either.match(Schema.decodeUnknownEither(FromJson)(stored.value), {
      onLeft: () =>
        Option.some({
          reason: "Unreadable",
          message: `the worker's stop record cannot be read (${stored.value.slice(0, 80)})`,
          at: 0
        }),
      onRight: Option.some
    })
  })
