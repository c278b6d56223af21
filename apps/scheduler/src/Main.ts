import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import type { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { PlexClient } from "@plexsync/domain/PlexClient"
import { reconcile, ReconcileScope, summaryLine } from "@plexsync/domain/Reconcile"
import type { Settings } from "@plexsync/domain/Settings"
import type { StashClient } from "@plexsync/domain/StashClient"
import type { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { SyncState } from "@plexsync/domain/SyncState"
import type { EngineSettings } from "@plexsync/domain/Worker"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import type { AppConfigShape } from "@plexsync/runtime/AppConfig"
import { loadAppConfig, requirePlexToken } from "@plexsync/runtime/AppConfig"
import { tuneHeap } from "@plexsync/runtime/Heap"
import * as Layers from "@plexsync/runtime/Layers"
import * as Database from "@plexsync/sqlite/Database"
import { StoreLive } from "@plexsync/sqlite/StoreLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { Cause, Data, Duration, Effect, Exit, Layer, Logger, LogLevel, Option } from "effect"
import * as Fs from "node:fs"
import { createServer } from "node:http"
import * as Os from "node:os"
import * as ChangeFeed from "./ChangeFeed.js"
import * as EngineWorker from "./EngineWorker.js"
import * as Http from "./Http.js"
import * as RunnerState from "./RunnerState.js"
import * as Scheduler from "./Scheduler.js"
import { statusDocument } from "./StatusDocument.js"

/**
 * `plexsync-scheduler`: the long-running runner. Reads the configuration (environment, `--config FILE`),
 * opens the database, and runs the duties and the HTTP face until SIGTERM/SIGINT, then shuts down cleanly
 * and exits 0. Exit 2 for bad usage or configuration, 1 when it cannot start (database, port).
 */

export const version = "0.1.0"

export const usage = `plexsync-scheduler ${version}: keeps Plex in step with Stash, continuously.

Usage: plexsync-scheduler [--config FILE]

Runs the worker (one per database), polls Stash's change feed, probes open breakers, recovers outage
jobs automatically, purges old DLQ entries, and serves HTTP on PLEXSYNC_HTTP_ADDR (default 127.0.0.1:8765):
  GET /            status page          GET /status    status document (JSON)
  GET /metrics     Prometheus text      GET /healthz   "ok"
  POST /hooks/stash  the Stash plugin's hook input (Authorization: Bearer PLEXSYNC_WEBHOOK_SECRET when set)

Every setting is a PLEXSYNC_ environment variable (see the README); --config FILE (or PLEXSYNC_CONFIG) names a
JSON or YAML file with the same keys in camelCase. The environment wins over the file.

Options:
  --config FILE   read settings from FILE
  --help          show this help
  --version       show the version
`

/** Bad usage or configuration: exit 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** The scheduler cannot start (database, listener): exit 1. */
export class StartError extends Data.TaggedError("StartError")<{ readonly message: string }> {}

type Args =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Run"; readonly configFlag: Option.Option<string> }

export const parseArgs = (args: ReadonlyArray<string>): Effect.Effect<Args, UsageError> => {
  let configFlag: Option.Option<string> = Option.none()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--help" || arg === "-h") return Effect.succeed({ _tag: "Help" })
    if (arg === "--version") return Effect.succeed({ _tag: "Version" })
    if (arg === "--config") {
      const file = args[i + 1]
      if (file === undefined || file.startsWith("--")) {
        return Effect.fail(new UsageError({ message: "--config needs a file name: --config FILE" }))
      }
      configFlag = Option.some(file)
      i++
    } else if (arg.startsWith("--config=")) {
      configFlag = Option.some(arg.slice("--config=".length))
    } else {
      return Effect.fail(new UsageError({ message: `unknown argument ${JSON.stringify(arg)}; see --help` }))
    }
  }
  return Effect.succeed({ _tag: "Run", configFlag })
}

const logLevels: Record<AppConfigShape["logLevel"], LogLevel.LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error
}

const ms = (d: Duration.Duration) => Duration.toMillis(d)

export const engineSettings = (config: AppConfigShape): EngineSettings => ({
  ...Layers.engineSettings(config),
  // An idle worker looks for new work this often: hooks and polls enqueue while it sleeps.
  idlePollMs: Math.min(1_000, ms(config.pollInterval))
})

type ReconcileRequirements = PlexClient | StashClient | SyncQueue | Settings | SyncState | DeadLetterQueue

/** Every layer of the running scheduler, from a validated configuration. */
export const appLayer = (
  config: AppConfigShape,
  plexToken: Parameters<typeof PlexClientLive.layerWithSettings>[0]["token"]
) => {
  const holder = `${Os.hostname()}:${process.pid}`
  const graceMs = ms(config.shutdownGrace)
  const store = StoreLive.pipe(Layer.provideMerge(Database.layer({ filename: config.databaseFile })))
  const clients = Layer.mergeAll(
    StashClientLive.layer({ url: config.stashUrl, apiKey: config.stashApiKey }),
    PlexClientLive.layerWithSettings({ url: config.plexUrl, token: plexToken })
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const engine = engineSettings(config)
  const services = Layer.mergeAll(
    EngineWorker.layer(engine, {
      graceMs,
      // A refused token needs a person; look again now and then in case it was Plex that was confused.
      retryStoppedAfterMs: Math.max(60_000, engine.probeMaxMs)
    }),
    ChangeFeed.layer({ overlapMs: ChangeFeed.minimumOverlapMs, perPage: 500 }),
    RunnerState.layer(holder)
  ).pipe(Layer.provideMerge(clients.pipe(Layer.provideMerge(store))))

  const reconcileEvery = config.reconcileInterval._tag === "Never" ? null : ms(config.reconcileInterval.interval)
  const reconcileScope = config.reconcileScope._tag === "All"
    ? ReconcileScope.all
    : ReconcileScope.recent(config.reconcileScope.name, config.reconcileScope.within)
  const scheduledReconcile = Layer.effect(
    Scheduler.ReconcileSlot,
    Effect.map(Effect.context<ReconcileRequirements>(), (context) => ({
      run: reconcile(engine, { scope: reconcileScope }).pipe(
        Effect.tap((result) => Effect.logInfo(summaryLine(result))),
        Effect.provide(context)
      )
    }))
  )
  const duties = Scheduler.layer({
    holder,
    leaseMs: engine.leaseMs,
    shutdownGraceMs: graceMs + 2_000,
    pollIntervalMs: ms(config.pollInterval),
    recoveryCheckMs: engine.probeMinMs,
    dlqRetentionMs: ms(config.dlqRetention),
    // Retention is counted in days; once an hour (or ten times per retention period, if shorter) is plenty.
    purgeIntervalMs: Math.min(3_600_000, Math.max(1_000, Math.floor(ms(config.dlqRetention) / 10))),
    reconcileIntervalMs: reconcileEvery
  })

  const http = Layer.mergeAll(
    HttpServer.serve(
      Http.router({
        webhookSecret: config.webhookSecret,
        refreshSeconds: 5,
        statusDocument
      })
    ),
    listening(config)
  ).pipe(
    Layer.provide(
      NodeHttpServer.layer(() => createServer(), { host: config.httpAddr.host, port: config.httpAddr.port })
    ),
    Layer.mapError((error) =>
      new StartError({
        message: `cannot listen on ${config.httpAddr.host}:${config.httpAddr.port} (${
          describeServeError(error)
        }); set PLEXSYNC_HTTP_ADDR to a free host:port`
      })
    )
  )

  // The listener first: a taken port stops the start before any duty (the worker above all) has begun.
  return http.pipe(
    Layer.flatMap(() => duties),
    Layer.provide(scheduledReconcile),
    Layer.provide(services)
  )
}

const describeServeError = (error: unknown): string => {
  const cause = typeof error === "object" && error !== null && "cause" in error
    ? (error as { cause: unknown }).cause
    : error
  const code = typeof cause === "object" && cause !== null && "code" in cause
    ? String((cause as { code: unknown }).code)
    : null
  return code ?? String(cause)
}

/** Said once the listener is bound, with the address it got. */
const listening = (config: AppConfigShape) =>
  Layer.effectDiscard(
    HttpServer.addressFormattedWith((address) =>
      Effect.logInfo(
        `plexsync-scheduler ${version} serving ${address}/ ` +
          `(Stash ${config.stashUrl}, Plex ${config.plexUrl}, database ${config.databaseFile})`
      )
    )
  )

const program = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const args = yield* parseArgs(argv.slice(2))
    if (args._tag === "Help") return yield* Effect.sync(() => process.stdout.write(usage))
    if (args._tag === "Version") return yield* Effect.sync(() => process.stdout.write(`${version}\n`))
    const config = yield* loadAppConfig({
      env: process.env,
      configFlag: args.configFlag,
      cwd: process.cwd(),
      homedir: Os.homedir()
    }).pipe(
      Effect.provide(NodeFileSystem.layer),
      Effect.mapError((error) => new UsageError({ message: error.message }))
    )
    const token = yield* requirePlexToken(config).pipe(Effect.mapError((e) => new UsageError({ message: e.message })))
    yield* Effect.try({
      try: () => Fs.mkdirSync(config.dataDir, { recursive: true }),
      catch: (e) => new StartError({ message: `cannot create the data directory ${config.dataDir}: ${String(e)}` })
    })
    const logger = Layer.mergeAll(
      Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)),
      Logger.minimumLogLevel(logLevels[config.logLevel])
    )
    return yield* Layer.launch(appLayer(config, token)).pipe(
      Effect.catchTag("StoreError", (error) =>
        Effect.fail(new StartError({ message: `cannot open the database ${config.databaseFile}: ${error.message}` }))),
      Effect.provide(logger)
    )
  })

const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return 0
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) && failure.value instanceof UsageError ? 2 : 1
}

/** Entry point used by `bin.ts`. */
export const main = (argv: ReadonlyArray<string>) => {
  tuneHeap()
  return program(argv).pipe(
    Effect.tapErrorCause((cause) => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        const error = failure.value
        const text = typeof error === "object" && error !== null && "message" in error
          ? String((error as { message: unknown }).message)
          : String(error)
        return Effect.sync(() => process.stderr.write(`plexsync-scheduler: ${text}\n`))
      }
      return Cause.isInterruptedOnly(cause)
        ? Effect.void
        : Effect.sync(() => process.stderr.write(`plexsync-scheduler: unexpected failure\n${Cause.pretty(cause)}\n`))
    }),
    (effect) =>
      NodeRuntime.runMain(effect, {
        disableErrorReporting: true,
        disablePrettyLogger: true,
        teardown: (exit, onExit) => onExit(exitCodeOf(exit))
      })
  )
}
