import type { SyncQueueService } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Database } from "@plexsync/sqlite/Database"
import { externalWrites } from "@plexsync/sqlite/ExternalWrites"
import { Context, Effect, Layer, PubSub, Stream } from "effect"

/**
 * What wakes the scheduler's worker the moment a job may have been queued, instead of at its next idle poll: a
 * job this process queued (the hook endpoint, the change feeds, recovery — through the `SyncQueue` this layer
 * wraps), and a commit by another process to the database (`plexsync hook`, a CLI `enqueue`; see
 * `externalWrites`). The idle poll stays as the floor: a wake-up lost is a second's delay, never a lost job.
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
      const db = yield* Database
      const local = yield* PubSub.sliding<void>(1)
      return Wakeups.of({
        notify: Effect.asVoid(PubSub.publish(local, undefined)),
        stream: Stream.merge(
          Stream.fromPubSub(local),
          externalWrites(databaseFile).pipe(Stream.provideService(Database, db))
        )
      })
    })
  )

/** The queue, waking the worker after each enqueue that queued something. */
export const signallingQueue: Layer.Layer<SyncQueue, never, SyncQueue | Wakeups> = Layer.effect(
  SyncQueue,
  Effect.gen(function*() {
    const queue = yield* SyncQueue
    const wakeups = yield* Wakeups
    return SyncQueue.of(
      {
        ...queue,
        enqueue: (job) => Effect.tap(queue.enqueue(job), () => wakeups.notify),
        enqueueMany: (jobs) => Effect.tap(queue.enqueueMany(jobs), () => wakeups.notify)
      } satisfies SyncQueueService
    )
  })
)
