import { Clock, Effect, Option, Schema } from "effect"
import { DeadLetterQueue } from "./DeadLetterQueue.js"
import type { NotifyEvent } from "./Notification.js"
import { NotificationOutbox } from "./Notification.js"
import { OutageHistory } from "./OutageHistory.js"
import { RecoveryLog } from "./RecoveryLog.js"
import { Settings } from "./Settings.js"
import type { SettingsService } from "./Settings.js"
import { readStop } from "./WorkerStop.js"

/**
 * Finds the events to notify in what the database holds — the outages table, the recovery runs, the worker's stop
 * record, the DLQ's size — rather than where they happen, so an event is seen whichever process caused it (a
 * `plexsync run` too), and a restart mid-outage neither loses it nor sends it twice: each event has a key that
 * names it for good (`outage.started:12`) and the outbox records a key once.
 *
 * Notifications cover what happened from when they were first configured (`notify.since`): switching them on does
 * not replay the history. A scheduler started without notify URLs forgets that point (`forgetBaseline`). The DLQ
 * past its threshold and a stopped worker are conditions: notified when they begin, whenever that was.
 */

export const sinceKey = "notify.since"
export const dlqStateKey = "notify.dlq"
export const stopStateKey = "notify.workerStopped"

/**
 * A condition notified when it begins (the DLQ past its threshold, the worker stopped), not again while it lasts
 * (the worker records its stop anew at each retry), and again after it ended and began anew.
 */
const EdgeState = Schema.parseJson(Schema.Struct({
  /** Whether the condition held at the last look. */
  above: Schema.Boolean,
  /** How many times it began: the key of the next event. */
  crossings: Schema.Int.pipe(Schema.nonNegative())
}))
type EdgeState = typeof EdgeState.Type

export interface WatchOptions {
  /** The sinks (digests of the notify URLs) a new event is delivered to. */
  readonly sinks: ReadonlyArray<string>
  /** `dlq.growing` is sent when the DLQ's entries not yet recovered go past this, once per crossing. */
  readonly dlqThreshold: number
  /** How many recent outages and recovery runs each look reads. */
  readonly lookBack?: number
}

export interface KeyedEvent {
  readonly key: string
  readonly event: NotifyEvent
}

/** When notifications started covering events: stored the first time, read after. */
const baseline = (settings: SettingsService, now: number) =>
  Effect.gen(function*() {
    const stored = Option.flatMap(yield* settings.get(sinceKey), (text) => {
      const n = Number(text)
      return text !== "" && Number.isSafeInteger(n) && n >= 0 ? Option.some(n) : Option.none()
    })
    if (Option.isSome(stored)) return stored.value
    yield* settings.set(sinceKey, String(now))
    return now
  })

/** With no notify URLs configured, the next configuration starts afresh instead of replaying what happened since. */
export const forgetBaseline = Effect.flatMap(
  Settings,
  (settings) =>
    Effect.flatMap(
      settings.get(sinceKey),
      (stored) => Option.isSome(stored) && stored.value !== "" ? settings.set(sinceKey, "") : Effect.void
    )
)

const readEdge = (settings: SettingsService, key: string) =>
  Effect.map(
    settings.get(key),
    (text): EdgeState =>
      Option.match(Option.flatMap(text, Schema.decodeOption(EdgeState)), {
        onNone: () => ({ above: false, crossings: 0 }),
        onSome: (state) => state
      })
  )

/** The next state of a condition, and the key of its event when it just began. */
const edge = (state: EdgeState, holds: boolean, name: string) => ({
  next: { above: holds, crossings: holds && !state.above ? state.crossings + 1 : state.crossings },
  key: holds && !state.above ? `${name}:${state.crossings + 1}` : null,
  changed: holds !== state.above
})

/** The outages' and the recovery runs' events the stored state shows, from `since` on. */
const outageAndRunEvents = (since: number, lookBack: number) =>
  Effect.gen(function*() {
    const outages = yield* OutageHistory
    const runs = yield* RecoveryLog
    const found: Array<KeyedEvent> = []
    for (const outage of yield* outages.list({ limit: lookBack })) {
      if (outage.startedAt >= since) {
        found.push({
          key: `outage.started:${outage.id}`,
          event: {
            event: "outage.started",
            at: outage.startedAt,
            outageId: outage.id,
            target: outage.target,
            cause: outage.cause
          }
        })
      }
      if (outage.endedAt !== null && outage.endedAt >= since) {
        found.push({
          key: `outage.ended:${outage.id}`,
          event: {
            event: "outage.ended",
            at: outage.endedAt,
            outageId: outage.id,
            target: outage.target,
            startedAt: outage.startedAt,
            durationMs: Math.max(0, outage.endedAt - outage.startedAt),
            jobsAffected: outage.jobsAffected
          }
        })
      }
    }
    for (const run of yield* runs.list({ limit: lookBack })) {
      const r = run.result
      const touched = r.recovered + r.skippedAlreadyQueued + r.skippedSceneMissing + r.skippedPlexDown + r.failed
      // An unfinished run (still going, or killed) is told of once it finishes, if ever. Every closed outage gets a
      // recovery run; one that found no entry is no news.
      if (run.finishedAt === null || run.finishedAt < since || (touched === 0 && r.stoppedBy === null)) continue
      const finishedAt = run.finishedAt
      found.push({
        key: `recovery.finished:${run.id}`,
        event: {
          event: "recovery.finished",
          at: finishedAt,
          runId: run.id,
          trigger: run.trigger,
          outageId: run.result.window.outageId,
          recovered: run.result.recovered,
          skippedAlreadyQueued: run.result.skippedAlreadyQueued,
          skippedSceneMissing: run.result.skippedSceneMissing,
          skippedPlexDown: run.result.skippedPlexDown,
          failed: run.result.failed,
          stoppedBy: run.result.stoppedBy
        }
      })
    }
    return found
  })

/**
 * One look: records every event the stored state shows that the outbox does not hold yet, and returns them. A DLQ
 * past the threshold is one `dlq.growing` until it falls back to the threshold or below.
 */
export const watch = (options: WatchOptions) =>
  Effect.gen(function*() {
    const outbox = yield* NotificationOutbox
    const settings = yield* Settings
    const dlq = yield* DeadLetterQueue
    const now = yield* Clock.currentTimeMillis
    const since = yield* baseline(settings, now)
    const found = yield* outageAndRunEvents(since, options.lookBack ?? 20)

    const byErrorTag = yield* dlq.countByTag
    const entries = Object.values(byErrorTag).reduce((sum, n) => sum + n, 0)
    const dlqEdge = edge(yield* readEdge(settings, dlqStateKey), entries > options.dlqThreshold, "dlq.growing")
    if (dlqEdge.key !== null) {
      found.push({
        key: dlqEdge.key,
        event: { event: "dlq.growing", at: now, entries, threshold: options.dlqThreshold, byErrorTag }
      })
    }
    const stop = Option.filter(yield* readStop(settings), (s) => s.reason !== "Unreadable")
    const stopEdge = edge(yield* readEdge(settings, stopStateKey), Option.isSome(stop), "worker.stopped")
    if (stopEdge.key !== null && Option.isSome(stop)) {
      found.push({
        key: stopEdge.key,
        event: { event: "worker.stopped", at: stop.value.at, reason: stop.value.reason, detail: stop.value.message }
      })
    }

    const known = found.length === 0 ? new Set<string>() : yield* outbox.known(found.map((f) => f.key))
    const fresh = found.filter((f) => !known.has(f.key)).sort((a, b) => a.event.at - b.event.at)
    const recorded: Array<KeyedEvent> = []
    for (const f of fresh) {
      if (yield* outbox.record(f.key, f.event, options.sinks, now)) recorded.push(f)
    }
    // After the event is recorded: a crash in between sees the crossing again, under the same key.
    for (const [key, e] of [[dlqStateKey, dlqEdge], [stopStateKey, stopEdge]] as const) {
      if (e.changed) yield* settings.set(key, Schema.encodeSync(EdgeState)(e.next))
    }
    return recorded
  }).pipe(Effect.withSpan("NotificationWatch.watch"))
