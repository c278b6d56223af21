/**
 * Invariant: the wall clock jumping backward or forward (NTP stepping it, a VM resumed with a stale clock) while
 * the worker drains the queue does not wedge the queue — every job still finishes in about the time it would have
 * taken anyway, not when the clock catches up — and produces no negative wait; nothing is lost or dead-lettered.
 * The jumps are one hour each way, applied to the wall clock only (monotonic time and real sleeps go on).
 */
import { assert, describe, it } from "@effect/vitest"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { makeWorker } from "@plexsync/domain/Worker"
import { Deferred, Duration, Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import { full, report, size } from "../lib/Chaos.js"
import { JumpClock } from "../lib/JumpClock.js"
import { enqueueAll, makeWorld, storeSnapshot } from "../lib/World.js"

const SCENES = size(100, 1_000)
const HOUR = 3_600_000
/** Far more than the drain needs at full speed, far less than the jump. */
const DEADLINE_MS = size(20_000, 60_000)

const drainThroughJump = (jumpMs: number) =>
  Effect.gen(function*() {
    const clock = new JumpClock()
    const world = yield* makeWorld({ scenes: SCENES })
    world.plex.faults.inject({ _tag: "Latency", ms: 5 })
    yield* enqueueAll(world)
    const context = yield* Layer.build(world.layer())
    const queue = yield* Effect.provide(SyncQueue, context)
    const worker = yield* makeWorker(world.engine()).pipe(Effect.provide(context))
    const stop = yield* Deferred.make<void>()
    const started = Date.now()
    const running = yield* worker.run({ stop: Deferred.await(stop), graceMs: 5_000 }).pipe(
      Effect.provide(context),
      Effect.withClock(clock),
      Effect.fork
    )
    // Jump once about a third of the jobs are done.
    for (;;) {
      const counts = yield* queue.counts
      if (counts.queued <= (SCENES * 2) / 3) break
      yield* Effect.sleep(Duration.millis(20))
    }
    clock.jump(jumpMs)
    const jumpedAt = Date.now()
    let finished = false
    while (Date.now() - started < DEADLINE_MS) {
      const counts = yield* queue.counts.pipe(Effect.withClock(clock))
      if (counts.queued === 0 && counts.running === 0) {
        finished = true
        break
      }
      yield* Effect.sleep(Duration.millis(100))
    }
    const counts = yield* queue.counts.pipe(Effect.withClock(clock))
    yield* Deferred.succeed(stop, undefined)
    const summary = yield* Fiber.join(running)
    const snapshot = storeSnapshot(world.dbFile, clock.unsafeCurrentTimeMillis())
    report(
      `clock jump ${jumpMs > 0 ? "+" : ""}${jumpMs / HOUR} h: ${
        finished ? `drained ${((Date.now() - jumpedAt) / 1000).toFixed(1)} s after the jump` : "NOT drained"
      }; ${
        summary.synced + summary.unchanged
      } synced, ${summary.retried} retried, ${summary.deadLettered} dead-lettered, ` +
        `${counts.queued} still queued (${counts.due} due)`
    )
    assert.isTrue(
      finished,
      `the queue is wedged after the clock jumped ${jumpMs / HOUR} h: ${counts.queued} jobs still queued, ` +
        `${counts.due} of them due, ${((Date.now() - jumpedAt) / 1000).toFixed(0)} s after the jump`
    )
    assert.strictEqual(snapshot.dead.length, 0, "jobs dead-lettered because the clock jumped")
    for (const id of world.sceneIds) assert.isTrue(snapshot.synced.has(id), `scene ${id} was never synced`)
  }).pipe(Logger.withMinimumLogLevel(LogLevel.Error))

/**
 * Known to fail today: after the clock is set back, jobs queued before the jump are not due until the clock
 * catches up (`available_at <= now`), so the queue waits out the jump. It runs in `pnpm chaos`; the normal test
 * run leaves it out until the store or the engine handles a backward jump (see the note in chaos/README.md).
 */
const backwardWedges = !full
if (backwardWedges) {
  console.warn(
    "chaos: the backward clock jump case is left out of the quick run: it fails today (the queue waits out the " +
      "jump); `pnpm chaos` runs it"
  )
}

describe("chaos: the wall clock jumps", () => {
  it.scopedLive.skipIf(backwardWedges)(
    "one hour backward mid-drain: the queue still drains",
    () => drainThroughJump(-HOUR)
  )
  it.scopedLive("one hour forward mid-drain: the queue still drains", () => drainThroughJump(HOUR))
})
