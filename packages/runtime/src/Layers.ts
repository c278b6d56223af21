import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { ReconcileSettings } from "@plexsync/domain/Reconcile"
import type { EngineSettings } from "@plexsync/domain/Worker"
import { defaultEngineSettings } from "@plexsync/domain/Worker"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as Database from "@plexsync/sqlite/Database"
import { StoreLive } from "@plexsync/sqlite/StoreLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { Data, Duration, Effect, Layer } from "effect"
import * as Fs from "node:fs"
import type { AppConfigShape } from "./AppConfig.js"
import { requirePlexToken } from "./AppConfig.js"

/**
 * The layers a command runs on, built from the validated configuration: the store (one SQLite file in the
 * data directory), the Stash client, and the Plex client (which needs the token, and reads its client
 * identifier from the store). Commands ask only for what they use: `status` opens the store alone, so it
 * needs no Plex token and no reachable server.
 */

const ms = Duration.toMillis

/** The data directory or database cannot be opened. */
export class StoreOpenError extends Data.TaggedError("StoreOpenError")<{ readonly message: string }> {}

/** Every store service, on the database in the data directory (created on first use). */
export const storeLayer = (config: AppConfigShape, options: { readonly quickCheck?: boolean } = {}) =>
  Layer.unwrapEffect(
    Effect.try({
      try: () => Fs.mkdirSync(config.dataDir, { recursive: true }),
      catch: (cause) =>
        new StoreOpenError({
          message: `cannot create the data directory ${config.dataDir} (${
            (cause as NodeJS.ErrnoException).code ?? String(cause)
          }); set PLEXSYNC_DATA_DIR to a writable directory`
        })
    }).pipe(
      Effect.as(
        StoreLive.pipe(
          Layer.provideMerge(
            Database.layer({
              filename: config.databaseFile,
              ...(options.quickCheck === undefined ? {} : { quickCheck: options.quickCheck })
            })
          )
        )
      )
    )
  )

const http = NodeHttpClient.layerUndici

export const stashLayer = (config: AppConfigShape) =>
  StashClientLive.layer({ url: config.stashUrl, apiKey: config.stashApiKey }).pipe(Layer.provide(http))

/** The Plex client; fails with `ConfigMissing` when no token is set. Needs `Settings` (its client identifier). */
export const plexLayer = (config: AppConfigShape) =>
  Layer.unwrapEffect(
    Effect.map(
      requirePlexToken(config),
      (token) => PlexClientLive.layerWithSettings({ url: config.plexUrl, token }).pipe(Layer.provide(http))
    )
  )

/** The sync engine's settings from the configuration. */
/** Stash, Plex and the store: what the commands that talk to both servers need (the store also serves Plex). */
export const serversLayer = (config: AppConfigShape) =>
  Layer.mergeAll(stashLayer(config), plexLayer(config)).pipe(Layer.provideMerge(storeLayer(config)))

export const engineSettings = (config: AppConfigShape): EngineSettings => ({
  ...defaultEngineSettings,
  concurrency: config.concurrency,
  leaseMs: ms(config.lease),
  holdLimitMs: ms(config.holdLimit),
  breakerThreshold: config.breakerThreshold,
  probeMinMs: ms(config.probeMin),
  probeMaxMs: ms(config.probeMax),
  rampFromPerSec: config.rampFrom,
  rampToPerSec: config.rampTo,
  rampOverMs: ms(config.rampOver),
  fields: new Set(config.fields),
  preservePlexEdits: config.preservePlexEdits,
  strictMatching: config.strictMatching,
  pathMap: config.pathMap,
  libraries: config.plexLibraries
})

export const reconcileSettings = (config: AppConfigShape): ReconcileSettings => ({
  fields: new Set(config.fields),
  preservePlexEdits: config.preservePlexEdits,
  pathMap: config.pathMap,
  libraries: config.plexLibraries,
  strictMatching: config.strictMatching
})
