import { assert, describe, it } from "@effect/vitest"
import type { LibraryChange } from "@plexsync/domain/PlexEvents"
import { PlexEvents } from "@plexsync/domain/PlexEvents"
import { makeScanWaits } from "@plexsync/domain/ScanWaits"
import type { SyncQueueService } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as SimPlex from "@plexsync/testing/SimPlex"
import { Effect, Fiber, Option, PubSub, Random, Stream, TestClock } from "effect"
import { advanceUntil, enqueue, plexItemFor, sceneIdOf, worker, world } from "./WorkerWorld.js"

const jobOf = (id: number) =>
  Effect.flatMap(
    SyncQueue,
    (q) => Effect.map(q.list({ limit: 100 }), (jobs) => jobs.find((j) => j.sceneId === sceneIdOf(id)))
  )

/** A worker of the scheduler (`run`) told of library changes through `publish`. */
const runWithEvents = Effect.gen(function*() {
  const hub = yield* PubSub.unbounded<LibraryChange>()
  const w = yield* worker().pipe(
    Effect.provideService(PlexEvents, {
      changes: Stream.fromPubSub(hub),
      scanning: () => Effect.succeed(false),
      status: Effect.succeed({ connected: true, detail: null, lastEventAt: null, connectedSince: 0, reconnects: 0 })
    })
  )
  const fiber = yield* Effect.fork(Effect.withRandom(w.run({ stop: Effect.never }), Random.make("scan")))
  yield* Effect.addFinalizer(() => Fiber.interrupt(fiber))
  const publish = (change: LibraryChange) =>
    Effect.andThen(PubSub.publish(hub, change), Effect.forEach(Array.from({ length: 50 }), () => Effect.yieldNow()))
  return { publish }
})

const ended = (sectionKey: string | null): LibraryChange => ({ _tag: "ScanEnded", sectionKey, activity: "a" })

/** Scene 2's file is not in Plex: its job fails as PlexNotFound and waits out a backoff. */
const waitingForScene2 = Effect.gen(function*() {
  yield* enqueue([1, 2])
  yield* advanceUntil(Effect.map(jobOf(2), (job) => job?.lastErrorTag === "PlexNotFound" && job.state === "queued"), {
    step: "10 millis"
  })
  const job = (yield* jobOf(2))!
  assert.isAbove(job.availableAt, (yield* TestClock.currentTimeMillis) + 1_000, "it waits out a backoff")
  return job
})

describe("jobs waiting for Plex to scan their file", () => {
  it.scoped("become due the moment a scan of their library ends, not after their backoff", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const { publish } = yield* runWithEvents
      const first = yield* waitingForScene2
      // The first change makes every PlexNotFound job due once (it may have failed before this run).
      yield* publish(ended("7"))
      yield* advanceUntil(Effect.map(jobOf(2), (job) => job !== undefined && job.attempts > first.attempts), {
        step: "10 millis"
      })
      const second = (yield* jobOf(2))!
      assert.strictEqual(second.lastErrorTag, "PlexNotFound")
      // From then on, a change in another library leaves it waiting.
      yield* publish(ended("7"))
      yield* publish({ _tag: "ItemAdded", sectionKey: "7", itemId: "9" })
      assert.strictEqual((yield* jobOf(2))!.availableAt, second.availableAt)
      // Plex scanned the file in; the scan of its library ends.
      yield* sim.addItem(plexItemFor(2))
      const at = yield* TestClock.currentTimeMillis
      yield* publish(ended("1"))
      yield* advanceUntil(Effect.map(jobOf(2), (job) => job === undefined), { step: "10 millis" })
      assert.isBelow(yield* TestClock.currentTimeMillis, Math.min(second.availableAt, at + 1_000))
      assert.strictEqual(Option.getOrThrow(yield* sim.item("1002")).title, "Scene 2: a title")
    }).pipe(Effect.provide(world({ scenes: [1, 2], plexItems: [1] }))))

  it.scoped("an item added in their library, or a change in an unnamed library, makes them due too", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const { publish } = yield* runWithEvents
      yield* waitingForScene2
      yield* publish(ended("7"))
      yield* advanceUntil(Effect.map(jobOf(2), (job) => job?.state === "queued" && job.attempts === 2), {
        step: "10 millis"
      })
      yield* publish({ _tag: "ItemAdded", sectionKey: "1", itemId: "1002" })
      yield* advanceUntil(Effect.map(jobOf(2), (job) => job?.state === "queued" && job.attempts === 3), {
        step: "10 millis"
      })
      const waiting = (yield* jobOf(2))!
      yield* sim.addItem(plexItemFor(2))
      yield* publish(ended(null))
      yield* advanceUntil(Effect.map(jobOf(2), (job) => job === undefined), { step: "10 millis" })
      assert.isBelow(yield* TestClock.currentTimeMillis, waiting.availableAt)
    }).pipe(Effect.provide(world({ scenes: [1, 2], plexItems: [1] }))))
})

describe("scans of one library in flight together", () => {
  /** The waits over a queue that only records which scenes were made due. */
  const recorded = () => {
    const due: Array<ReadonlyArray<string> | "all"> = []
    const queue = {
      makeDue: (options: { readonly sceneIds?: ReadonlyArray<string> }) =>
        Effect.sync(() => {
          due.push(options.sceneIds ?? "all")
          return options.sceneIds?.length ?? 0
        })
    } as unknown as SyncQueueService
    return { waits: makeScanWaits(queue), due }
  }
  const started = (activity: string): LibraryChange => ({ _tag: "ScanStarted", sectionKey: "1", activity })
  const endedScan = (activity: string): LibraryChange => ({ _tag: "ScanEnded", sectionKey: "1", activity })

  it.effect("the end of one concerns the jobs begun before it started; the last end concerns every job", () =>
    Effect.gen(function*() {
      const { due, waits } = recorded()
      // A first change makes every PlexNotFound job due once (jobs of earlier runs); then the waits are known.
      yield* waits.changed(endedScan("earlier"))
      due.length = 0
      // Scene 1's run asks for a scan of its folder (x); scene 2's run begins while x is in flight and asks for y.
      const first = waits.mark()
      yield* waits.changed(started("x"))
      yield* waits.waiting(sceneIdOf(1), ["1"], first)
      const second = waits.mark()
      yield* waits.changed(started("y"))
      yield* waits.waiting(sceneIdOf(2), ["1"], second)
      assert.deepStrictEqual(due, [])
      // x ends while y is in flight: scene 2's file cannot have come with x.
      yield* waits.changed(endedScan("x"))
      assert.deepStrictEqual(due, [[sceneIdOf(1)]])
      // An item added during y waits for y's end; y's end concerns every waiting job.
      yield* waits.changed({ _tag: "ItemAdded", sectionKey: "1", itemId: "7" })
      assert.deepStrictEqual(due, [[sceneIdOf(1)]])
      yield* waits.changed(endedScan("y"))
      assert.deepStrictEqual(due, [[sceneIdOf(1)], [sceneIdOf(1), sceneIdOf(2)]])
    }))

  it.effect("a job begun after a scan started, and settled as waiting while it was in flight, waits for a later one", () =>
    Effect.gen(function*() {
      const { due, waits } = recorded()
      yield* waits.changed(endedScan("earlier"))
      due.length = 0
      yield* waits.changed(started("x"))
      const begun = waits.mark()
      yield* waits.changed(started("y"))
      yield* waits.changed(endedScan("x"))
      // Scene 3's run began after x started and settles after x ended: not due for x's end.
      yield* waits.waiting(sceneIdOf(3), ["1"], begun)
      assert.deepStrictEqual(due, [])
      yield* waits.changed(endedScan("y"))
      assert.deepStrictEqual(due, [[sceneIdOf(3)]])
    }))
})
