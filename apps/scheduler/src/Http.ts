import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Effect, Metric, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { decodeHookBody, hookAction } from "./HookBody.js"
import * as Prometheus from "./Prometheus.js"
import { describeWorker } from "./RunnerState.js"
import * as StatusPage from "./StatusPage.js"
import * as StatusReport from "./StatusReport.js"

/**
 * The scheduler's HTTP face: `/healthz`, `/status` (the `status --json` document), `/metrics` (Prometheus
 * text), `/` (the status page) and `POST /hooks/stash` (the Stash plugin's forwarder).
 */

export interface HttpOptions {
  readonly webhookSecret: Option.Option<Redacted.Redacted<string>>
  readonly refreshSeconds: number
  /** Builds the `/status` document from a report. */
  readonly statusDocument: (report: StatusReport.StatusReport) => unknown
}

/** Compares in constant time (of the digests), so the response time does not leak how much of a guess was right. */
const sameSecret = (given: string, expected: string) =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest())

const bearer = (header: string | undefined): string | null => {
  if (header === undefined) return null
  const m = /^Bearer[ ]+(.+)$/i.exec(header.trim())
  return m === null ? null : m[1]!
}

const json = (status: number, body: unknown) =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store" } })

const storeFigures = (report: StatusReport.StatusReport): Array<Prometheus.Family> => {
  const { queue } = report
  return [
    {
      name: "plexsync_queue_jobs",
      help: "Jobs in the queue by state (due and held are parts of queued).",
      type: "gauge",
      samples: (["queued", "due", "running", "held"] as const).map((state) => ({
        labels: { state },
        value: queue[state]
      }))
    },
    {
      name: "plexsync_dlq_entries",
      help: "Dead-letter entries not yet recovered, by error tag.",
      type: "gauge",
      samples: Object.entries(report.dlq.byErrorTag).map(([tag, value]) => ({ labels: { error_tag: tag }, value }))
    },
    {
      name: "plexsync_dlq_entries_total",
      help: "Dead-letter entries not yet recovered.",
      type: "gauge",
      samples: [{ labels: {}, value: report.dlq.total }]
    },
    {
      name: "plexsync_breaker_state",
      help: "Circuit breaker state per target: 1 for the current state.",
      type: "gauge",
      samples: report.breakers.flatMap((b) =>
        (["closed", "open", "half_open"] as const).map((state) => ({
          labels: { target: b.target, state },
          value: b.state === state ? 1 : 0
        }))
      )
    },
    {
      name: "plexsync_outages",
      help: "Outages recorded per target (the most recent ones the store keeps).",
      type: "gauge",
      samples: StatusReport.targets.map((target) => ({
        labels: { target },
        value: report.outages.filter((o) => o.target === target).length
      }))
    },
    {
      name: "plexsync_outage_open",
      help: "1 while an outage of the target is open.",
      type: "gauge",
      samples: StatusReport.targets.map((target) => ({
        labels: { target },
        value: report.outages.some((o) => o.target === target && o.endedAt === null) ? 1 : 0
      }))
    }
  ]
}

export const router = (options: HttpOptions) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/healthz", Effect.succeed(HttpServerResponse.text("ok"))),
    HttpRouter.get(
      "/status",
      StatusReport.read({ outages: 50 }).pipe(Effect.map((report) => json(200, options.statusDocument(report))))
    ),
    HttpRouter.get(
      "/metrics",
      Effect.gen(function*() {
        const report = yield* StatusReport.read({ outages: 1000 })
        const effectMetrics = Prometheus.fromSnapshot(yield* Metric.snapshot)
        return HttpServerResponse.text(Prometheus.render([...storeFigures(report), ...effectMetrics]), {
          contentType: Prometheus.contentType
        })
      })
    ),
    HttpRouter.get(
      "/",
      StatusReport.read({ outages: 20 }).pipe(Effect.map((report) =>
        HttpServerResponse.html(StatusPage.render({
          now: report.now,
          startedAt: report.runner.startedAt,
          refreshSeconds: options.refreshSeconds,
          queue: report.queue,
          dlq: report.dlq,
          breakers: report.breakers,
          outages: report.outages,
          lastRecovery: report.lastRecovery,
          worker: describeWorker(report.runner.worker, report.now),
          changeFeed: {
            watermark: report.watermark,
            lastPollAt: report.runner.lastPoll?.at ?? null,
            lastQueued: report.runner.lastPoll?.queued ?? 0
          }
        })).pipe(HttpServerResponse.setHeader("cache-control", "no-store"))
      ))
    ),
    HttpRouter.post(
      "/hooks/stash",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (Option.isSome(options.webhookSecret)) {
          const given = bearer(request.headers["authorization"])
          if (given === null || !sameSecret(given, Redacted.value(options.webhookSecret.value))) {
            return json(401, { error: "a valid Authorization: Bearer <PLEXSYNC_WEBHOOK_SECRET> header is required" })
          }
        }
        const text = yield* request.text.pipe(Effect.orElseSucceed(() => null))
        if (text === null) return json(400, { error: "the request body could not be read" })
        const decoded = decodeHookBody(text)
        if (decoded._tag === "Left") return json(400, { error: decoded.left })
        const action = hookAction(decoded.right)
        if (action._tag === "Ignore") return json(202, { output: action.why })
        if (action._tag === "Refuse") return json(422, { error: action.why })
        const queue = yield* SyncQueue
        const result = yield* queue.enqueue({ sceneId: action.sceneId, reason: "hook" })
        yield* Effect.logInfo(`hook ${action.hookType}: scene ${action.sceneId} queued`).pipe(
          Effect.annotateLogs({ sceneId: action.sceneId, jobId: result.jobId })
        )
        return json(202, {
          output: result.coalesced
            ? `scene ${action.sceneId} was already queued (job ${result.jobId})`
            : `scene ${action.sceneId} queued (job ${result.jobId})`
        })
      })
    )
  )
