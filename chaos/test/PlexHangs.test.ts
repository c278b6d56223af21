/**
 * Invariant: a Plex that accepts connections and never answers (a hung server, a dead NAS behind a live port) costs
 * each request no more than the client's timeout, as a typed PlexTemporaryError (ETIMEDOUT); the failures open
 * Plex's breaker (an outage is recorded while it hangs) so jobs are held rather than spending attempts; nothing is
 * stuck: the worker stops within its grace when asked, no job is left leased, none is dead-lettered, and once Plex
 * answers again the queue drains (the full variant waits for every scene; the quick one checks none was lost).
 */
import { assert, describe, it } from "@effect/vitest"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { PlexClient } from "@plexsync/domain/PlexClient"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { makeWorker } from "@plexsync/domain/Worker"
import { Deferred, Duration, Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import { report, size } from "../lib/Chaos.js"
import {
  assertNothingLost,
  drainedIfFull,
  enqueueAll,
  makeWorld,
  untilOutageClosed,
  untilWriting
} from "../lib/World.js"

const SCENES = size(150, 1_000)
const HANG_MS = size(3_000, 10_000)
const TIMEOUT_MS = 800
const GRACE_MS = 3_000

describe("chaos: Plex hangs", () => {
  it.scopedLive(`Plex hangs for ${HANG_MS} ms while ${SCENES} jobs drain: typed timeouts, breaker open, nothing stuck`, () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ scenes: SCENES })
      world.plex.faults.inject({ _tag: "Latency", ms: 5 })
      yield* enqueueAll(world)
      const context = yield* Layer.build(world.layer({ plexTimeoutMs: TIMEOUT_MS }))
      const worker = yield* makeWorker(world.engine({ rampFromPerSec: 20, rampToPerSec: 40, rampOverMs: 5_000 })).pipe(
        Effect.provide(context)
      )
      const queue = yield* Effect.provide(SyncQueue, context)
      const outages = yield* Effect.provide(OutageHistory, context)
      const plex = yield* Effect.provide(PlexClient, context)

      const stop = yield* Deferred.make<void>()
      const running = yield* worker.run({ stop: Deferred.await(stop), graceMs: GRACE_MS }).pipe(Effect.fork)
      // Plex hangs mid-run: once the worker is writing (its section list loaded; a hang at that first request only
      // delays the breaker, each job waiting its turn for the shared request).
      assert.isTrue(yield* untilWriting(world), "the worker wrote nothing before Plex hung")

      // Plex hangs: every request from now on is accepted and never answered.
      const hangStart = Date.now()
      world.plex.faults.inject({ _tag: "Stall" })
      const asked = Date.now()
      const error = yield* Effect.flip(plex.sections)
      const waited = Date.now() - asked
      assert.strictEqual(error._tag, "PlexTemporaryError", error.message)
      assert.strictEqual(error.code, "ETIMEDOUT")
      assert.isBelow(waited, TIMEOUT_MS + 1_500, "a hung request outlived the client's timeout")
      yield* Effect.sleep(Duration.millis(HANG_MS))
      const during = yield* queue.counts
      assert.isAbove(during.queued + during.running, 0, "the queue drained before Plex hung; raise SCENES")
      const recorded = yield* outages.list({ limit: 100, target: "plex" })
      assert.isAtLeast(recorded.length, 1, "the breaker never opened while Plex hung")
      assert.isAtLeast(recorded[0]!.startedAt, hangStart - 100)
      world.plex.faults.clear()
      const hangEnd = Date.now()
      // A probe finds Plex answering and closes the outage (probes every 0.2–1 s here).
      yield* Effect.provide(untilOutageClosed("plex"), context)

      yield* Effect.provide(drainedIfFull, context)
      // Nothing stuck: the worker stops within its grace although requests hung a moment ago.
      const stopping = Date.now()
      yield* Deferred.succeed(stop, undefined)
      const summary = yield* Fiber.join(running)
      assert.isBelow(Date.now() - stopping, GRACE_MS + 2_000, "the worker did not stop within its grace")

      const snapshot = assertNothingLost(world, "Plex hanging")
      const after = (yield* outages.list({ limit: 100, target: "plex" }))[0]!
      assert.isNotNull(after.endedAt, "the outage was never closed after Plex answered again")
      assert.isAtLeast(after.endedAt!, hangEnd - 100)
      report(
        `Plex hangs: a request gave up after ${waited} ms (timeout ${TIMEOUT_MS} ms); ${recorded.length} outage(s) ` +
          `recorded; ${SCENES - snapshot.jobs.length} synced, ${snapshot.jobs.length} still queued, ` +
          `${summary.held} holds, 0 dead-lettered`
      )
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)))
})
