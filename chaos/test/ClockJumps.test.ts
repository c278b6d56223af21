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
import { report, size } from "../lib/Chaos.js"
import { JumpClock } from "../lib/JumpClock.js"
import { enqueueAll, makeWorld, storeSnapshot } from "../lib/World.js"

const SCENES = size(60, 1_000)
const HOUR = 3_600_000
/**
 * "Wedged" is measured against the run's own pace: the last two thirds may take four times what the first third
 * took, twice over (and at least 10 s) — far more than a shared machine's drift, far less than the jump.
 */
const SLACK = 4

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
    const deadline = jumpedAt + Math.max(10_000, SLACK * 2 * (jumpedAt - started))
    let finished = false
    while (Date.now() < deadline) {
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
        `${counts.queued} still queued (${counts.due} due), ${counts.running} running under a live lease`
    )
    assert.isTrue(
      finished,
      `the queue is wedged after the clock jumped ${jumpMs / HOUR} h: ${counts.queued} jobs still queued, ` +
        `${counts.due} of them due, ${counts.running} running, ${
          ((Date.now() - jumpedAt) / 1000).toFixed(0)
        } s after ` +
        `the jump`
    )
    assert.strictEqual(snapshot.dead.length, 0, "jobs dead-lettered because the clock jumped")
    for (const id of world.sceneIds) assert.isTrue(snapshot.synced.has(id), `scene ${id} was never synced`)
  }).pipe(Logger.withMinimumLogLevel(LogLevel.Error))

describe("chaos: the wall clock jumps", () => {
  it.scopedLive("one hour backward mid-drain: the queue still drains", () => drainThroughJump(-HOUR))
  it.scopedLive("one hour forward mid-drain: the queue still drains", () => drainThroughJump(HOUR))
})
