import { statusDocument as cliStatusDocument } from "@plexsync/runtime/Status"
import type { WorkerPhase } from "./RunnerState.js"
import type { SchedulerReport } from "./StatusReport.js"

/**
 * `GET /status`: the `status --json` document, built by the same code as `plexsync status --json`, plus a
 * `scheduler` key about this process (its worker, the change feed, the last DLQ purge). Times are ISO-8601 UTC.
 */

const iso = (ms: number) => new Date(ms).toISOString()
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms))

const workerJson = (phase: WorkerPhase) => {
  switch (phase._tag) {
    case "Starting":
      return { state: "starting" }
    case "Waiting":
      return { state: "waiting", leaseHolder: phase.holder, leaseUntil: iso(phase.until) }
    case "Running":
      return { state: "running", since: iso(phase.since) }
    case "Stopped":
      return { state: "stopped", reason: phase.reason, retryAt: isoOrNull(phase.retryAt) }
    case "ShuttingDown":
      return { state: "shutting_down" }
  }
}

export const statusDocument = (report: SchedulerReport) => ({
  ...cliStatusDocument(report.status),
  scheduler: {
    startedAt: iso(report.runner.startedAt),
    holder: report.runner.holder,
    worker: workerJson(report.runner.worker),
    changeFeed: {
      watermark: report.watermark,
      lastPoll: report.runner.lastPoll === null ? null : {
        at: iso(report.runner.lastPoll.at),
        read: report.runner.lastPoll.read,
        queued: report.runner.lastPoll.queued,
        error: report.runner.lastPoll.error
      }
    },
    lastPurge: report.runner.lastPurge === null
      ? null
      : { at: iso(report.runner.lastPurge.at), purged: report.runner.lastPurge.purged },
    plexEvents: report.plexEvents === null ? null : {
      connected: report.plexEvents.connected,
      detail: report.plexEvents.detail,
      connectedSince: isoOrNull(report.plexEvents.connectedSince),
      lastEventAt: isoOrNull(report.plexEvents.lastEventAt),
      reconnects: report.plexEvents.reconnects
    },
    notify: notifyJson(report.notify)
  }
})

/** The notify URLs by their place in `PLEXSYNC_NOTIFY_URLS` (never the URLs: they may carry tokens). */
const notifyJson = (notify: SchedulerReport["notify"]) => {
  const failure = notify.outbox.lastFailure
  return {
    urls: notify.sinks.map((sink) => ({ sink: sink.label, kind: sink.kind })),
    pending: notify.outbox.pending,
    abandoned: notify.outbox.abandoned,
    lastFailure: failure === null ? null : {
      at: iso(failure.at),
      sink: notify.sinks.find((s) => s.id === failure.sink)?.label ?? null,
      event: failure.event,
      error: failure.error
    }
  }
}
