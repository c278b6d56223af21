/**
 * Invariant: Stash going down and up repeatedly while the worker drains the queue loses no job and dead-letters
 * none; Stash's breaker opens during the down periods (each recorded outage starts in one and is closed after it)
 * and holds the jobs, so Stash is not hammered (no retry storm: its requests stay within two per scene plus one
 * per probe); every scene is synced at the end. Full variant only: the quick variant covers the same flapping
 * shape with Plex (`PlexFlapping`), and these cycles take tens of seconds.
 */
import { assert, describe, it } from "@effect/vitest"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { makeWorker } from "@plexsync/domain/Worker"
import { Deferred, Duration, Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import { full, report } from "../lib/Chaos.js"
import {
  assertNothingLost,
  drainedIfFull,
  enqueueAll,
  makeWorld,
  untilOutageClosed,
  untilWriting
} from "../lib/World.js"

const SCENES = 1_000
const CYCLES = 6
const DOWN_MS = 2_000
const UP_MS = 3_000
const PROBE_MIN_MS = 200
const TOLERANCE_MS = 500

describe.skipIf(!full)("chaos: Stash flapping", () => {
  it.scopedLive(`${CYCLES} Stash outages of ${DOWN_MS} ms while ${SCENES} jobs drain: nothing lost, no storm`, () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ scenes: SCENES })
      world.plex.faults.inject({ _tag: "Latency", ms: 8 })
      yield* enqueueAll(world)
      const context = yield* Layer.build(world.layer())
      const worker = yield* makeWorker(world.engine({
        probeMinMs: PROBE_MIN_MS,
        rampFromPerSec: 20,
        rampToPerSec: 60,
        rampOverMs: 5_000
      })).pipe(Effect.provide(context))
      const queue = yield* Effect.provide(SyncQueue, context)
      const outages = yield* Effect.provide(OutageHistory, context)
      const started = Date.now()

      const stop = yield* Deferred.make<void>()
      const running = yield* worker.run({ stop: Deferred.await(stop), graceMs: 5_000 }).pipe(Effect.fork)
      assert.isTrue(yield* untilWriting(world), "the worker wrote nothing before Stash flapped")

      const downs: Array<{ start: number; end: number }> = []
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const start = Date.now()
        yield* world.stash.stopListening
        yield* Effect.sleep(Duration.millis(DOWN_MS))
        yield* world.stash.resumeListening
        downs.push({ start, end: Date.now() })
        yield* Effect.sleep(Duration.millis(UP_MS))
      }
      const left = yield* queue.counts
      assert.isAbove(left.queued + left.running, 0, "the queue drained before the flapping ended; raise SCENES")
      yield* Effect.provide(untilOutageClosed("stash"), context)
      yield* Effect.provide(drainedIfFull, context)
      yield* Deferred.succeed(stop, undefined)
      const summary = yield* Fiber.join(running)
      const elapsed = Date.now() - started

      const recorded = yield* outages.list({ limit: 1_000, target: "stash" })
      assert.isAtLeast(recorded.length, 1, "Stash's breaker never opened")
      assert.isAtMost(recorded.length, CYCLES, "more Stash outages recorded than there were")
      for (const outage of recorded) {
        const down = downs.find((d) => outage.startedAt >= d.start - TOLERANCE_MS && outage.startedAt <= d.end)
        assert.isDefined(down, `outage ${outage.id} started outside every real outage`)
        assert.isNotNull(outage.endedAt, `outage ${outage.id} was never closed`)
        assert.isAtLeast(outage.endedAt!, down!.end - TOLERANCE_MS, `outage ${outage.id} closed while Stash was down`)
      }
      const requests = world.stash.requests.length
      const bound = 2 * SCENES + Math.ceil(elapsed / PROBE_MIN_MS) + 100
      assert.isAtMost(requests, bound, `Stash got ${requests} requests for ${SCENES} scenes (a retry storm)`)
      assertNothingLost(world, "Stash flapping")
      report(
        `Stash flapping: ${downs.length} real outages, ${recorded.length} recorded; ${requests} Stash requests ` +
          `(bound ${bound}) for ${SCENES} scenes; ${summary.held} holds, 0 dead-lettered, all synced`
      )
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)))
})
