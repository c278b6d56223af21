import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { ErrorTag } from "@plexsync/domain/Errors"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { SyncState } from "@plexsync/domain/SyncState"
import * as Commands from "@plexsync/runtime/Commands"
import type { MetricPair } from "effect"
import { Clock, Effect, Metric, MetricState, Option, Schema } from "effect"
import type { GuardOptions } from "./Guard.js"
import { cookieValue, csrfToken, sessionCookie } from "./Guard.js"
import { queueListing, runsListing } from "./Listings.js"
import { describeWorker } from "./RunnerState.js"
import * as StatusPage from "./StatusPage.js"
import * as StatusReport from "./StatusReport.js"
import { contentSecurityPolicy, css, icon, script } from "./UiAssets.js"
import type { Frame } from "./UiLayout.js"
import * as UiPages from "./UiPages.js"

/**
 * The web UI's routes: the overview at `/`, `/queue`, `/dlq`, `/outages`, `/runs`, `/scenes`, and the assets
 * `/ui.css`, `/ui.js` and `/favicon.svg`. Pages are read from the store as the API reads it; `Guard` has let the request in (a
 * browser without a session was sent to the login form).
 */

export interface UiOptions {
  readonly guard: GuardOptions
  readonly refreshSeconds: number
}

/** The worker's `plexsync_jobs_processed_total` counter, by its `outcome` tag. */
const processedByOutcome = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const pair of pairs) {
    if (pair.metricKey.name !== "plexsync_jobs_processed_total" || !MetricState.isCounterState(pair.metricState)) {
      continue
    }
    const outcome = pair.metricKey.tags.find((t) => t.key === "outcome")?.value
    const count = Number(pair.metricState.count)
    if (outcome !== undefined && count > 0) out[outcome] = count
  }
  return out
}

const throughputBuckets = 12
const throughputBucketMs = 5 * 60_000

/** The last hour in five-minute buckets: scenes synced (by their last sync) and entries dead-lettered. */
const throughput = (now: number) =>
  Effect.gen(function*() {
    const from = now - throughputBuckets * throughputBucketMs
    const dlq = yield* DeadLetterQueue
    const [synced, deadLettered] = yield* Effect.all([
      Effect.flatMap(
        SyncState,
        (s) => s.syncedPerBucket({ from, bucketMs: throughputBucketMs, buckets: throughputBuckets })
      ),
      Effect.forEach(
        Array.from({ length: throughputBuckets }, (_, i) => from + i * throughputBucketMs),
        (start) => dlq.count({ from: start, to: start + throughputBucketMs - 1 })
      )
    ])
    return { from, bucketMs: throughputBucketMs, synced, deadLettered } satisfies StatusPage.Throughput
  })

/** The query string as a record of its first values, for a Schema to decode. */
const query = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
  const out: Record<string, string> = {}
  for (const [key, value] of new URL(request.url, "http://plexsync.invalid").searchParams) {
    if (!(key in out) && value !== "") out[key] = value
  }
  return out
})

/** A filter that does not decode is left out: a page shows everything rather than an error. */
const optionalParam = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.optional(Schema.Unknown.pipe(
    Schema.transform(Schema.NullOr(Schema.typeSchema(schema)), {
      strict: true,
      decode: (value) => Option.getOrNull(Schema.decodeUnknownOption(schema)(value)),
      encode: (value) => value
    })
  ))

const QueueQuery = Schema.Struct({ state: optionalParam(Schema.Literal("queued", "running")) })
const DlqQuery = Schema.Struct({
  error: optionalParam(ErrorTag),
  window: optionalParam(Schema.Literal(...UiPages.dlqWindows.map((w) => w.value))),
  scene: optionalParam(Schema.String.pipe(Schema.pattern(/^\d{1,18}$/)))
})
const SceneQuery = Schema.Struct({ id: optionalParam(Schema.String.pipe(Schema.maxLength(40))) })

const decodeQuery = <A, I>(schema: Schema.Schema<A, I>) => Effect.map(query, (q) => Schema.decodeUnknownSync(schema)(q))

/** The frame of a page: now, and the session's CSRF token for the script (with a token set). */
const frame = (options: UiOptions) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const now = yield* Clock.currentTimeMillis
    const token = options.guard.apiToken
    const session = cookieValue(request.headers["cookie"], sessionCookie)
    return {
      now,
      csrf: Option.isSome(token) && session !== null ? csrfToken(token.value, session) : null,
      loggedIn: Option.isSome(token) && session !== null
    } satisfies Frame
  })

const html = (text: string) =>
  HttpServerResponse.html(text).pipe(
    HttpServerResponse.setHeaders({
      "cache-control": "no-store",
      "content-security-policy": contentSecurityPolicy,
      "x-content-type-options": "nosniff",
      "referrer-policy": "same-origin"
    })
  )

const asset = (body: string, contentType: string) =>
  Effect.succeed(
    HttpServerResponse.text(body, { contentType }).pipe(
      HttpServerResponse.setHeaders({ "cache-control": "no-cache", "x-content-type-options": "nosniff" })
    )
  )

const overview = (options: UiOptions) =>
  Effect.gen(function*() {
    const f = yield* frame(options)
    const [{ notify, outages, runner, status, watermark }, metrics, hour] = yield* Effect.all([
      StatusReport.read({ outages: 20 }),
      Metric.snapshot,
      throughput(f.now)
    ])
    return StatusPage.render({
      processed: processedByOutcome(metrics),
      now: status.now,
      startedAt: runner.startedAt,
      refreshSeconds: options.refreshSeconds,
      queue: status.queue,
      dlq: status.dlq,
      breakers: StatusReport.targets.map((target) => status.breakers[target]),
      outages,
      lastRecovery: Option.getOrNull(status.lastRecovery),
      worker: Option.match(status.workerStopped, {
        onNone: () => describeWorker(runner.worker, status.now),
        onSome: (stopped) => `stopped until a person acts: ${stopped.message}`
      }),
      changeFeed: {
        watermark,
        lastPollAt: runner.lastPoll?.at ?? null,
        lastQueued: runner.lastPoll?.queued ?? 0
      },
      notify: {
        urls: notify.sinks.length,
        pending: notify.outbox.pending,
        abandoned: notify.outbox.abandoned,
        lastFailure: notify.outbox.lastFailure === null ? null : {
          ...notify.outbox.lastFailure,
          sink: notify.sinks.find((s) => s.id === notify.outbox.lastFailure?.sink)?.label ?? "(removed)"
        }
      },
      throughput: hour
    }, f)
  })

const pageLimit = 200

const queuePage = (options: UiOptions) =>
  Effect.gen(function*() {
    const { state } = yield* decodeQuery(QueueQuery)
    const listing = yield* queueListing({ state: state ?? undefined, limit: pageLimit })
    return UiPages.queuePage({ listing, state: state ?? undefined, limit: pageLimit }, yield* frame(options))
  })

const dlqPage = (options: UiOptions) =>
  Effect.gen(function*() {
    const f = yield* frame(options)
    const q = yield* decodeQuery(DlqQuery)
    const filter: UiPages.DlqFilter = { error: q.error ?? null, window: q.window ?? null, scene: q.scene ?? null }
    const windowMs = UiPages.dlqWindows.find((w) => w.value === filter.window)?.ms
    const [report, byErrorTag] = yield* Effect.all([
      Commands.dlqList({
        errorTags: filter.error === null ? [] : [filter.error],
        since: windowMs === undefined ? Option.none() : Option.some(f.now - windowMs),
        until: Option.none(),
        sceneId: Option.fromNullable(filter.scene),
        limit: pageLimit,
        includeRecovered: false
      }),
      Effect.flatMap(DeadLetterQueue, (dlq) => dlq.countByTag)
    ])
    return UiPages.dlqPage({ list: report.json, byErrorTag, filter }, f)
  })

const outagesPage = (options: UiOptions) =>
  Effect.gen(function*() {
    const [report, recent] = yield* Effect.all([
      Commands.outages(50, Commands.defaultOutagesWindowMs),
      Effect.flatMap(OutageHistory, (history) => history.list({ limit: 50 }))
    ])
    return UiPages.outagesPage({ report: report.json, timeline: recent }, yield* frame(options))
  })

const runsPage = (options: UiOptions) =>
  Effect.gen(function*() {
    const runs = yield* runsListing(50)
    return UiPages.runsPage({ runs }, yield* frame(options))
  })

const scenePage = (options: UiOptions) =>
  Effect.gen(function*() {
    const { id } = yield* decodeQuery(SceneQuery)
    return UiPages.scenePage({ sceneId: id ?? null }, yield* frame(options))
  })

/**
 * The UI's routes; `wrap` turns a page that fails into the answer every route gives (500, and a log line).
 * With no token, `options.guard.apiToken` is none and there is no session, CSRF token or logout.
 */
export const routes = (
  options: UiOptions,
  wrap: <E, R>(
    route: string,
    handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => {
  const page = <E, R>(path: HttpRouter.PathInput, render: Effect.Effect<string, E, R>) =>
    HttpRouter.get(path, wrap(`GET ${path}`, Effect.map(render, html)))
  return HttpRouter.empty.pipe(
    page("/", overview(options)),
    page("/queue", queuePage(options)),
    page("/dlq", dlqPage(options)),
    page("/outages", outagesPage(options)),
    page("/runs", runsPage(options)),
    page("/scenes", scenePage(options)),
    HttpRouter.get("/ui.css", asset(css, "text/css; charset=utf-8")),
    HttpRouter.get("/ui.js", asset(script, "text/javascript; charset=utf-8")),
    HttpRouter.get("/favicon.svg", asset(icon, "image/svg+xml"))
  )
}
