import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpServer from "@effect/platform/HttpServer"
import * as CircuitBreaker from "@plexsync/domain/CircuitBreaker"
import type { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { holderText } from "@plexsync/domain/LeaseHolder"
import type { PlexClient } from "@plexsync/domain/PlexClient"
import { reconcile } from "@plexsync/domain/Reconcile"
import type { ReconcileLog } from "@plexsync/domain/ReconcileLog"
import type { Settings } from "@plexsync/domain/Settings"
import type { StashClient } from "@plexsync/domain/StashClient"
import type { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { SyncState } from "@plexsync/domain/SyncState"
import type { AppConfigShape } from "@plexsync/runtime/AppConfig"
import { plexEventsLayer, serversLayer } from "@plexsync/runtime/Layers"
import { shownUrl } from "@plexsync/runtime/Present"
import { summaryLine } from "@plexsync/runtime/ReconcileReport"
import { thisProcess } from "@plexsync/runtime/ThisProcess"
import type { SchedulerTuning } from "@plexsync/runtime/Tuning"
import { Effect, Layer } from "effect"
import type { Server } from "node:http"
import { createServer } from "node:http"
import * as Os from "node:os"
import { StartError, version } from "./Args.js"
import * as ChangeFeed from "./ChangeFeed.js"
import * as EngineWorker from "./EngineWorker.js"
import * as Fatal from "./Fatal.js"
import * as Http from "./Http.js"
import { isLoopback } from "./Listen.js"
import * as Notifier from "./Notifier.js"
import * as NotifySinks from "./NotifySinks.js"
import * as RunnerState from "./RunnerState.js"
import * as Scheduler from "./Scheduler.js"
import { statusDocument } from "./StatusDocument.js"
import * as Wakeups from "./Wakeups.js"

/**
 * The scheduler's parts as named layers, each built from the validated configuration and its tuning
 * (`@plexsync/runtime/Tuning`): the servers and the store, the engine's services, the scheduled reconciliation,
 * the duties and the HTTP face. `app` puts them together.
 */

/** This process in the worker lease. */
const here = thisProcess("plexsync-scheduler")

/**
 * The worker slot, the change feed and the runner's state, over the store and both servers' clients, sharing the
 * process's breakers: a target failing the change feed or a reconciliation counts as it does failing a job.
 */
export const services = (config: AppConfigShape, tuning: SchedulerTuning) =>
  Layer.mergeAll(
    EngineWorker.layer(tuning.engine, { graceMs: tuning.graceMs, retryStoppedAfterMs: tuning.retryStoppedAfterMs }),
    ChangeFeed.layer({ overlapMs: ChangeFeed.minimumOverlapMs, perPage: 500 }),
    RunnerState.layer(holderText(here.holder), tuning.reconcile)
  ).pipe(
    Layer.provideMerge(CircuitBreaker.layer({
      threshold: tuning.engine.breakerThreshold,
      probeMinMs: tuning.engine.probeMinMs,
      probeMaxMs: tuning.engine.probeMaxMs
    })),
    // Every enqueue of this process (the hook endpoint's too) wakes the worker; so do other processes' commits.
    Layer.provideMerge(
      Layer.mergeAll(Wakeups.signallingQueue, Wakeups.signallingDeadLetters, Wakeups.signallingOutages)
    ),
    Layer.provideMerge(Wakeups.layer(config.databaseFile)),
    // Jobs waiting for a scan become due when Plex says a scan of their library ended.
    Layer.provideMerge(plexEventsLayer(config)),
    Layer.provideMerge(serversLayer(config))
  )

type ReconcileRequirements =
  | PlexClient
  | StashClient
  | SyncQueue
  | Settings
  | ReconcileLog
  | SyncState
  | DeadLetterQueue
  | CircuitBreaker.TargetBreakers

/** What the scheduled reconciliation runs, with the services it needs captured. */
export const scheduledReconcile = (tuning: SchedulerTuning) =>
  Layer.effect(
    Scheduler.ReconcileSlot,
    Effect.map(Effect.context<ReconcileRequirements>(), (context) => ({
      run: reconcile(tuning.engine, { scope: tuning.reconcileScope }).pipe(
        Effect.tap((result) => Effect.logInfo(summaryLine(result))),
        CircuitBreaker.recordingHealth(["stash", "plex"]),
        Effect.provide(context)
      )
    }))
  )

/** The worker, the change feed, probes, automatic recovery, retention, reconciliation and notifications. */
export const duties = (tuning: SchedulerTuning, notify?: Scheduler.SchedulerOptions["notify"]) =>
  Scheduler.layer({
    here,
    leaseMs: tuning.engine.leaseMs,
    shutdownGraceMs: tuning.graceMs + 2_000,
    pollIntervalMs: tuning.pollIntervalMs,
    recoveryCheckMs: tuning.recoveryCheckMs,
    dlqRetentionMs: tuning.dlqRetentionMs,
    recoveryHistoryMs: tuning.recoveryHistoryMs,
    purgeIntervalMs: tuning.purgeIntervalMs,
    reconcile: tuning.reconcile,
    ...(notify === undefined ? {} : { notify })
  }).pipe(Layer.provide(NodeHttpClient.layerUndici))

/** A slow client may take this long to send its headers, and this long for its whole request (bodies are small). */
const headersTimeoutMs = 10_000
const requestTimeoutMs = 30_000

/**
 * On shutdown, idle connections close at once and the rest (a request half sent, an answer not yet read) after
 * `graceMs`: the listener's close waits for every connection, so one stalled client would otherwise hold the
 * process up until Node's own timeouts. Runs before the listener's close (layers are released in reverse order).
 */
const closeConnectionsWithin = (server: Server, graceMs: number) =>
  Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.sync(() => {
      server.closeIdleConnections()
      setTimeout(() => server.closeAllConnections(), graceMs).unref()
    })
  ))

export const httpOptions = (config: AppConfigShape, tuning: SchedulerTuning): Http.HttpOptions => ({
  guard: {
    apiToken: config.apiToken,
    webhookSecret: config.webhookSecret,
    allowedHosts: config.allowedHosts,
    machineName: Os.hostname(),
    loopbackOnly: isLoopback(config.httpAddr.host)
  },
  refreshSeconds: 5,
  statusDocument,
  api: { reconcile: tuning.engine }
})

/** The HTTP face on `PLEXSYNC_HTTP_ADDR`; a taken port is a `StartError` that says which setting to change. */
export const http = (config: AppConfigShape, tuning: SchedulerTuning) =>
  Layer.unwrapEffect(
    Effect.sync(() => createServer({ headersTimeout: headersTimeoutMs, requestTimeout: requestTimeoutMs })).pipe(
      Effect.map((server) =>
        Layer.mergeAll(
          Layer.unwrapEffect(Effect.map(Http.app(httpOptions(config, tuning)), (app) => HttpServer.serve(app))),
          closeConnectionsWithin(server, tuning.graceMs),
          Layer.effectDiscard(
            HttpServer.addressFormattedWith((address) =>
              Effect.logInfo(
                `plexsync-scheduler ${version} serving ${address}/ ` +
                  `(Stash ${shownUrl(config.stashUrl)}, Plex ${
                    shownUrl(config.plexUrl)
                  }, database ${config.databaseFile})`
              )
            )
          )
        ).pipe(
          Layer.provide(NodeHttpServer.layer(() => server, { host: config.httpAddr.host, port: config.httpAddr.port })),
          Layer.mapError((error) =>
            new StartError({
              message: `cannot listen on ${config.httpAddr.host}:${config.httpAddr.port} (${
                describeServeError(error)
              }); set PLEXSYNC_HTTP_ADDR to a free host:port`
            })
          )
        )
      )
    )
  )

const describeServeError = (error: unknown): string => {
  const cause = typeof error === "object" && error !== null && "cause" in error
    ? (error as { cause: unknown }).cause
    : error
  const code = typeof cause === "object" && cause !== null && "code" in cause
    ? String((cause as { code: unknown }).code)
    : null
  return code ?? String(cause)
}

/** The notify URLs as sinks, and the DLQ threshold. */
const notifyOptions = (config: AppConfigShape) => ({
  sinks: NotifySinks.sinksOf(config.notifyUrls),
  dlqThreshold: config.notifyDlqThreshold
})

/**
 * Every layer of the running scheduler. The listener comes first: a taken port stops the start before any duty.
 * `Fatal` is kept in the result: `Main` runs until a duty says the scheduler cannot go on.
 */
export const app = (config: AppConfigShape, tuning: SchedulerTuning) =>
  http(config, tuning).pipe(
    Layer.flatMap(() => duties(tuning, notifyOptions(config))),
    Layer.provide(scheduledReconcile(tuning)),
    Layer.provide(Notifier.sinksLayer(notifyOptions(config).sinks)),
    Layer.provide(services(config, tuning)),
    Layer.provideMerge(Fatal.layer)
  )
