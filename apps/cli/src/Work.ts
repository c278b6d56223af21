import type { StashError } from "@plexsync/domain/Errors"
import { OutageId } from "@plexsync/domain/Ids"
import type { ReconcileProgress, ReconcileScope, ReconcileSettings } from "@plexsync/domain/Reconcile"
import { reconcile as runReconcile, reconcileDocument } from "@plexsync/domain/Reconcile"
import type { RecoverySelection } from "@plexsync/domain/Recovery"
import { recoverOutageJobs } from "@plexsync/domain/Recovery"
import type { RecoveryResult } from "@plexsync/domain/RecoveryLog"
import type { EventDrainResult } from "@plexsync/domain/RelatedChanges"
import { drainObjectEvents } from "@plexsync/domain/RelatedChanges"
import { ProcessLease, SettingKeys, Settings } from "@plexsync/domain/Settings"
import { StashClient } from "@plexsync/domain/StashClient"
import type { SceneRef } from "@plexsync/domain/StashScene"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { SyncState } from "@plexsync/domain/SyncState"
import { makeWorker } from "@plexsync/domain/Worker"
import type { DrainSummary, EngineSettings } from "@plexsync/domain/Worker"
import { recoveryResultDocument } from "@plexsync/runtime/Documents"
import type { Progress } from "@plexsync/runtime/Present"
import { formatDuration, formatTime, formatTimeAgo, plural } from "@plexsync/runtime/Present"
import { renderReconcileSummary } from "@plexsync/runtime/ReconcileReport"
import { Clock, Duration, Effect, Fiber, Option, Ref, Schedule } from "effect"
import * as Os from "node:os"
import type { Report } from "./Commands.js"
import { UsageError } from "./Errors.js"
import { formatStashTime, laterStashTime, parseStashTime } from "./StashTime.js"

/**
 * The commands that do long work against Stash and Plex: `sync`, `run`, `recover`, `reconcile`. Progress goes
 * through the `Progress` a caller makes (a bar on a terminal, plain lines otherwise, Stash's progress lines in a
 * plugin task); results come back as a `Report`.
 */
export type ProgressFactory = (label: string, total?: number) => Effect.Effect<Progress>

// ---------------------------------------------------------------------------------------------------------------
// sync

export type SyncSelection =
  /** Every scene in Stash. */
  | { readonly _tag: "All" }
  /** Scenes changed since this instant (ms). */
  | { readonly _tag: "Since"; readonly ms: number }
  /** Scenes changed since the change-feed watermark; without one, since `fallbackMs` (none: every scene). */
  | { readonly _tag: "Watermark"; readonly fallbackMs: Option.Option<number> }

/** The change feed reads an hour before its watermark (Stash's seconds and DST); so does `sync`. */
const watermarkOverlapMs = 60 * 60 * 1000
const syncPageSize = 500

export const sync = (selection: SyncSelection, progress: ProgressFactory) =>
  Effect.gen(function*() {
    const stash = yield* StashClient
    const settings = yield* Settings
    const queue = yield* SyncQueue
    const syncState = yield* SyncState

    const watermark = Option.getOrNull(yield* settings.get(SettingKeys.stashWatermark))
    /** A Stash time in Stash's own offset, or none when Stash has no scene at all. */
    const stashTimeOf = (ms: number) =>
      Effect.gen(function*() {
        const sample = watermark === null
          ? Option.flatMap(
            Option.fromNullable((yield* stash.scenesUpdatedSince({ since: null, page: 1, perPage: 1 })).items[0]),
            (ref) => parseStashTime(ref.updatedAt)
          )
          : parseStashTime(watermark)
        return Option.map(sample, (like) => formatStashTime(ms, like))
      })

    let since: string | null = null
    let described = "every scene"
    // Scenes synced at the very version the feed shows are skipped only when reading the change feed.
    let skipSynced = false
    let advanceWatermark = true
    switch (selection._tag) {
      case "All":
        break
      case "Since": {
        const text = yield* stashTimeOf(selection.ms)
        if (Option.isNone(text)) break
        since = text.value
        described = `changed since ${formatTime(selection.ms)}`
        // A window starting after the watermark skipped scenes before it: the watermark must not move past them.
        advanceWatermark = watermark !== null && since <= watermark
        break
      }
      case "Watermark": {
        skipSynced = true
        const start = watermark === null
          ? Option.none()
          : Option.map(parseStashTime(watermark), (w) => formatStashTime(w.ms - watermarkOverlapMs, w))
        if (Option.isSome(start)) {
          since = start.value
          described = `changed since the last sync, ${
            Option.match(parseStashTime(watermark!), { onNone: () => watermark, onSome: (w) => formatTime(w.ms) })
          }`
        } else if (Option.isSome(selection.fallbackMs)) {
          const text = yield* stashTimeOf(selection.fallbackMs.value)
          if (Option.isSome(text)) {
            since = text.value
            described = `changed since ${formatTime(selection.fallbackMs.value)}: there was no earlier sync`
          }
        } else {
          described = "every scene: there was no earlier sync"
        }
        break
      }
    }
    yield* Effect.logInfo(`sync: reading ${described} from Stash`)

    const counts = { read: 0, queued: 0, coalesced: 0, skippedSynced: 0 }
    let newest: string | null = null
    let bar: Progress | undefined
    for (let page = 1;; page++) {
      const result = yield* stash.scenesUpdatedSince({ since, page, perPage: syncPageSize })
      if (bar === undefined) bar = yield* progress("sync", result.count)
      const refs: ReadonlyArray<SceneRef> = result.items
      counts.read += refs.length
      let wanted = refs
      if (skipSynced && refs.length > 0) {
        const states = yield* syncState.getMany(refs.map((r) => r.id))
        const synced = new Map(states.map((s) => [s.sceneId as string, s.stashUpdatedAt]))
        wanted = refs.filter((r) => synced.get(r.id) !== r.updatedAt)
        counts.skippedSynced += refs.length - wanted.length
      }
      if (wanted.length > 0) {
        const enqueued = yield* queue.enqueueMany(wanted.map((r) => ({ sceneId: r.id, reason: "bulk" as const })))
        counts.queued += enqueued.inserted
        counts.coalesced += enqueued.coalesced
      }
      for (const ref of refs) newest = laterStashTime(newest, ref.updatedAt)
      yield* bar.advance(refs.length)
      if (refs.length < syncPageSize) break
    }
    if (bar !== undefined) yield* bar.finish
    let newWatermark = watermark
    if (advanceWatermark && newest !== null) {
      newWatermark = laterStashTime(watermark, newest)
      if (newWatermark !== watermark) yield* settings.set(SettingKeys.stashWatermark, newWatermark)
    }

    const lines = [
      counts.read === 0
        ? `Stash has no scenes${described.startsWith("every") ? "" : ` ${described}`}: nothing to queue.`
        : `Read ${plural(counts.read, "scene")} from Stash (${described}); queued ${counts.queued}` +
          (counts.coalesced > 0 ? `, ${counts.coalesced} already queued (merged)` : "") +
          (counts.skippedSynced > 0 ? `, ${counts.skippedSynced} skipped: already synced at that version` : "") +
          "."
    ]
    if (counts.queued + counts.coalesced > 0) lines.push("`plexsync run` (or the scheduler) syncs them.")
    return {
      human: lines.join("\n"),
      json: { since, ...counts, watermark: newWatermark }
    } satisfies Report
  })

// ---------------------------------------------------------------------------------------------------------------
// run

export const workerLeaseName = "worker"

export interface RunOptions {
  readonly wait: boolean
  readonly maxJobs: Option.Option<number>
}

const describeSummary = (s: DrainSummary): string => {
  if (s.processed === 0) return "Nothing was due: no job processed."
  const parts = [`${s.synced} synced`, `${s.unchanged} unchanged`]
  if (s.dropped > 0) parts.push(`${s.dropped} dropped (scene deleted in Stash)`)
  if (s.retried > 0) parts.push(`${s.retried} to retry later`)
  if (s.held > 0) parts.push(`${s.held} held (a breaker is open)`)
  if (s.deadLettered > 0) parts.push(`${s.deadLettered} moved to the dead-letter queue`)
  return `Processed ${plural(s.processed, "job")}: ${parts.join(", ")}.`
}

/**
 * The worker in the foreground, holding the database's worker lease so no other worker runs meanwhile. First the
 * events the plugin hooks recorded for tags, performers, studios and groups become scene jobs (so the Stash task
 * "Process queue" needs no scheduler); a Stash failure there leaves them for the next run and is only reported.
 */
export const run = (settings: EngineSettings, options: RunOptions, progress: ProgressFactory) =>
  Effect.gen(function*() {
    if (Option.isSome(options.maxJobs) && options.maxJobs.value < 1) {
      return yield* new UsageError({ message: "--max-jobs must be at least 1" })
    }
    const lease = yield* ProcessLease
    const queue = yield* SyncQueue
    const holder = `plexsync run on ${Os.hostname()} (pid ${process.pid})`
    const leaseMs = Math.max(1_000, settings.leaseMs)
    if (!(yield* lease.acquire(workerLeaseName, holder, leaseMs))) {
      const current = yield* lease.holder(workerLeaseName)
      const who = Option.match(current, { onNone: () => "another process", onSome: (h) => h.holder })
      const counts = yield* queue.counts
      return {
        human: `${who} is processing the queue (${counts.queued} waiting); it syncs them, nothing was run here.`,
        json: { processed: 0, busy: true, holder: Option.getOrNull(Option.map(current, (h) => h.holder)) },
        failed: `${who} holds the worker lease`
      } satisfies Report
    }

    const events = yield* drainObjectEvents().pipe(
      Effect.map((result): EventDrainResult | string => result),
      // Stash failing: the events stay for the next run, and the queue is processed all the same.
      Effect.catchIf(
        (error): error is StashError => error._tag !== "StoreError",
        (error) =>
          Effect.as(
            Effect.logWarning(`the recorded tag, performer, studio or group changes wait: ${error.message}`),
            `${error._tag}: ${error.message}`
          )
      )
    )

    const worker = yield* makeWorker(settings)
    const before = yield* queue.counts
    const bar = yield* progress("run", before.queued + before.running)
    const done = yield* Ref.make(0)
    // The engine reports only at the end; the queue's own counts show the way meanwhile.
    const watch = yield* Effect.gen(function*() {
      const now = yield* queue.counts
      const left = now.queued + now.running
      const previous = yield* Ref.get(done)
      const finished = Math.max(previous, before.queued + before.running - left)
      yield* Ref.set(done, finished)
      yield* bar.advance(finished - previous)
    }).pipe(Effect.ignore, Effect.repeat(Schedule.spaced("500 millis")), Effect.fork)
    const renew = yield* lease.acquire(workerLeaseName, holder, leaseMs).pipe(
      Effect.ignore,
      Effect.repeat(Schedule.spaced(Duration.millis(Math.floor(leaseMs / 3)))),
      Effect.fork
    )

    const summary = yield* worker.drain({
      wait: options.wait,
      ...(Option.isSome(options.maxJobs) ? { maxJobs: options.maxJobs.value } : {})
    }).pipe(
      Effect.ensuring(
        Effect.all([Fiber.interrupt(watch), Fiber.interrupt(renew)]).pipe(
          Effect.zipRight(Effect.ignore(lease.release(workerLeaseName, holder)))
        )
      )
    )
    const processedBefore = yield* Ref.get(done)
    yield* bar.advance(Math.max(0, summary.processed - processedBefore))
    yield* bar.finish

    const after = yield* queue.counts
    const next = yield* queue.nextDueAt
    const now = yield* Clock.currentTimeMillis
    const lines = [describeSummary(summary)]
    if (typeof events === "string") {
      lines.unshift(
        `The recorded tag, performer, studio or group changes could not be expanded (${events}); ` +
          "they wait for the next run."
      )
    } else if (events.expanded > 0) {
      lines.unshift(
        `Queued ${plural(events.queued, "scene")} for ${
          plural(events.expanded, "recorded tag, performer, studio or group change")
        }.`
      )
    }
    if (after.queued > 0) {
      const due = Option.match(next, {
        onNone: () => "",
        onSome: (t) => (t > now ? `; the next is due ${formatTimeAgo(t, now)}` : "")
      })
      lines.push(
        `${plural(after.queued, "job")} still waiting${
          after.held > 0 ? ` (${after.held} held by an open breaker)` : ""
        }${due}.`
      )
    }
    if (summary.stoppedBy !== null) lines.push(`Stopped: ${summary.stoppedBy.message}`)
    return {
      human: lines.join("\n"),
      json: {
        processed: summary.processed,
        synced: summary.synced,
        unchanged: summary.unchanged,
        dropped: summary.dropped,
        retried: summary.retried,
        held: summary.held,
        deadLettered: summary.deadLettered,
        stoppedBy: summary.stoppedBy === null
          ? null
          : { reason: summary.stoppedBy.reason, message: summary.stoppedBy.message },
        queue: after,
        objectEvents: typeof events === "string"
          ? { expanded: 0, queued: 0, error: events }
          : { expanded: events.expanded, queued: events.queued, error: null }
      },
      ...(summary.stoppedBy === null ? {} : { failed: summary.stoppedBy.message })
    } satisfies Report
  })

// ---------------------------------------------------------------------------------------------------------------
// recover

export type RecoverWindow =
  | { readonly _tag: "LastOutage" }
  | { readonly _tag: "Outage"; readonly outageId: number }
  | { readonly _tag: "Range"; readonly from: number; readonly to: number }

export interface RecoverOptions {
  readonly window: RecoverWindow
  readonly includeOptional: boolean
  readonly dryRun: boolean
}

const describeRecovery = (r: RecoveryResult, plexDown: boolean): string => {
  const window = `${formatTime(r.window.from)} to ${formatTime(r.window.to)}${
    r.window.outageId === null ? "" : ` (outage ${r.window.outageId})`
  }`
  const lines = [`Recovery${r.dryRun ? " (dry run)" : ""} of ${r.errorTags.join(", ")} entries from ${window}:`]
  if (plexDown) {
    lines.push(
      `Plex is not healthy: nothing was re-queued (${r.skippedPlexDown} entries wait). Run again once Plex answers.`
    )
    return lines.join("\n")
  }
  lines.push(`  ${r.dryRun ? "would recover" : "recovered"}      ${r.recovered}`)
  lines.push(`  already queued       ${r.skippedAlreadyQueued}`)
  lines.push(`  scene deleted        ${r.skippedSceneMissing}`)
  if (r.skippedPlexDown > 0) lines.push(`  Plex down mid-run    ${r.skippedPlexDown}`)
  lines.push(`  failed               ${r.failed}`)
  if (!r.dryRun && r.recovered > 0) lines.push("`plexsync run` (or the scheduler) syncs the re-queued scenes.")
  return lines.join("\n")
}

/** Outage recovery on demand: the domain's three-gate pipeline; why it stopped early, if it did, sets the exit code. */
export const recover = (options: RecoverOptions) =>
  Effect.gen(function*() {
    let selection: RecoverySelection
    switch (options.window._tag) {
      case "Outage":
        selection = { outageId: OutageId.make(options.window.outageId) }
        break
      case "Range":
        if (options.window.from > options.window.to) {
          return yield* new UsageError({ message: "--from is after --to: the window would be empty" })
        }
        selection = { from: options.window.from, to: options.window.to }
        break
      case "LastOutage":
        selection = { lastOutage: "any" }
        break
    }
    const outcome = yield* recoverOutageJobs({
      window: selection,
      includeOptional: options.includeOptional,
      dryRun: options.dryRun,
      trigger: "manual"
    }).pipe(
      Effect.map((result) => ({ _tag: "Ran" as const, result, stopped: undefined as string | undefined })),
      // Stash failed mid-run: what was recovered stays recovered; the counts so far are the result.
      Effect.catchTag("RecoveryStopped", (e) =>
        Effect.succeed({ _tag: "Ran" as const, result: e.result, stopped: e.message })),
      Effect.catchTag("NoCompletedOutage", () =>
        Effect.succeed({ _tag: "NoOutage" as const }))
    )
    if (outcome._tag === "NoOutage") {
      return {
        human: "No completed outage is recorded: nothing to recover. Give --from/--to to pick a window yourself.",
        json: {
          window: null,
          errorTags: [],
          dryRun: options.dryRun,
          recovered: 0,
          skippedAlreadyQueued: 0,
          skippedPlexDown: 0,
          skippedSceneMissing: 0,
          failed: 0,
          recoveredSceneIds: [],
          message: "no completed outage"
        }
      } satisfies Report
    }
    const { result, stopped } = outcome
    const gateAborted = result.stoppedBy === "PlexDown"
    const human = describeRecovery(result, gateAborted) + (stopped === undefined ? "" : `\n${stopped}`)
    const failed = result.stoppedBy === null ? stopped : "the Plex health gate stopped the recovery"
    return {
      human,
      json: recoveryResultDocument(result),
      ...(failed === undefined ? {} : { failed })
    } satisfies Report
  })

// ---------------------------------------------------------------------------------------------------------------
// reconcile

export interface ReconcileCommandOptions {
  readonly scope: ReconcileScope
  readonly dryRun: boolean
  readonly includeMissing: boolean
}

export const reconcile = (
  settings: ReconcileSettings,
  options: ReconcileCommandOptions,
  progress: ProgressFactory
) =>
  Effect.gen(function*() {
    const bars = yield* Ref.make<{ phase: string; bar: Progress; done: number } | null>(null)
    const onProgress = (p: ReconcileProgress) =>
      Effect.gen(function*() {
        const current = yield* Ref.get(bars)
        const label = p.phase === "plex" ? `reconcile: Plex ${p.section}` : "reconcile: Stash"
        const done = p.phase === "plex" ? p.read : p.checked
        if (current === null || current.phase !== label) {
          if (current !== null) yield* current.bar.finish
          const bar = yield* progress(label, p.total)
          yield* bar.advance(done)
          yield* Ref.set(bars, { phase: label, bar, done })
          return
        }
        yield* current.bar.setTotal(p.total)
        yield* current.bar.advance(done - current.done)
        yield* Ref.set(bars, { ...current, done })
      })
    const result = yield* runReconcile(settings, {
      scope: options.scope,
      dryRun: options.dryRun,
      includeMissing: options.includeMissing,
      onProgress
    })
    const last = yield* Ref.get(bars)
    if (last !== null) yield* last.bar.finish
    return {
      human: renderReconcileSummary(result) + `\nTook ${formatDuration(result.finishedAt - result.startedAt)}.`,
      json: reconcileDocument(result)
    } satisfies Report
  })
