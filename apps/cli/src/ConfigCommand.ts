import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import type { AppConfigShape } from "@plexsync/runtime/AppConfig"
import { ConfigFileError, parseConfigText } from "@plexsync/runtime/AppConfig"
import type { Report } from "@plexsync/runtime/Commands"
import { effectiveSettings, renderEffectiveSettings } from "@plexsync/runtime/ConfigReport"
import { Effect, Option } from "effect"

/** `plexsync config`: every effective setting, its value (secrets hidden) and where it came from. */
export const configReport = (
  config: AppConfigShape,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<Report, ConfigFileError> =>
  Effect.gen(function*() {
    let fileValues: Record<string, unknown> | undefined
    if (Option.isSome(config.configFile)) {
      const path = config.configFile.value
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(path).pipe(
        Effect.mapError(() => new ConfigFileError({ path, reason: "cannot be read" }))
      )
      const values = yield* parseConfigText(path, text)
      fileValues = typeof values === "object" && values !== null ? values as Record<string, unknown> : undefined
    }
    const settings = effectiveSettings({ env, fileValues, config })
    return {
      human: renderEffectiveSettings(config.configFile, settings),
      json: { configFile: Option.getOrNull(config.configFile), settings }
    }
  }).pipe(Effect.provide(NodeFileSystem.layer))
