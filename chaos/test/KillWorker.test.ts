/**
 * Invariant: `plexsync run --wait` killed with SIGKILL at random points while the queue drains, and started again
 * each time, loses nothing — every job ends synced or in the DLQ; a scene is written to Plex more than once only
 * if its job was running under a live lease at one of the kills (the write landed, the completion did not);
 * nothing stays leased; and the final run exits 0 with an empty queue. Its premise is checked too: each kill is a
 * SIGKILL that ended the process while jobs were left, and at least one landed while jobs were running.
 *
 * The worker is the real command line, run from the sources as `pnpm plexsync` runs it, against the fake Stash and
 * the fake Plex in this process; Plex's ledger says what was written.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { report, size, startChild, tsxArgs } from "../lib/Chaos.js"
import type { Child } from "../lib/Chaos.js"
import { editsByScene, enqueueAll, makeWorld, storeSnapshot } from "../lib/World.js"

const SCENES = size(60, 10_000)
const KILLS = size(1, 50)
const LEASE = "3s"
const LEASE_MS = 3_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const until = async (check: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) return false
    await sleep(20)
  }
  return true
}

describe("chaos: kill -9 of the worker", () => {
  it.scopedLive(
    `${KILLS} SIGKILLs of plexsync run --wait over ${SCENES} jobs: nothing lost, duplicates only under a live lease`,
    () =>
      Effect.gen(function*() {
        const world = yield* makeWorld({ scenes: SCENES })
        yield* enqueueAll(world)
        const env = world.env({ PLEXSYNC_LEASE: LEASE, PLEXSYNC_CONCURRENCY: "4" })
        const run = () => startChild(process.execPath, tsxArgs("apps/cli/src/bin.ts", ["run", "--wait"]), { env })
        const leasedAtKill = new Set<string>()
        const refusedRestarts: Array<string> = []
        let kills = 0
        /** Kills that found jobs running under a live lease: the worker died mid-job, not between jobs or idle. */
        let killsMidJob = 0
        let children: Array<Child> = []

        yield* Effect.addFinalizer(() => Effect.promise(() => Promise.all(children.map((c) => c.kill9()))))
        for (let k = 0; k < KILLS; k++) {
          // Progress is read from the fake's request counter (cheap) rather than by copying its ledger.
          const requestsBefore = world.plex.requests.count()
          const child = run()
          children.push(child)
          let exited = false
          void child.exited.then(() => (exited = true))
          // Kill once this incarnation has done a random share of the work (about SCENES / KILLS jobs of at least
          // three Plex requests each — the item's read, the edit, the rating, once matching takes known files from
          // the index — from half to one and a half of that), so the kills spread over the whole drain.
          const share = Math.max(8, Math.round((SCENES / (KILLS + 1)) * 3 * (0.5 + Math.random())))
          const writing = yield* Effect.promise(() =>
            until(() => exited || world.plex.requests.count() >= requestsBefore + share, 600_000)
          )
          if (exited) {
            const { code } = yield* Effect.promise(() => child.exited)
            // The previous incarnation's worker lease has not expired yet: a clean refusal, then try again.
            if (code !== 0 && /holds the worker lease|is processing the queue/.test(child.stdout() + child.stderr())) {
              refusedRestarts.push(child.stderr().trim().split("\n").at(-1) ?? "")
              k--
              yield* Effect.sleep(Duration.millis(500))
              continue
            }
            assert.strictEqual(code, 0, `plexsync run exited ${code}: ${child.stderr().slice(-2_000)}`)
            // Drained before this kill: the case must still have killed the worker at least once, mid-work.
            assert.isAbove(kills, 0, "the worker drained the queue before it could be killed: the case proved nothing")
            break
          }
          assert.isTrue(writing, "the worker did too little within ten minutes")
          yield* Effect.sleep(Duration.millis(Math.floor(Math.random() * 200)))
          const killedAt = Date.now()
          yield* Effect.promise(() => child.kill9())
          // The premise: the process died of this SIGKILL (not of something else, nor had it exited), with work left.
          const { signal } = yield* Effect.promise(() => child.exited)
          assert.strictEqual(signal, "SIGKILL", `kill ${kills + 1}: the worker was not killed by SIGKILL`)
          kills++
          const atKill = storeSnapshot(world.dbFile, killedAt)
          assert.isAbove(atKill.jobs.length, 0, `kill ${kills} came after the queue drained`)
          if (atKill.leased.size > 0) killsMidJob++
          for (const scene of atKill.leased) leasedAtKill.add(scene)
          children = children.filter((c) => c !== child)
          // The dead worker's lease on the database runs out before a new one can start; a restart before that is
          // refused (checked above), so wait most of it out — sometimes less, to see the refusal.
          yield* Effect.sleep(Duration.millis(k % 5 === 4 ? 500 : LEASE_MS))
        }

        // A last run drains what is left; it must finish cleanly.
        let final: Child
        for (;;) {
          final = run()
          children.push(final)
          const { code } = yield* Effect.promise(() => final.exited)
          if (code !== 0 && /holds the worker lease|is processing the queue/.test(final.stdout() + final.stderr())) {
            yield* Effect.sleep(Duration.millis(500))
            continue
          }
          assert.strictEqual(code, 0, `the final plexsync run exited ${code}: ${final.stderr().slice(-2_000)}`)
          break
        }

        assert.isAbove(kills, 0, "no kill happened")
        assert.isAbove(killsMidJob, 0, "no kill landed while a job was running")
        const snapshot = storeSnapshot(world.dbFile)
        assert.deepStrictEqual(snapshot.jobs, [], "jobs left queued or leased after the final run")
        const lettered = new Set(snapshot.dead.map((d) => d.scene_id))
        const edits = editsByScene(world)
        const twice: Array<string> = []
        for (const id of world.sceneIds) {
          assert.isTrue(snapshot.synced.has(id) || lettered.has(id), `scene ${id} is neither synced nor in the DLQ`)
          if (snapshot.synced.has(id)) assert.isAtLeast(edits.get(id) ?? 0, 1, `scene ${id} synced without an edit`)
          if ((edits.get(id) ?? 0) > 1) {
            twice.push(id)
            assert.isTrue(
              leasedAtKill.has(id),
              `scene ${id} was written ${edits.get(id)} times without a kill under its lease`
            )
          }
        }
        report(
          `kill -9: ${kills} kills over ${SCENES} jobs (${killsMidJob} with jobs running), ${refusedRestarts.length} ` +
            `restarts refused while the dead ` +
            `worker's lease ran out; ${snapshot.synced.size} synced, ${lettered.size} in the DLQ; ${twice.length} scenes ` +
            `written twice, all ${
              leasedAtKill.size > 0 ? "among the " + leasedAtKill.size : "with"
            } leases live at a kill`
        )
      }),
    size(60_000, 90 * 60_000)
  )
})
