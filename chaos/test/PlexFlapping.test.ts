/**
 * Invariant: Plex going down and up every few seconds while the worker drains the queue gives one outage in the
 * history per real outage (each recorded outage starts during one real down period and ends after Plex came
 * back, before it went down again), loses no job, dead-letters none (being unreachable is not a reason to give
 * up), and every scene is synced at the end. The quick variant stops the worker once the flapping is over and
 * checks that every scene is synced or still queued (the rest wait out a retry backoff of up to ~30 s).
 */
import { assert, describe, it } from "@effect/vitest"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { makeWorker } from "@plexsync/domain/Worker"
import { Deferred, Duration, Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import { full, report, size } from "../lib/Chaos.js"
import { editsByScene, enqueueAll, makeWorld, storeSnapshot } from "../lib/World.js"

const SCENES = size(300, 2_000)
const CYCLES = size(2, 10)
const DOWN_MS = size(900, 3_000)
const UP_MS = size(2_500, 3_000)
const TOLERANCE_MS = 500

describe("chaos: Plex flapping", () => {
  it.scopedLive(
    `${CYCLES} outages of ${DOWN_MS} ms while ${SCENES} jobs drain: one outage each, nothing lost, all synced`,
    () =>
      Effect.gen(function*() {
        const world = yield* makeWorld({ scenes: SCENES })
        // Every Plex request takes a little time, so the queue outlasts the flapping.
        world.plex.faults.inject({ _tag: "Latency", ms: 8 })
        yield* enqueueAll(world)
        const context = yield* Layer.build(world.layer())
        const worker = yield* makeWorker(world.engine({
          rampFromPerSec: 20,
          rampToPerSec: 60,
          rampOverMs: 5_000
        })).pipe(Effect.provide(context))
        const queue = yield* Effect.provide(SyncQueue, context)
        const outages = yield* Effect.provide(OutageHistory, context)

        const stop = yield* Deferred.make<void>()
        const running = yield* worker.run({ stop: Deferred.await(stop), graceMs: 5_000 }).pipe(Effect.fork)

        const downs: Array<{ start: number; end: number; queuedAtEnd: number }> = []
        yield* Effect.sleep(Duration.millis(400))
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          const start = Date.now()
          yield* world.plex.faults.refuseConnections
          yield* Effect.sleep(Duration.millis(DOWN_MS))
          yield* world.plex.faults.acceptConnections
          const end = Date.now()
          const counts = yield* queue.counts
          downs.push({ start, end, queuedAtEnd: counts.queued + counts.running })
          yield* Effect.sleep(Duration.millis(UP_MS))
        }
        // Every real outage happened while there was work: otherwise the worker had no reason to see it.
        assert.isAbove(downs.at(-1)!.queuedAtEnd, 0, "the queue drained before the flapping ended; raise SCENES")

        // Let the rest drain (jobs that failed before the breaker opened wait out their backoff, up to ~30 s),
        // then stop the worker. The quick variant stops right away and checks that nothing was lost.
        while (full) {
          const counts = yield* queue.counts
          if (counts.queued === 0 && counts.running === 0) break
          yield* Effect.sleep(Duration.millis(200))
        }
        yield* Deferred.succeed(stop, undefined)
        const summary = yield* Fiber.join(running)

        const recorded = [...(yield* outages.list({ limit: 1_000, target: "plex" }))]
          .sort((a, b) => a.startedAt - b.startedAt)
        const matched = recorded.map((o) => {
          const i = downs.findIndex((d) => o.startedAt >= d.start - TOLERANCE_MS && o.startedAt <= d.end + TOLERANCE_MS)
          return { outage: o, down: i }
        })
        for (const { down, outage } of matched) {
          assert.isAtLeast(down, 0, `outage ${outage.id} at ${outage.startedAt} started outside every real outage`)
          assert.isNotNull(outage.endedAt, `outage ${outage.id} was never closed`)
          const d = downs[down]!
          assert.isAtLeast(outage.endedAt!, d.end - TOLERANCE_MS, `outage ${outage.id} closed while Plex was down`)
          const next = downs[down + 1]
          if (next !== undefined) {
            assert.isBelow(outage.endedAt!, next.start + TOLERANCE_MS, `outage ${outage.id} ran into the next one`)
          }
        }
        const perDown = downs.map((_, i) => matched.filter((m) => m.down === i).length)
        assert.deepStrictEqual(perDown, downs.map(() => 1), "one recorded outage per real outage")

        const snapshot = storeSnapshot(world.dbFile)
        assert.strictEqual(snapshot.dead.length, 0, "jobs dead-lettered for Plex being unreachable")
        const edits = editsByScene(world)
        const queued = new Set(snapshot.jobs.map((j) => j.scene_id))
        for (const id of world.sceneIds) {
          if (full || !queued.has(id)) {
            assert.isTrue(snapshot.synced.has(id), `scene ${id} was never synced`)
            assert.isAtLeast(edits.get(id) ?? 0, 1, `scene ${id}: no edit reached Plex`)
          }
        }
        // The worker stopped cleanly: nothing left leased.
        assert.isTrue(snapshot.jobs.every((j) => j.state === "queued"), "a job was left leased")
        if (full) assert.strictEqual(snapshot.jobs.length, 0, "jobs left in the queue")
        assert.strictEqual(summary.deadLettered, 0)
        report(
          `Plex flapping: ${downs.length} real outages, ${recorded.length} recorded (${
            recorded.map((o) => `${((o.endedAt! - o.startedAt) / 1000).toFixed(1)} s`).join(", ")
          }); ${
            SCENES - snapshot.jobs.length
          } scenes synced, ${snapshot.jobs.length} still queued, ${summary.held} holds, ` +
            `0 dead-lettered`
        )
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Error))
  )
})
