import type { BreakerState } from "@plexsync/domain/BreakerStore"
import { BreakerStore } from "@plexsync/domain/BreakerStore"
import type { StashError } from "@plexsync/domain/Errors"
import type { LeaseLoss } from "@plexsync/domain/LeaseHolder"
import { acquireLease, describeHolder, holderText, keepLease, parseHolder } from "@plexsync/domain/LeaseHolder"
import type { EventDrainResult } from "@plexsync/domain/RelatedChanges"
import { drainObjectEvents } from "@plexsync/domain/RelatedChanges"
import { ProcessLease, SettingKeys, Settings } from "@plexsync/domain/Settings"
import { StashClient } from "@plexsync/domain/StashClient"
import type { SceneRef } from "@plexsync/domain/StashScene"
import type { QueueCounts } from "@plexsync/domain/SyncJob"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { SyncState } from "@plexsync/domain/SyncState"
import { targets } from "@plexsync/domain/TargetHealth"
import { makeWorker } from "@plexsync/domain/Worker"
import type { DrainSummary, EngineSettings, JobOutcome, SettledJob } from "@plexsync/domain/Worker"
import { takeOverFrom } from "@plexsync/domain/WorkerTakeover"
import type { Report } from "@plexsync/runtime/Commands"
import { breakerDocument } from "@plexsync/runtime/Documents"
import type { Progress, ProgressFactory } from "@plexsync/runtime/Present"
import { formatDuration, formatTime, formatTimeAgo, plural } from "@plexsync/runtime/Present"
import { thisProcess } from "@plexsync/runtime/ThisProcess"
import { Database } from "@plexsync/sqlite/Database"
import { Clock, Deferred, Duration, Effect, Fiber, Option, Schedule } from "effect"
import { UsageError } from "./Errors.js"
import { formatStashTime, laterStashTime, parseStashTime } from "./StashTime.js"

/**
 * The commands that do long work against Stash and Plex: `sync`, `run`, `recover`, `reconcile`. Progress goes
 * through the `Progress` a caller makes (a bar on a terminal, plain lines otherwise, Stash's progress lines in a
 * plugin task); results come back as a `Report`.
 */
export type { ProgressFactory }

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
    // Pages by key (scene id), never by offset: a scene edited during the read moves to the end of Stash's
    // `updated_at` order, and an offset would then skip the scene behind it. Its job fetches the edit; the watermark
    // stays before the edit (not read), so the change feed sees it too.
    let afterId: SceneRef["id"] | null = null
    for (;;) {
      const result = yield* stash.scenesUpdatedSinceById({ since, afterId, perPage: syncPageSize })
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
      const last = refs.at(-1)
      if (last === undefined || refs.length < syncPageSize) break
      afterId = last.id
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

/** The holder of the worker lease for a person: `plexsync run on nas (pid 7)`, `The scheduler on nas (pid 1)`. */
const workerName = (holder: string): string =>
  Option.match(parseHolder(holder), {
    // Older versions: a `plexsync run` named itself; the scheduler's holder was `host:pid`.
    onNone: () => holder.startsWith("plexsync ") ? holder : `The scheduler (${holder})`,
    onSome: (h) =>
      h.program === "plexsync-scheduler" ? `The scheduler on ${h.host} (pid ${h.pid})` : describeHolder(holder)
  })

export interface RunOptions {
  readonly wait: boolean
  readonly maxJobs: Option.Option<number>
}

/** Outcomes after which a job is finished for good; a retried or held job comes back (with `--wait`, in this run). */
const finalOutcomes: ReadonlySet<JobOutcome> = new Set(["synced", "unchanged", "dropped", "dead_lettered"])

/**
 * What a run has done, by job: the bar counts jobs (not attempts), so a job retried and then synced counts once.
 * With `--wait` a job counts when it is finished for good; without, also when it is put back to retry later (it is
 * not due again in this run).
 */
interface RunTally {
  /** Jobs counted as done. */
  readonly done: Set<number>
  /** Jobs put back, not finished yet: to retry after a backoff, or held while a breaker is open. */
  readonly waiting: Map<number, "retried" | "held">
  /** Settlements, attempts included. */
  attempts: number
}

const openBreakers = Effect.gen(function*() {
  const store = yield* BreakerStore
  const states = yield* Effect.forEach(targets, (t) => store.get(t))
  return states.filter((b) => b.state !== "closed")
})

/** Why nothing runs at this moment: an open breaker, or the next job's backoff. */
const waitReason = (breakers: ReadonlyArray<BreakerState>, nextDue: Option.Option<number>, now: number) => {
  const reasons = breakers.map((b) =>
    b.state === "half_open"
      ? `${b.target} breaker half-open, trying one job`
      : `${b.target} breaker open, ${
        b.nextProbeAt === null || b.nextProbeAt <= now
          ? "probing now"
          : `probe in ${formatDuration(Math.ceil((b.nextProbeAt - now) / 1000) * 1000)}`
      }`
  )
  if (reasons.length > 0) return reasons.join("; ")
  return Option.match(nextDue, {
    onNone: () => null,
    onSome: (t) => (t > now ? `next job due in ${formatDuration(Math.ceil((t - now) / 1000) * 1000)}` : null)
  })
}

const describeBreaker = (b: BreakerState, now: number): string =>
  `the ${b.target} breaker is ${b.state === "open" ? "open" : "half-open"}${
    b.openedAt === null ? "" : ` since ${formatTimeAgo(b.openedAt, now)}`
  }${b.lastError === null ? "" : ` (${b.lastError})`}${
    b.nextProbeAt === null ? "" : `; the next probe is ${formatTimeAgo(b.nextProbeAt, now)}`
  }`

const describeSummary = (s: DrainSummary, jobs: number): string => {
  if (s.processed === 0) return "Nothing was due: no job processed."
  const parts = [`${s.synced} synced`, `${s.unchanged} unchanged`]
  if (s.dropped > 0) parts.push(`${s.dropped} dropped (scene deleted in Stash)`)
  if (s.retried > 0) parts.push(`${s.retried} ${s.retried === 1 ? "retry" : "retries"}`)
  if (s.held > 0) parts.push(`${s.held} held (a breaker is open)`)
  if (s.deadLettered > 0) parts.push(`${s.deadLettered} moved to the dead-letter queue`)
  const attempts = s.processed > jobs ? ` in ${s.processed} attempts` : ""
  return `Processed ${plural(jobs, "job")}${attempts}: ${parts.join(", ")}.`
}

/** `run --json`: the same keys in every case (`null` where a value does not apply). */
const runDocument = (fields: {
  readonly summary: DrainSummary | null
  readonly jobs: number
  readonly queue: QueueCounts
  readonly events: EventDrainResult | string | null
  readonly holder: string | null
  readonly breakers: ReadonlyArray<BreakerState>
}) => {
  const s = fields.summary
  return {
    processed: s?.processed ?? 0,
    jobs: fields.jobs,
    synced: s?.synced ?? 0,
    unchanged: s?.unchanged ?? 0,
    dropped: s?.dropped ?? 0,
    retried: s?.retried ?? 0,
    held: s?.held ?? 0,
    deadLettered: s?.deadLettered ?? 0,
    stoppedBy: s?.stoppedBy == null ? null : { reason: s.stoppedBy.reason, message: s.stoppedBy.message },
    busy: fields.holder !== null,
    holder: fields.holder,
    openBreakers: fields.breakers.map((b) => ({ target: b.target, ...breakerDocument(b) })),
    queue: fields.queue,
    objectEvents: fields.events === null
      ? { expanded: 0, queued: 0, error: null }
      : typeof fields.events === "string"
      ? { expanded: 0, queued: 0, error: fields.events }
      : { expanded: fields.events.expanded, queued: fields.events.queued, error: null }
  }
}

/**
 * The worker in the foreground, holding the database's worker lease so no other worker runs meanwhile. First the
 * events the plugin hooks recorded for tags, performers, studios and groups become scene jobs (so the Stash task
 * "Process queue" needs no scheduler); a Stash failure there leaves them for the next run and is only reported.
 *
 * The progress counts jobs settled (see `RunTally`) against what this run will do: the jobs waiting (with
 * `--wait`) or due now, at most `--max-jobs`; while nothing runs, its note says why (a backoff, an open breaker).
 */
export const run = (settings: EngineSettings, options: RunOptions, progress: ProgressFactory) =>
  Effect.gen(function*() {
    if (Option.isSome(options.maxJobs) && options.maxJobs.value < 1) {
      return yield* new UsageError({ message: "--max-jobs must be at least 1" })
    }
    const lease = yield* ProcessLease
    const queue = yield* SyncQueue
    const here = thisProcess("plexsync run")
    const holder = holderText(here.holder)
    const leaseMs = Math.max(1_000, settings.leaseMs)
    let attempt = yield* acquireLease(workerLeaseName, here, leaseMs)
    if (attempt._tag === "Held" && !options.wait) {
      const who = workerName(attempt.holder)
      const counts = yield* queue.counts
      return {
        human: `${who} holds the worker lease and processes the queue (${plural(counts.queued, "job")} waiting); ` +
          "nothing was run here.",
        json: runDocument({
          summary: null,
          jobs: 0,
          queue: counts,
          events: null,
          holder: attempt.holder,
          breakers: []
        }),
        failed: `${who} holds the worker lease`,
        busy: { holder: who, waiting: counts.queued }
      } satisfies Report
    }
    if (attempt._tag === "Held") {
      // `--wait`: the queue is to be processed, whoever does it; this run takes over when the holder is done.
      let announced: string | null = null
      while (attempt._tag === "Held") {
        if (announced !== attempt.holder) {
          announced = attempt.holder
          yield* Effect.logWarning(`${workerName(attempt.holder)} holds the worker lease; waiting for it`)
        }
        yield* Effect.sleep(Duration.millis(Math.floor(leaseMs / 3)))
        attempt = yield* acquireLease(workerLeaseName, here, leaseMs)
      }
    }
    if (attempt.tookOverFrom !== null) yield* takeOverFrom(attempt.tookOverFrom)

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
    const cap = Option.getOrElse(options.maxJobs, () => Infinity)
    /** Jobs this run still has to do, by the queue: all of them with `--wait`, else those due (and running). */
    const remaining = (c: QueueCounts) => options.wait ? c.queued + c.running : c.due + c.running
    const tally: RunTally = { done: new Set(), waiting: new Map(), attempts: 0 }
    const atStart = Math.min(cap, remaining(yield* queue.counts))
    // With `--wait`, what is left is what the queue holds (jobs arriving meanwhile included). Without, the jobs due
    // at the start: a job put back and due again at once is among the due ones, but it counts once.
    const totalFor = (c: QueueCounts) =>
      Math.max(tally.done.size, options.wait ? Math.min(cap, tally.done.size + remaining(c)) : atStart)
    const bar = yield* progress("run", atStart)

    const onSettled = (job: SettledJob) =>
      Effect.gen(function*() {
        if (job.outcome === "stopped" || job.outcome === "lease_lost") return
        tally.attempts++
        const final = finalOutcomes.has(job.outcome)
        if (final) tally.waiting.delete(job.jobId)
        else tally.waiting.set(job.jobId, job.outcome === "held" ? "held" : "retried")
        if ((final || !options.wait) && !tally.done.has(job.jobId)) {
          tally.done.add(job.jobId)
          yield* bar.advance(1)
        }
      })

    // The queue and the breakers, read a few times a second: the bar's total, and why nothing runs when it does not.
    const look = Effect.gen(function*() {
      const counts = yield* queue.counts
      yield* bar.setTotal(totalFor(counts))
      const now = yield* Clock.currentTimeMillis
      const waiting = [...tally.waiting.values()]
      const retrying = waiting.filter((w) => w === "retried").length
      const held = waiting.length - retrying
      const why = counts.running > 0 || remaining(counts) === 0
        ? null
        : waitReason(yield* openBreakers, yield* queue.nextDueAt, now)
      const note = [
        options.wait && retrying > 0 ? `${retrying} to retry` : null,
        options.wait && held > 0 ? `${held} held` : null,
        why
      ].filter((x) => x !== null).join(" · ")
      yield* bar.setNote(note === "" ? null : note)
    })
    const watch = yield* look.pipe(Effect.ignore, Effect.repeat(Schedule.spaced("250 millis")), Effect.fork)
    // Losing the worker lease (taken by another process after a pause, or the database gone) stops the claiming:
    // two workers never run at once. In-flight jobs finish under their own job leases.
    const database = yield* Effect.serviceOption(Database)
    const fileLost = Option.match(database, {
      onNone: () => Effect.succeed(Option.none<string>()),
      onSome: (db) => Effect.option(Effect.flip(Effect.map(db.checkFile, () => "")).pipe(Effect.map((e) => e.message)))
    })
    const lost = yield* Deferred.make<LeaseLoss>()
    const renew = yield* keepLease(workerLeaseName, holder, leaseMs, fileLost).pipe(
      Effect.flatMap((loss) => Deferred.succeed(lost, loss)),
      Effect.fork
    )

    const summary = yield* worker.drain({
      wait: options.wait,
      stop: Deferred.await(lost),
      ...(Option.isSome(options.maxJobs) ? { maxJobs: options.maxJobs.value } : {}),
      onSettled
    }).pipe(
      Effect.ensuring(
        Effect.all([Fiber.interrupt(watch), Fiber.interrupt(renew)]).pipe(
          Effect.zipRight(Effect.ignore(lease.release(workerLeaseName, holder)))
        )
      )
    )

    const after = yield* queue.counts
    // The bar ends at what the run did, unless it stopped short (a refused token): then what it left undone shows.
    yield* bar.setTotal(summary.stoppedBy === null ? tally.done.size : totalFor(after))
    yield* bar.setNote(null)
    yield* bar.finish

    const next = yield* queue.nextDueAt
    const now = yield* Clock.currentTimeMillis
    const breakers = yield* openBreakers
    const lines = [describeSummary(summary, tally.done.size)]
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
    if (summary.processed === 0 && after.queued > 0 && breakers.length > 0) {
      lines[lines.length - 1] = `Nothing ran: ${breakers.map((b) => describeBreaker(b, now)).join("; ")}.`
    }
    if (after.queued > 0) {
      const due = Option.match(next, {
        onNone: () => "",
        onSome: (t) => (t > now ? `; the next is due ${formatTimeAgo(t, now)}` : "")
      })
      lines.push(
        `${plural(after.queued, "job")} still waiting${
          breakers.length > 0
            ? ` until the breaker closes (\`plexsync run --wait\` waits for it)`
            : after.held > 0
            ? ` (${after.held} held by an open breaker)`
            : ""
        }${due}.`
      )
    }
    if (summary.stoppedBy !== null) lines.push(`Stopped: ${summary.stoppedBy.message}`)
    const loss = yield* Deferred.poll(lost).pipe(Effect.flatMap(Option.match({
      onNone: () => Effect.succeed(null),
      onSome: (done) => Effect.map(done, (l) => `${l.why}: this run stopped claiming jobs`)
    })))
    if (loss !== null) lines.push(`Stopped: ${loss}.`)
    const failed = summary.stoppedBy?.message ?? loss
    return {
      human: lines.join("\n"),
      json: runDocument({ summary, jobs: tally.done.size, queue: after, events, holder: null, breakers }),
      ...(failed === null ? {} : { failed })
    } satisfies Report
  })

// ---------------------------------------------------------------------------------------------------------------
// recover and reconcile: shared with the scheduler's API, so they live in the runtime package

export { reconcile } from "@plexsync/runtime/ReconcileReport"
export type { ReconcileCommandOptions } from "@plexsync/runtime/ReconcileReport"
export { recover } from "@plexsync/runtime/Recover"
export type { RecoverOptions, RecoverWindow } from "@plexsync/runtime/Recover"
