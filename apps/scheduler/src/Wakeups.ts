import type { DeadLetterQueueService } from "@plexsync/domain/DeadLetterQueue"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { OutageHistoryService } from "@plexsync/domain/OutageHistory"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import type { SyncQueueService } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { Database } from "@plexsync/sqlite/Database"
import { externalWrites } from "@plexsync/sqlite/ExternalWrites"
import { Context, Effect, Layer, Option, PubSub, Stream } from "effect"

/**
 * What wakes the scheduler's worker, and automatic outage recovery, the moment a job may have been queued or an
 * outage closed, instead of at a next look: a job this process queued (the hook endpoint, the change feeds,
 * recovery — through the `SyncQueue` this layer wraps, and the DLQ's redrives), an outage this process closed, and a
 * commit by another process to the database (`plexsync hook`, a CLI `enqueue`; see `externalWrites`). Between
 * wake-ups the worker sleeps until the next due job; its idle floor (`schedulerIdleFloorMs`) stays only so that a
 * wake-up lost is a delay, never a lost job.
 */
export class Wakeups extends Context.Tag("@plexsync/scheduler/Wakeups")<Wakeups, {
  readonly notify: Effect.Effect<void>
  readonly stream: Stream.Stream<void>
}>() {}

/** The wake-ups, over the database file's watcher. */
export const layer = (databaseFile: string): Layer.Layer<Wakeups, never, Database> =>
  Layer.scoped(
    Wakeups,
    Effect.gen(function*() {
      const hub = yield* PubSub.sliding<void>(1)
      const notify = Effect.asVoid(PubSub.publish(hub, undefined))
      // One watcher for every listener (the worker, outage recovery).
      yield* Effect.forkScoped(Stream.runForEach(externalWrites(databaseFile), () => notify))
      return Wakeups.of({ notify, stream: Stream.fromPubSub(hub) })
    })
  )

/** `tag`'s service from below, with the calls `wrap` gives notifying the wake-ups. */
const signalling = <I, S>(tag: Context.Tag<I, S>, wrap: (service: S, notify: Effect.Effect<void>) => S) =>
  Layer.effect(
    tag,
    Effect.gen(function*() {
      const service = yield* tag
      const wakeups = yield* Wakeups
      return wrap(service, wakeups.notify)
    })
  )

/** The queue, waking the worker after each enqueue, and after jobs were made due early. */
export const signallingQueue: Layer.Layer<SyncQueue, never, SyncQueue | Wakeups> = signalling(
  SyncQueue,
  (queue, notify): SyncQueueService => ({
    ...queue,
    enqueue: (job) => Effect.tap(queue.enqueue(job), () => notify),
    enqueueMany: (jobs) => Effect.tap(queue.enqueueMany(jobs), () => notify),
    makeDue: (options) => Effect.tap(queue.makeDue(options), (changed) => changed > 0 ? notify : Effect.void)
  })
)

/**
 * The outage history, waking the listeners when an outage closes: automatic recovery re-queues its DLQ entries at
 * once instead of at its next look.
 */
export const signallingOutages: Layer.Layer<OutageHistory, never, OutageHistory | Wakeups> = signalling(
  OutageHistory,
  (history, notify): OutageHistoryService => ({
    ...history,
    close: (target, endedAt) =>
      Effect.tap(history.close(target, endedAt), (closed) => Option.isSome(closed) ? notify : Effect.void)
  })
)

/** The DLQ, waking the worker after a redrive (a recovery, `POST /api/v1/dlq/retry`) queued jobs. */
export const signallingDeadLetters: Layer.Layer<DeadLetterQueue, never, DeadLetterQueue | Wakeups> = signalling(
  DeadLetterQueue,
  (dlq, notify): DeadLetterQueueService => ({
    ...dlq,
    redrive: (entries, options) =>
      Effect.tap(
        dlq.redrive(entries, options),
        (outcomes) => outcomes.some((outcome) => outcome._tag === "Recovered") ? notify : Effect.void
      )
  })
)
