import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as PlexEventsLive from "@plexsync/plex/PlexEventsLive"
import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { Data, Duration, Effect, Layer } from "effect"
import type { AppConfigShape } from "./AppConfig.js"
import { requirePlexToken } from "./AppConfig.js"
import { cannotCreateText, makeDirectory } from "./DataDir.js"

/**
 * The layers a command runs on, built from the validated configuration: the store (one SQLite file in the
 * data directory), the Stash client, and the Plex client (which needs the token, and reads its client
 * identifier from the store). Commands ask only for what they use: `status` opens the store alone, so it
 * needs no Plex token and no reachable server.
 */

/** The data directory or database cannot be opened. */
export class StoreOpenError extends Data.TaggedError("StoreOpenError")<{ readonly message: string }> {}

/** Every store service, on the database in the data directory (created on first use). */
export const storeLayer = (config: AppConfigShape, options: { readonly quickCheck?: boolean } = {}) =>
  Layer.unwrapEffect(
    Effect.try({
      try: () => makeDirectory(config.dataDir),
      catch: (cause) => new StoreOpenError({ message: cannotCreateText(config.dataDir, cause) })
    }).pipe(Effect.as(storeOnFile(config.databaseFile, options)))
  )

const http = NodeHttpClient.layerUndici

export const stashLayer = (config: AppConfigShape) =>
  StashClientLive.layer({
    url: config.stashUrl,
    apiKey: config.stashApiKey,
    timeoutMs: Duration.toMillis(config.requestTimeout)
  }).pipe(Layer.provide(http))

/** The Plex client; fails with `ConfigMissing` when no token is set. Needs `Settings` (its client identifier). */
export const plexLayer = (config: AppConfigShape) =>
  Layer.unwrapEffect(
    Effect.map(
      requirePlexToken(config),
      (token) =>
        PlexClientLive.layerWithSettings({
          url: config.plexUrl,
          token,
          timeoutMs: Duration.toMillis(config.requestTimeout)
        }).pipe(Layer.provide(http))
    )
  )

/** Plex's event stream (scans that ended, items added); needs `Settings` (the client identifier). */
export const plexEventsLayer = (config: AppConfigShape) =>
  Layer.unwrapEffect(
    Effect.map(
      requirePlexToken(config),
      (token) => PlexEventsLive.layerWithSettings({ url: config.plexUrl, token }).pipe(Layer.provide(http))
    )
  )

/** Stash, Plex and the store: what the commands that talk to both servers need (the store also serves Plex). */
export const serversLayer = (config: AppConfigShape) =>
  Layer.mergeAll(stashLayer(config), plexLayer(config)).pipe(Layer.provideMerge(storeLayer(config)))
