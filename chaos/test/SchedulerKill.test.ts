/**
 * Invariant: the scheduler killed with SIGKILL, and later stopped with SIGTERM, while it works through a large
 * queue loses nothing: every scene ends synced, none in the DLQ, none left queued or leased; a scene is written to
 * Plex twice only if its job ran under a live lease at the SIGKILL; after SIGTERM no job stays leased (in-flight
 * jobs finished or were released). The scheduler started after the SIGKILL takes the dead one's lease over at
 * once.
 *
 * Premise checked: each signal reached a scheduler that was syncing with jobs still queued; the SIGKILL ended the
 * process by that signal, the SIGTERM by a clean exit 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { full, report, size } from "../lib/Chaos.js"
import type { RunningScheduler } from "../lib/Scheduler.js"
import { startScheduler, until } from "../lib/Scheduler.js"
import { editsByScene, enqueueAll, makeWorld, storeSnapshot } from "../lib/World.js"

const SCENES = size(300, 1_500)

describe("chaos: the scheduler killed under load", () => {
  it.scopedLive.skipIf(!full)(
    `SIGKILL, then SIGTERM, of the scheduler over ${SCENES} jobs: nothing lost`,
    () =>
      Effect.gen(function*() {
        const world = yield* makeWorld({ scenes: SCENES })
        world.plex.faults.inject({ _tag: "Latency", ms: 5 })
        yield* enqueueAll(world)
        // A lease far longer than a start-up: the next scheduler can begin at once only by taking the dead one's over.
        const env = world.env({ PLEXSYNC_LEASE: "60s", PLEXSYNC_POLL_INTERVAL: "1h", PLEXSYNC_CONCURRENCY: "4" })
        const started: Array<RunningScheduler> = []
        yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all(started.map((s) => s.child.kill9()))))
        const start = Effect.promise(async () => {
          const scheduler = await startScheduler(env)
          started.push(scheduler)
          return scheduler
        })
        const editedScenes = () => editsByScene(world).size
        const reach = (share: number, scheduler: RunningScheduler) =>
          Effect.promise(() =>
            until(
              () => editedScenes() >= SCENES * share || scheduler.child.proc.exitCode !== null,
              600_000,
              50
            )
          )

        // SIGKILL mid-drain.
        const first = yield* start
        yield* reach(0.2, first)
        assert.isNull(first.child.proc.exitCode, first.child.stderr().slice(-2_000))
        const killedAt = Date.now()
        first.child.proc.kill("SIGKILL")
        const killed = yield* Effect.promise(() => first.child.exited)
        assert.strictEqual(killed.signal, "SIGKILL")
        const atKill = storeSnapshot(world.dbFile, killedAt)
        assert.isAbove(atKill.jobs.length, 0, "the queue was empty at the SIGKILL")

        // A new scheduler takes the dead one's lease over at once, then gets SIGTERM mid-drain.
        const second = yield* start
        yield* Effect.promise(() => second.child.waitFor(/took the worker lease over from plexsync-scheduler/, 60_000))
        yield* reach(0.6, second)
        const queuedAtTerm = storeSnapshot(world.dbFile).jobs.length
        assert.isAbove(queuedAtTerm, 0, "the queue was empty at the SIGTERM")
        second.child.proc.kill("SIGTERM")
        const stopped = yield* Effect.promise(() => second.child.exited)
        assert.strictEqual(stopped.code, 0, second.child.stderr().slice(-2_000))
        const afterTerm = storeSnapshot(world.dbFile)
        assert.deepStrictEqual(
          afterTerm.jobs.filter((j) => j.state === "running"),
          [],
          "jobs left leased after a clean shutdown"
        )

        // A third drains the rest.
        const third = yield* start
        const drained = yield* Effect.promise(() =>
          until(() => storeSnapshot(world.dbFile).jobs.length === 0 || third.child.proc.exitCode !== null, 600_000, 200)
        )
        assert.isTrue(drained, "the queue did not drain")
        third.child.proc.kill("SIGTERM")
        assert.strictEqual((yield* Effect.promise(() => third.child.exited)).code, 0)

        const end = storeSnapshot(world.dbFile)
        assert.deepStrictEqual(end.jobs, [])
        assert.deepStrictEqual(end.dead, [])
        const edits = editsByScene(world)
        const twice: Array<string> = []
        for (const id of world.sceneIds) {
          assert.isTrue(end.synced.has(id), `scene ${id} is not synced`)
          assert.isAtLeast(edits.get(id) ?? 0, 1, `scene ${id} synced without an edit`)
          if ((edits.get(id) ?? 0) > 1) {
            twice.push(id)
            assert.isTrue(atKill.leased.has(id), `scene ${id} was written ${edits.get(id)} times without a kill`)
          }
        }
        report(
          `scheduler kill: SIGKILL with ${atKill.jobs.length} jobs left (${atKill.leased.size} leased), lease taken ` +
            `over at once; SIGTERM with ${queuedAtTerm} left, exit 0, none leased after; ${end.synced.size} synced, ` +
            `0 in the DLQ, ${twice.length} written twice (all leased at the SIGKILL)`
        )
      }),
    30 * 60_000
  )
})
