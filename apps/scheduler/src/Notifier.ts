import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { Delivery } from "@plexsync/domain/Notification"
import { describeEvent, NotificationOutbox } from "@plexsync/domain/Notification"
import { watch } from "@plexsync/domain/NotificationWatch"
import { Chunk, Clock, Context, Duration, Effect, Layer, Metric, Option, Redacted, Schedule } from "effect"
import type { Sink } from "./NotifySinks.js"
import { render } from "./NotifySinks.js"

/**
 * Sends the outbox's notifications: each tick records the events the stored state shows (`NotificationWatch`) and
 * sends the deliveries that are due, a few at a time, each under a timeout. It runs in its own fiber, so a slow or
 * dead notify URL delays only the next notification, never a sync. A failed delivery is tried again on the retry
 * schedule (kept in the database, so a restart goes on where it was) until it is given up; failures are counted in
 * `plexsync_notify_failures_total` and shown in `/status`.
 */

/** The configured sinks (none: notifications are off). */
export class NotifySinks extends Context.Tag("@plexsync/scheduler/NotifySinks")<NotifySinks, ReadonlyArray<Sink>>() {}

export const sinksLayer = (sinks: ReadonlyArray<Sink>) => Layer.succeed(NotifySinks, sinks)

export interface NotifierOptions {
  readonly dlqThreshold: number
  /** How long one request may take. Default 10 s. */
  readonly timeoutMs?: number
  /** How many deliveries one tick sends at most. Default 20. */
  readonly batch?: number
}

export const notifySent = Metric.counter("plexsync_notify_sent_total", {
  description: "Notifications delivered, per notify URL (sink: its place in PLEXSYNC_NOTIFY_URLS) and kind",
  incremental: true
})

export const notifyFailures = Metric.counter("plexsync_notify_failures_total", {
  description: "Failed notification attempts, per notify URL (sink: its place in PLEXSYNC_NOTIFY_URLS) and kind",
  incremental: true
})

const bySink = (counter: typeof notifySent, sink: Sink) =>
  Metric.tagged(Metric.tagged(counter, "sink", sink.label), "kind", sink.kind)

/** How often a delivery is tried before it is given up. */
export const maxTries = 12

/** The waits between tries: 5 s, doubling, at most 30 min (twelve tries take about three hours). */
export const retrySchedule = Schedule.exponential("5 seconds").pipe(Schedule.union(Schedule.spaced("30 minutes")))

/** When a delivery that failed `attempts` times is tried again; null once it has had all its tries. */
export const retryDelayMs = (attempts: number): Effect.Effect<number | null> =>
  attempts >= maxTries ? Effect.succeed(null) : Effect.map(
    Schedule.run(Schedule.delays(retrySchedule), 0, Array.from({ length: attempts }, () => undefined)),
    (delays) => Duration.toMillis(Chunk.unsafeLast(delays))
  )

/** What one attempt came to: delivered, or failed (`permanent`: trying again cannot help). */
type Attempt =
  | { readonly _tag: "Delivered" }
  | {
    readonly _tag: "Failed"
    readonly error: string
    readonly permanent: boolean
    readonly retryAfterMs: number | null
  }

/** The status codes that say the URL itself is wrong (a deleted webhook, a refused token): not tried again. */
const permanentStatus = (status: number) => status >= 400 && status < 500 && ![408, 425, 429].includes(status)

const retryAfterOf = (header: string | undefined): number | null => {
  if (header === undefined) return null
  const seconds = Number(header)
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, 3_600_000) : null
}

/** One request to one sink. Its errors never carry the URL: it may hold a token. */
const attempt = (sink: Sink, delivery: Delivery, timeoutMs: number) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const shaped = render(sink.kind, delivery.event)
    const request = HttpClientRequest.post(Redacted.value(sink.url)).pipe(
      HttpClientRequest.setHeaders({ ...shaped.headers, "User-Agent": "plexsync" }),
      HttpClientRequest.bodyText(shaped.body, shaped.contentType)
    )
    return yield* http.execute(request).pipe(
      Effect.flatMap((response) =>
        // The body is read (and dropped) so the connection is freed.
        Effect.as(Effect.ignore(response.text), response)
      ),
      Effect.scoped,
      Effect.map((response): Attempt =>
        response.status >= 200 && response.status < 300
          ? { _tag: "Delivered" }
          : {
            _tag: "Failed",
            error: `HTTP ${response.status}`,
            permanent: permanentStatus(response.status),
            retryAfterMs: response.status === 429 || response.status === 503
              ? retryAfterOf(response.headers["retry-after"])
              : null
          }
      ),
      Effect.timeoutFail({
        duration: Duration.millis(timeoutMs),
        onTimeout: () => ({ _tag: "Timeout" as const })
      }),
      Effect.catchAll((error): Effect.Effect<Attempt> =>
        Effect.succeed({
          _tag: "Failed",
          error: error._tag === "Timeout"
            ? `no answer within ${Math.round(timeoutMs / 1000)}s`
            : `cannot be reached (${transportCode(error.cause) ?? error.reason})`,
          permanent: false,
          retryAfterMs: null
        })
      )
    )
  })

const transportCode = (cause: unknown): string | undefined => {
  for (let c = cause, depth = 0; typeof c === "object" && c !== null && depth < 5; depth++) {
    const code = (c as { readonly code?: unknown }).code
    if (typeof code === "string") return code
    c = (c as { readonly cause?: unknown }).cause
  }
  return undefined
}

const deliver = (sink: Sink, delivery: Delivery, timeoutMs: number) =>
  Effect.gen(function*() {
    const outbox = yield* NotificationOutbox
    const result = yield* attempt(sink, delivery, timeoutMs)
    const at = yield* Clock.currentTimeMillis
    const log = Effect.annotateLogs({ sink: sink.label, kind: sink.kind, event: delivery.key })
    if (result._tag === "Delivered") {
      yield* outbox.delivered(delivery.id, at)
      yield* Metric.increment(bySink(notifySent, sink))
      return yield* Effect.logDebug(`notification sent: ${describeEvent(delivery.event).title}`).pipe(log)
    }
    yield* Metric.increment(bySink(notifyFailures, sink))
    const delay = result.permanent ? null : yield* retryDelayMs(delivery.attempts + 1)
    const retryAt = delay === null ? null : at + Math.max(delay, result.retryAfterMs ?? 0)
    yield* outbox.failed(delivery.id, { at, error: result.error, retryAt })
    yield* (retryAt === null
      ? Effect.logWarning(
        `notify URL ${sink.label} (${sink.kind}) refused ${delivery.key} (${result.error}); given up` +
          (result.permanent ? ": check the URL in PLEXSYNC_NOTIFY_URLS" : " after its last try")
      )
      : Effect.logInfo(
        `notify URL ${sink.label} (${sink.kind}) failed ${delivery.key} (${result.error}); trying again in ${
          Duration.format(Duration.millis(retryAt - at))
        }`
      )).pipe(log)
  })

/** Every label set of the notification counters, at 0, so a graph has a line before the first notification. */
export const initialiseMetrics = (sinks: ReadonlyArray<Sink>) =>
  Effect.forEach(
    sinks,
    (sink) =>
      Effect.zipRight(
        Metric.incrementBy(bySink(notifySent, sink), 0),
        Metric.incrementBy(bySink(notifyFailures, sink), 0)
      ),
    { discard: true }
  )

/** Delivered and given-up events are forgotten after this long. */
const keepMs = 30 * 86_400_000

/** One tick: record what happened, send what is due, now and then forget old events. */
export const tick = (sinks: ReadonlyArray<Sink>, options: NotifierOptions) => {
  const ids = sinks.map((s) => s.id)
  const byId = new Map(sinks.map((s) => [s.id, s]))
  let lastPurge = 0
  return Effect.gen(function*() {
    const outbox = yield* NotificationOutbox
    yield* watch({ sinks: ids, dlqThreshold: options.dlqThreshold })
    const now = yield* Clock.currentTimeMillis
    const due = yield* outbox.due(ids, now, options.batch ?? 20)
    yield* Effect.forEach(
      due,
      (delivery) =>
        Option.match(Option.fromNullable(byId.get(delivery.sink)), {
          onNone: () => Effect.void,
          onSome: (sink) => deliver(sink, delivery, options.timeoutMs ?? 10_000)
        }),
      { concurrency: 4, discard: true }
    )
    if (now - lastPurge > 3_600_000) {
      lastPurge = now
      yield* outbox.purgeOlderThan(now - keepMs)
    }
  })
}
