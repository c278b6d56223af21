/**
 * Invariant: a Plex answering 503 (starting up, or in maintenance) for a while is a Plex that is down: the breaker
 * opens after a few failures and the worker then asks Plex only through its probes (backoff, no storm: the requests
 * Plex receives while it answers 503 stay near the breaker's threshold plus one per probe), no job is dead-lettered
 * or lost, and once Plex answers again the outage closes and the queue drains (the full variant waits for every
 * scene; the quick one checks that every scene is synced or still queued).
 */
import { assert, describe, it } from "@effect/vitest"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { makeWorker } from "@plexsync/domain/Worker"
import { Deferred, Duration, Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import { report, size } from "../lib/Chaos.js"
import {
  assertNothingLost,
  drainedIfFull,
  editsByScene,
  enqueueAll,
  makeWorld,
  untilOutageClosed,
  untilWriting
} from "../lib/World.js"

const SCENES = size(150, 1_000)
const DOWN_MS = size(3_000, 15_000)
const CONCURRENCY = 4
const THRESHOLD = 5
const PROBE_MIN_MS = 200

describe("chaos: Plex answers 503", () => {
  it.scopedLive(`Plex answers 503 for ${DOWN_MS} ms while ${SCENES} jobs drain: no storm, nothing lost`, () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ scenes: SCENES })
      world.plex.faults.inject({ _tag: "Latency", ms: 5 })
      yield* enqueueAll(world)
      const context = yield* Layer.build(world.layer())
      const engine = world.engine({
        concurrency: CONCURRENCY,
        breakerThreshold: THRESHOLD,
        probeMinMs: PROBE_MIN_MS,
        rampFromPerSec: 20,
        rampToPerSec: 40,
        rampOverMs: 5_000
      })
      const worker = yield* makeWorker(engine).pipe(Effect.provide(context))
      const queue = yield* Effect.provide(SyncQueue, context)
      const outages = yield* Effect.provide(OutageHistory, context)

      const stop = yield* Deferred.make<void>()
      const running = yield* worker.run({ stop: Deferred.await(stop), graceMs: 3_000 }).pipe(Effect.fork)
      assert.isTrue(yield* untilWriting(world), "the worker wrote nothing before Plex answered 503")

      const downStart = Date.now()
      world.plex.faults.inject({ _tag: "Maintenance" })
      yield* Effect.sleep(Duration.millis(DOWN_MS))
      const during = yield* queue.counts
      world.plex.faults.clear()
      const downEnd = Date.now()
      assert.isAbove(during.queued + during.running, 0, "the queue drained before Plex recovered; raise SCENES")
      const asked = world.plex.requests.log().filter((r) => r.at >= downStart && r.at < downEnd).length
      // Before the breaker opens: the threshold's failures and what was in flight; after: one request per probe.
      const bound = THRESHOLD + CONCURRENCY + Math.ceil(DOWN_MS / PROBE_MIN_MS) + 5
      assert.isAtMost(asked, bound, `Plex got ${asked} requests while answering 503 (a retry storm)`)
      const recorded = yield* outages.list({ limit: 100, target: "plex" })
      assert.strictEqual(recorded.length, 1, "one outage for the one 503 period")
      assert.isAtLeast(recorded[0]!.startedAt, downStart - 100)

      yield* Effect.provide(untilOutageClosed("plex"), context)
      // Syncing resumes (the recovery ramp paces it).
      const before = editsByScene(world).size
      for (let i = 0; i < 150 && editsByScene(world).size < before + 5; i++) yield* Effect.sleep(Duration.millis(100))
      assert.isAtLeast(editsByScene(world).size, before + 5, "no scene synced after Plex recovered")
      // Jobs that failed before the breaker opened wait out their backoff (PlexServerDown: 30 s and up).
      yield* Effect.provide(drainedIfFull, context)
      yield* Deferred.succeed(stop, undefined)
      const summary = yield* Fiber.join(running)

      const closed = (yield* outages.list({ limit: 1, target: "plex" }))[0]!
      assert.isNotNull(closed.endedAt, "the outage was never closed after Plex recovered")
      assert.isAtLeast(closed.endedAt!, downEnd - 100)
      const snapshot = assertNothingLost(world, "Plex's 503s")
      report(
        `Plex 503s: ${asked} requests in ${DOWN_MS} ms of 503s (bound ${bound}); outage of ${
          ((closed.endedAt! - closed.startedAt) / 1000).toFixed(1)
        } s; ${SCENES - snapshot.jobs.length} synced, ${snapshot.jobs.length} still queued, ${summary.held} holds, ` +
          `0 dead-lettered`
      )
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)))
})
