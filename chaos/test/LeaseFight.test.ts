/**
 * Invariant: two schedulers on one database, the lease holder frozen (SIGSTOP) past its lease and then thawed
 * (SIGCONT): the other takes the lease over and syncs; the thawed one finds its lease taken and stops claiming —
 * two workers never sync at once. Every scene ends synced once (twice only for a job the frozen worker had in
 * flight, whose lease ran out while it was frozen), none in the DLQ.
 *
 * Premise checked: the frozen scheduler held the lease and was syncing; the other one synced while it was frozen;
 * the thawed one said it lost the lease.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { full, report, size } from "../lib/Chaos.js"
import type { RunningScheduler } from "../lib/Scheduler.js"
import { sleep, startScheduler, until } from "../lib/Scheduler.js"
import { editsByScene, enqueueAll, makeWorld, storeSnapshot } from "../lib/World.js"

const SCENES = size(300, 800)
const ROUNDS = size(1, 3)

describe("chaos: two workers fight for the lease after SIGSTOP", () => {
  it.scopedLive.skipIf(!full)(
    `${ROUNDS} SIGSTOP/SIGCONT of the lease holder over ${SCENES} jobs`,
    () =>
      Effect.gen(function*() {
        const world = yield* makeWorld({ scenes: SCENES })
        world.plex.faults.inject({ _tag: "Latency", ms: 10 })
        yield* enqueueAll(world)
        const env = world.env({ PLEXSYNC_LEASE: "3s", PLEXSYNC_POLL_INTERVAL: "1h", PLEXSYNC_CONCURRENCY: "4" })
        const a = yield* Effect.promise(() => startScheduler(env))
        yield* Effect.addFinalizer(() => Effect.promise(() => a.child.kill9()))
        yield* Effect.promise(() => a.child.waitFor(/holding the worker lease/, 60_000))
        const b = yield* Effect.promise(() => startScheduler(env))
        yield* Effect.addFinalizer(() => Effect.promise(() => b.child.kill9()))
        yield* Effect.promise(() => b.child.waitFor(/holds the worker lease; this scheduler waits/, 60_000))

        const leasedAtStop = new Set<string>()
        let holder: RunningScheduler = a
        let other: RunningScheduler = b
        for (let round = 0; round < ROUNDS; round++) {
          const edits = () => world.plex.ledger.entries().length
          const before = edits()
          yield* Effect.promise(() => until(() => edits() > before + 20, 120_000))
          assert.isAbove(edits(), before, "the holder was not syncing")
          const takeovers = (other.child.stderr().match(/holding the worker lease/g) ?? []).length
          holder.child.proc.kill("SIGSTOP")
          for (const scene of storeSnapshot(world.dbFile).leased) leasedAtStop.add(scene)
          const frozenAt = edits()
          // Frozen past its lease: the other one takes over and syncs.
          yield* Effect.promise(() =>
            until(() => (other.child.stderr().match(/holding the worker lease/g) ?? []).length > takeovers, 60_000)
          )
          yield* Effect.promise(() => until(() => edits() > frozenAt + 10, 60_000))
          assert.isAbove(edits(), frozenAt, "nobody synced while the holder was frozen")
          const lostBefore = (holder.child.stderr().match(/took the worker lease/g) ?? []).length
          holder.child.proc.kill("SIGCONT")
          const said = yield* Effect.promise(() =>
            until(() => (holder.child.stderr().match(/took the worker lease/g) ?? []).length > lostBefore, 30_000)
          )
          assert.isTrue(said, `the thawed scheduler did not notice: ${holder.child.stderr().slice(-2_000)}`)
          yield* Effect.promise(() => sleep(1_000))
          ;[holder, other] = [other, holder]
        }

        const drained = yield* Effect.promise(() => until(() => storeSnapshot(world.dbFile).jobs.length === 0, 600_000))
        const left = storeSnapshot(world.dbFile).jobs
        assert.isTrue(
          drained,
          `the queue did not drain: ${left.length} left, ${
            left.filter((j) => j.state === "running").length
          } running; ` +
            `A: ${a.child.stderr().slice(-1_000)}\nB: ${b.child.stderr().slice(-1_000)}`
        )
        const end = storeSnapshot(world.dbFile)
        assert.deepStrictEqual(end.dead, [])
        const edits = editsByScene(world)
        const twice: Array<string> = []
        for (const id of world.sceneIds) {
          assert.isTrue(end.synced.has(id), `scene ${id} is not synced`)
          if ((edits.get(id) ?? 0) > 1) {
            twice.push(id)
            assert.isTrue(
              leasedAtStop.has(id),
              `scene ${id} was written ${edits.get(id)} times, not in flight at a stop`
            )
          }
        }
        report(
          `lease fight: ${ROUNDS} SIGSTOP/SIGCONT rounds over ${SCENES} jobs; each time the other scheduler took over ` +
            `and the thawed one stopped; ${end.synced.size} synced, 0 in the DLQ, ${twice.length} written twice ` +
            `(of ${leasedAtStop.size} in flight at a stop)`
        )
      }),
    30 * 60_000
  )
})
