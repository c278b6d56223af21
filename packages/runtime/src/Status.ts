import type { BreakerState } from "@plexsync/domain/BreakerStore"
import { BreakerStore } from "@plexsync/domain/BreakerStore"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { Target } from "@plexsync/domain/Ids"
import type { Outage } from "@plexsync/domain/OutageHistory"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import type { RecoveryRun, RecoveryStop } from "@plexsync/domain/RecoveryLog"
import { RecoveryLog, recoveryOutcome } from "@plexsync/domain/RecoveryLog"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import type { QueueCounts } from "@plexsync/domain/SyncJob"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { WorkerStopRecord } from "@plexsync/domain/WorkerStop"
import { readStop } from "@plexsync/domain/WorkerStop"
import { Clock, Effect, Option } from "effect"
import type { ReconcileSchedule, StashUrlSource } from "./AppConfig.js"
import { breakerDocument, outageDocument, recoveryRunDocument } from "./Documents.js"
import { formatDuration, formatTime, formatTimeAgo, isoOrNull, keyValues, plural, shownUrl } from "./Present.js"
import { describeReconcileSchedule, nextReconcileAt } from "./Tuning.js"
import { version } from "./Version.js"

/**
 * What `plexsync status` shows and the scheduler's `GET /status` answers: queue counts by state, the DLQ by
 * error tag, each breaker, the current and last outage, the last recovery run and the last reconciliation.
 */
export interface StatusReport {
  readonly now: number
  /** Counts as the user should read them: while a breaker is open, due jobs are held (nothing can run). */
  readonly queue: QueueCounts
  readonly nextDueAt: Option.Option<number>
  readonly dlq: {
    /** Entries not yet recovered: what a person may need to look at. */
    readonly total: number
    readonly byErrorTag: Readonly<Record<string, number>>
    /** Entries recovered and kept for audit. */
    readonly recovered: number
  }
  readonly breakers: Readonly<Record<Target, BreakerState>>
  readonly currentOutage: Option.Option<Outage>
  readonly lastOutage: Option.Option<Outage>
  /** The last recovery that went through its selection. */
  readonly lastRecovery: Option.Option<RecoveryRun>
  /** The newest recovery run when it did not complete (stopped by Plex or Stash, or never finished). */
  readonly lastRecoveryAttempt: Option.Option<RecoveryRun>
  /** The reconciliation's own record (`reconcile.last`), as it stored it. */
  readonly lastReconcile: Option.Option<unknown>
  /** The scheduled reconciliation, when the caller knows the configuration: how often, and when next. */
  readonly reconcileSchedule: Option.Option<{ readonly schedule: string; readonly nextAt: number | null }>
  /** Set while the worker is stopped for a person to act (a refused token or key): nothing syncs until then. */
  readonly workerStopped: Option.Option<WorkerStopRecord>
  /** Where Stash is reached, when the caller knows the configuration. */
  readonly stash: Option.Option<{ readonly url: string; readonly source: StashUrlSource }>
}

export interface StatusOptions {
  /** The configured reconciliation schedule, to say when the next one runs. */
  readonly reconcile?: ReconcileSchedule
  /** When the scheduler started (an interval with no reconciliation yet counts from there). */
  readonly startedAt?: number
  /** The configured Stash address and where it came from. */
  readonly stash?: { readonly url: string; readonly source: StashUrlSource }
}

const targets: ReadonlyArray<Target> = Target.literals

/**
 * While either breaker is open no job can run (a sync needs both servers), so every waiting job is held;
 * the store only counts a job as held once the worker has put it on hold.
 */
export const effectiveQueueCounts = (counts: QueueCounts, anyBreakerOpen: boolean): QueueCounts =>
  anyBreakerOpen ? { ...counts, held: counts.held + counts.due, due: 0 } : counts

export const parseStored = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    // Shown as it was stored rather than hidden: it is only informational.
    return text
  }
}

/** When the stored reconciliation record says it finished, if it does. */
const finishedAtOf = (value: unknown): number | null => {
  if (value === null || typeof value !== "object") return null
  const at = (value as Record<string, unknown>).finishedAt
  const ms = typeof at === "string" ? Date.parse(at) : NaN
  return Number.isNaN(ms) ? null : ms
}

/** When the last reconciliation finished, from its stored record (null: none has, or the record says nothing). */
export const lastReconcileFinishedAt = Effect.map(
  Effect.flatMap(Settings, (settings) => settings.get(SettingKeys.lastReconcile)),
  (stored) => Option.getOrNull(Option.flatMap(stored, (text) => Option.fromNullable(finishedAtOf(parseStored(text)))))
)

export const buildStatus = Effect.fn("Status.build")(function*(options: StatusOptions = {}) {
  const queue = yield* SyncQueue
  const dlq = yield* DeadLetterQueue
  const breakerStore = yield* BreakerStore
  const outages = yield* OutageHistory
  const recoveries = yield* RecoveryLog
  const settings = yield* Settings
  const now = yield* Clock.currentTimeMillis

  const [counts, nextDueAt, byErrorTag, recovered, plex, stash, currentPlex, currentStash, lastOutage, lastRecovery] =
    yield* Effect.all([
      queue.counts,
      queue.nextDueAt,
      dlq.countByTag,
      dlq.count({ recovered: true }),
      breakerStore.get("plex"),
      breakerStore.get("stash"),
      outages.current("plex"),
      outages.current("stash"),
      outages.lastCompleted(),
      recoveries.lastCompleted
    ])
  const lastRecoveryAttempt = Option.filter(
    yield* recoveries.latest,
    (run) => recoveryOutcome(run) !== "completed"
  )
  const lastReconcile = Option.map(yield* settings.get(SettingKeys.lastReconcile), parseStored)
  const workerStopped = yield* readStop(settings)

  const breakers = { plex, stash }
  const anyOpen = targets.some((t) => breakers[t].state === "open")
  const open = [currentPlex, currentStash].flatMap((o) => Option.toArray(o)).sort((a, b) => a.startedAt - b.startedAt)
  return {
    now,
    queue: effectiveQueueCounts(counts, anyOpen),
    nextDueAt,
    dlq: {
      total: Object.values(byErrorTag).reduce((sum, n) => sum + n, 0),
      byErrorTag,
      recovered
    },
    breakers,
    currentOutage: Option.fromNullable(open[0]),
    lastOutage,
    lastRecovery,
    lastRecoveryAttempt,
    lastReconcile,
    reconcileSchedule: options.reconcile === undefined ? Option.none() : Option.some({
      schedule: describeReconcileSchedule(options.reconcile),
      nextAt: nextReconcileAt(
        options.reconcile,
        now,
        Option.getOrNull(Option.flatMap(lastReconcile, (v) => Option.fromNullable(finishedAtOf(v)))),
        options.startedAt ?? now
      )
    }),
    workerStopped,
    stash: Option.fromNullable(options.stash)
  } satisfies StatusReport
})

/** The `status --json` document (README). */
export const statusDocument = (report: StatusReport) => ({
  /** plexsync's version (the root package.json). */
  version,
  generatedAt: isoOrNull(report.now),
  queue: {
    ...report.queue,
    nextDueAt: isoOrNull(Option.getOrNull(report.nextDueAt))
  },
  dlq: report.dlq,
  breakers: {
    plex: breakerDocument(report.breakers.plex),
    stash: breakerDocument(report.breakers.stash)
  },
  currentOutage: Option.match(report.currentOutage, {
    onNone: () => null,
    onSome: (o) => outageDocument(o, report.now)
  }),
  lastOutage: Option.match(report.lastOutage, { onNone: () => null, onSome: (o) => outageDocument(o, report.now) }),
  lastRecovery: Option.match(report.lastRecovery, { onNone: () => null, onSome: recoveryRunDocument }),
  /** The newest run when it did not complete (its `outcome` says how it ended); null when the newest completed. */
  lastRecoveryAttempt: Option.match(report.lastRecoveryAttempt, { onNone: () => null, onSome: recoveryRunDocument }),
  lastReconcile: Option.getOrNull(report.lastReconcile),
  /** The configured schedule in words and the next run (null when none is scheduled). */
  reconcileSchedule: Option.getOrNull(Option.map(report.reconcileSchedule, (r) => r.schedule)),
  nextReconcileAt: isoOrNull(
    Option.getOrNull(Option.flatMap(report.reconcileSchedule, (r) => Option.fromNullable(r.nextAt)))
  ),
  /** Why the worker stopped for a person to act (null while it is not stopped). */
  workerStopped: Option.getOrNull(Option.map(report.workerStopped, (w) => ({
    reason: w.reason,
    message: w.message,
    since: isoOrNull(w.at)
  }))),
  /** Where Stash is reached: `source` is `setting`, `plugin` (learned from the plugin input) or `default`. */
  stash: Option.getOrNull(Option.map(report.stash, (s) => ({
    url: shownUrl(s.url),
    source: s.source._tag.toLowerCase(),
    learnedAt: s.source._tag === "Plugin" ? s.source.learnedAt : null
  })))
})
export type StatusDocument = ReturnType<typeof statusDocument>

// ---------------------------------------------------------------------------------------------------------------
// Human output

const describeBreaker = (target: Target, b: BreakerState, now: number): string => {
  switch (b.state) {
    case "closed":
      return `${target} closed`
    case "half_open":
      return `${target} half-open (testing the server again)`
    case "open": {
      const since = b.openedAt === null ? "" : ` since ${formatTimeAgo(b.openedAt, now)}`
      const probe = b.nextProbeAt === null ? "" : `, next probe ${formatTimeAgo(b.nextProbeAt, now)}`
      const why = b.lastError === null ? "" : ` — ${b.lastError}`
      return `${target} OPEN${since}${probe}${why}`
    }
  }
}

const describeOutage = (o: Outage, now: number): string => {
  const span = o.endedAt === null
    ? `from ${formatTime(o.startedAt)} (ongoing, ${formatDuration(now - o.startedAt)} so far)`
    : `from ${formatTime(o.startedAt)} to ${formatTime(o.endedAt)} (${formatDuration(o.endedAt - o.startedAt)})`
  return `#${o.id} ${o.target} ${span}, ${plural(o.jobsAffected, "job")} affected`
}

const describeRecovery = (run: RecoveryRun, now: number): string => {
  const r = run.result
  const parts = [`${r.recovered} recovered`]
  if (r.skippedAlreadyQueued > 0) parts.push(`${r.skippedAlreadyQueued} already queued`)
  if (r.skippedSceneMissing > 0) parts.push(`${r.skippedSceneMissing} scenes missing`)
  if (r.skippedPlexDown > 0) parts.push(`${r.skippedPlexDown} skipped (Plex down)`)
  if (r.failed > 0) parts.push(`${r.failed} failed`)
  return `${formatTimeAgo(run.finishedAt ?? run.startedAt, now)}, ${run.trigger}: ${parts.join(", ")}`
}

const stopWords: Record<RecoveryStop, string> = {
  PlexDown: "Plex was down at the start",
  PlexWentDown: "Plex went down during the run",
  StashFailed: "Stash failed during the run"
}

/** A run that did not complete: how it ended, how often it was tried, and what it did before. */
const describeAttempt = (run: RecoveryRun, now: number): string => {
  if (run.finishedAt === null) {
    return `started ${
      formatTimeAgo(run.startedAt, now)
    }, ${run.trigger}: never finished (interrupted, or still running)`
  }
  const why = run.result.stoppedBy === null ? "stopped" : stopWords[run.result.stoppedBy]
  const tries = run.attempts > 1 ? `, ${run.attempts} attempts since ${formatTime(run.startedAt)}` : ""
  const done = run.result.recovered > 0 ? ` after ${run.result.recovered} recovered` : ""
  return `${formatTimeAgo(run.finishedAt, now)}, ${run.trigger}: stopped — ${why}${done}${tries}`
}

const describeReconcile = (value: unknown, now: number): string => {
  if (value !== null && typeof value === "object") {
    const v = value as Record<string, unknown>
    const at = finishedAtOf(value) ?? (typeof v.at === "number" ? v.at : null)
    const when = at === null ? "" : `${formatTimeAgo(at, now)}: `
    const checked = typeof v.scenesChecked === "number" ? `${v.scenesChecked} scenes checked` : undefined
    const queued = typeof v.queued === "number" ? `${v.queued} queued` : undefined
    const text = [checked, queued].filter((x) => x !== undefined).join(", ")
    if (when !== "" || text !== "") return `${when}${text}`
  }
  return typeof value === "string" ? value : JSON.stringify(value)
}

const describeStashSource = (source: StashUrlSource): string => {
  switch (source._tag) {
    case "Setting":
      return ""
    case "Plugin":
      return ` (learned from the Stash plugin on ${source.learnedAt}; PLEXSYNC_STASH_URL is not set)`
    case "Default":
      return " (the default; PLEXSYNC_STASH_URL is not set)"
  }
}

export const renderStatus = (report: StatusReport): string => {
  const { now, queue } = report
  const held = queue.held > 0 ? `, ${queue.held} held by an open breaker` : ""
  const next = Option.match(report.nextDueAt, {
    onNone: () => "",
    onSome: (t) => queue.due > 0 || t <= now ? "" : `; next due ${formatTimeAgo(t, now)}`
  })
  const queueLine = queue.queued === 0 && queue.running === 0
    ? "empty"
    : `${queue.queued} waiting (${queue.due} due${held}), ${queue.running} running${next}`

  const tags = Object.entries(report.dlq.byErrorTag).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
  const dlqLine = report.dlq.total === 0
    ? `empty${report.dlq.recovered > 0 ? ` (${report.dlq.recovered} recovered, kept for audit)` : ""}`
    : `${plural(report.dlq.total, "entry", "entries")} to look at: ${
      tags.map(([tag, n]) => `${tag} ${n}`).join(", ")
    } — see \`plexsync dlq list\``

  return keyValues([
    ...Option.match(report.workerStopped, {
      onNone: () => [],
      onSome: (w): Array<readonly [string, string]> => [[
        "Worker",
        `STOPPED ${w.at === 0 ? "" : `${formatTimeAgo(w.at, now)} `}until a person acts: ${w.message}`
      ]]
    }),
    ["Queue", queueLine],
    ["Dead letters", dlqLine],
    ["Breakers", targets.map((t) => describeBreaker(t, report.breakers[t], now)).join("\n")],
    ["Outage now", Option.match(report.currentOutage, { onNone: () => "none", onSome: (o) => describeOutage(o, now) })],
    ["Last outage", Option.match(report.lastOutage, { onNone: () => "none", onSome: (o) => describeOutage(o, now) })],
    [
      "Last recovery",
      Option.match(report.lastRecovery, { onNone: () => "never", onSome: (r) => describeRecovery(r, now) })
    ],
    ...Option.match(report.lastRecoveryAttempt, {
      onNone: () => [],
      onSome: (r): Array<readonly [string, string]> => [["Last attempt", describeAttempt(r, now)]]
    }),
    [
      "Last reconcile",
      Option.match(report.lastReconcile, { onNone: () => "never", onSome: (v) => describeReconcile(v, now) })
    ],
    ...Option.match(report.reconcileSchedule, {
      onNone: () => [],
      onSome: (r): Array<readonly [string, string]> => [[
        "Next reconcile",
        r.nextAt === null ? `not scheduled (${r.schedule})` : `${formatTimeAgo(r.nextAt, now)}; ${r.schedule}`
      ]]
    }),
    ...Option.match(report.stash, {
      onNone: () => [],
      onSome: (s): Array<readonly [string, string]> => [["Stash", `${shownUrl(s.url)}${describeStashSource(s.source)}`]]
    })
  ])
}
