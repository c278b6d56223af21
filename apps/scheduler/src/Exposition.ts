import { ErrorTag } from "@plexsync/domain/Errors"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import * as TargetMetrics from "@plexsync/domain/TargetMetrics"
import type { JobOutcome } from "@plexsync/domain/Worker"
import { jobsProcessed, syncLatency } from "@plexsync/domain/Worker"
import type { MetricPair } from "effect"
import { Effect, Metric, Option } from "effect"
import * as Prometheus from "./Prometheus.js"
import * as StatusReport from "./StatusReport.js"

/**
 * What `GET /metrics` answers: the store's figures (queue, DLQ, breakers, outages, the last sync), this process's
 * counters (jobs, requests to each server, notifications), the change feed's lag, and the process's own figures.
 * Names follow Prometheus's conventions: `_total` only on counters, units in the name, every label set of a family
 * present from the start (at 0) so a graph or an alert has a series before the first event. Only plexsync's own
 * metrics of Effect's registry are shown (not Effect's internal fiber metrics).
 */

const outcomes: Readonly<Record<JobOutcome, true>> = {
  synced: true,
  unchanged: true,
  dropped: true,
  retried: true,
  held: true,
  dead_lettered: true,
  stopped: true,
  lease_lost: true
}

/** Registers every label set of plexsync's counters at 0 (and the latency histogram, empty). */
export const initialise = Effect.gen(function*() {
  for (const outcome of Object.keys(outcomes)) yield* Metric.value(Metric.tagged(jobsProcessed, "outcome", outcome))
  yield* Metric.value(syncLatency)
  for (const target of StatusReport.targets) {
    yield* Metric.value(Metric.tagged(TargetMetrics.targetRequests, "target", target))
    for (const tag of TargetMetrics.errorTagsOf(target)) {
      yield* Metric.value(
        Metric.tagged(Metric.tagged(TargetMetrics.targetErrors, "target", target), "error_tag", tag)
      )
    }
  }
})

const seconds = (ms: number) => Math.round(ms) / 1000

const gauge = (name: string, help: string, value: number, labels: Prometheus.Labels = {}): Prometheus.Family => ({
  name,
  help,
  type: "gauge",
  samples: [{ labels, value }]
})

/** The families read from the store and this process's state. */
export const storeFamilies = (
  report: StatusReport.SchedulerReport,
  outages: { readonly count: Readonly<Record<string, number>>; readonly open: ReadonlySet<string> }
): Array<Prometheus.Family> => {
  const { breakers, dlq, now, queue } = report.status
  const families: Array<Prometheus.Family> = [
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
      help: "Dead-letter entries not yet recovered, by error tag (sum them for the total).",
      type: "gauge",
      samples: [...new Set([...ErrorTag.literals, ...Object.keys(dlq.byErrorTag)])].map((tag) => ({
        labels: { error_tag: tag },
        value: dlq.byErrorTag[tag] ?? 0
      }))
    },
    {
      name: "plexsync_breaker_state",
      help: "Circuit breaker state per target: 1 for the current state.",
      type: "gauge",
      samples: StatusReport.targets.flatMap((target) =>
        (["closed", "open", "half_open"] as const).map((state) => ({
          labels: { target, state },
          value: breakers[target].state === state ? 1 : 0
        }))
      )
    },
    {
      name: "plexsync_outages_total",
      help: "Outages recorded per target since the database was created, open ones included.",
      type: "counter",
      samples: StatusReport.targets.map((target) => ({ labels: { target }, value: outages.count[target] ?? 0 }))
    },
    {
      name: "plexsync_outage_open",
      help: "1 while an outage of the target is open.",
      type: "gauge",
      samples: StatusReport.targets.map((target) => ({
        labels: { target },
        value: outages.open.has(target) ? 1 : 0
      }))
    },
    gauge(
      "plexsync_last_sync_timestamp_seconds",
      "When a scene was last synced to Plex (unix seconds); 0: never.",
      report.lastSyncedAt === null ? 0 : seconds(report.lastSyncedAt)
    ),
    gauge(
      "plexsync_change_feed_lag_seconds",
      "Seconds since the change feed last read Stash successfully (since the start, before its first read).",
      seconds(Math.max(0, now - (report.runner.lastPollOkAt ?? report.runner.startedAt)))
    )
  ]
  if (report.notify.sinks.length > 0) {
    families.push(
      gauge(
        "plexsync_notify_pending",
        "Notification deliveries not yet taken by their notify URL, still being tried.",
        report.notify.outbox.pending
      ),
      gauge(
        "plexsync_notify_abandoned",
        "Notification deliveries given up after their last try (see /status for the last error).",
        report.notify.outbox.abandoned
      )
    )
  }
  return families
}

/** plexsync's own metrics of Effect's registry; Effect's internal ones (`effect_fiber_*`) are left out. */
export const ownMetrics = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>) =>
  Prometheus.fromSnapshot(pairs.filter((pair) => pair.metricKey.name.startsWith("plexsync_")))

/** The whole exposition, as text. */
export const render = Effect.gen(function*() {
  const report = yield* StatusReport.read({ outages: 0 })
  const history = yield* OutageHistory
  const count = yield* history.countByTarget
  const open = new Set<string>()
  for (const target of StatusReport.targets) {
    if (Option.isSome(yield* history.current(target))) open.add(target)
  }
  const pairs = yield* Metric.snapshot
  return Prometheus.render([
    Prometheus.buildInfo(),
    ...storeFamilies(report, { count, open }),
    ...ownMetrics(pairs),
    ...Prometheus.processFamilies()
  ])
}).pipe(Effect.withSpan("Exposition.render"))
