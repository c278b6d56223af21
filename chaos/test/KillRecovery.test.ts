/**
 * Invariant: `plexsync recover` killed with SIGKILL at each step of a DLQ recovery — before its first page, while
 * a page waits on Stash (the scene-exists gate), right after a page's transaction — and then run again to the end,
 * leaves the same final state as one clean run on a copy of the same database: the same entries marked recovered,
 * each pointing at a job for its own scene, the same set of queued jobs, one per scene, nothing duplicated.
 * The quick variant kills once, right after the first page's transaction; the full one at every step of every page.
 */
import { assert, describe, it } from "@effect/vitest"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { OutageId } from "@plexsync/domain/Ids"
import { SceneId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { full, openRaw, report, size, startChild, tsxArgs } from "../lib/Chaos.js"
import { makeWorld } from "../lib/World.js"

const SCENES = size(1_200, 10_000)
const PAGE = 1_000
const STASH_LATENCY_MS = 300
const T0 = 1_700_000_000_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** What a recovery leaves behind, in comparable form. */
const finalState = (dbFile: string) => {
  const db = openRaw(dbFile)
  try {
    const jobs = db.prepare("SELECT id, scene_id, state, attempts, reason FROM jobs").all() as Array<
      { id: number; scene_id: string; state: string; attempts: number; reason: string }
    >
    const recovered = db.prepare(
      "SELECT d.id, d.scene_id, j.scene_id AS job_scene FROM dead_letters d LEFT JOIN jobs j ON j.id = d.recovered_job_id " +
        "WHERE d.recovered_at IS NOT NULL ORDER BY d.id"
    ).all() as Array<{ id: number; scene_id: string; job_scene: string | null }>
    const open = db.prepare("SELECT id FROM dead_letters WHERE recovered_at IS NULL AND resolved_at IS NULL").all()
      .map((r) => Number(r.id))
    const resolved = Object.fromEntries(
      (db.prepare(
        "SELECT resolution, count(*) AS n FROM dead_letters WHERE resolved_at IS NOT NULL GROUP BY resolution"
      )
        .all() as Array<{ resolution: string; n: number }>).map((r) => [r.resolution, r.n])
    )
    return { jobs, recovered, open, resolved }
  } finally {
    db.close()
  }
}

/** The audit rows of the recovery runs, oldest first. */
const auditRows = (dbFile: string) => {
  const db = openRaw(dbFile)
  try {
    return db.prepare("SELECT id, finished_at FROM recovery_runs ORDER BY id").all() as Array<
      { id: number; finished_at: number | null }
    >
  } finally {
    db.close()
  }
}

describe("chaos: kill -9 during a DLQ recovery", () => {
  it.scopedLive("killed at each step, then rerun: the same final state as one clean run", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ scenes: SCENES })
      // The DLQ: one entry per scene failed during a closed Plex outage, plus entries whose scene is gone from
      // Stash (gate 3), a second entry for some scenes (dedup), and some scenes already queued again (gate 2).
      const missing = Math.floor(SCENES / 20)
      // Scenes queued before the recovery: every 20th from the 6th (none of them has a second entry).
      const queuedBefore = Math.ceil((SCENES - 5) / 20)
      yield* Effect.gen(function*() {
        const outages = yield* OutageHistory
        const dlq = yield* DeadLetterQueue
        const queue = yield* SyncQueue
        const outage = yield* outages.open("plex", { startedAt: T0, cause: "connect ECONNREFUSED" })
        yield* outages.close("plex", T0 + 3_600_000)
        const entry = (scene: string, i: number) =>
          dlq.add({
            sceneId: SceneId.make(scene),
            errorTag: "PlexServerDown",
            message: "Plex refused the connection",
            detail: { _tag: "PlexServerDown", message: "Plex refused the connection", code: "ECONNREFUSED" },
            attempts: 10,
            failedAt: T0 + 1_000 + i,
            outageId: outage.id as OutageId,
            payload: { sceneId: SceneId.make(scene), reason: "hook" }
          })
        let i = 0
        for (const id of world.sceneIds) yield* entry(id, i++)
        for (let k = 0; k < missing; k++) yield* entry(String(SCENES + 1_000 + k), i++)
        for (let k = 0; k < SCENES; k += 10) yield* entry(world.sceneIds[k]!, i++)
        for (let k = 5; k < SCENES; k += 20) yield* queue.enqueue({ sceneId: world.sceneIds[k]!, reason: "hook" })
      }).pipe(
        Effect.provide(storeOnFile(world.dbFile)),
        Effect.scoped
      )
      const cleanDir = path.join(world.dir, "clean")
      fs.mkdirSync(cleanDir)
      fs.copyFileSync(world.dbFile, path.join(cleanDir, "plexsync.db"))

      world.stash.server.faults.latencyMs = STASH_LATENCY_MS
      const recover = (dataDir: string) =>
        startChild(process.execPath, tsxArgs("apps/cli/src/bin.ts", ["recover", "--outage", "1", "--json"]), {
          env: world.env({ PLEXSYNC_DATA_DIR: dataDir })
        })
      const recoveredCount = () => {
        const db = openRaw(world.dbFile)
        try {
          return (db.prepare("SELECT count(*) AS n FROM dead_letters WHERE recovered_at IS NOT NULL").get() as {
            n: number
          }).n
        } catch {
          return 0
        } finally {
          db.close()
        }
      }

      // Kill points: before the first page; then, page by page, while the page waits on Stash and right after
      // the page's transaction.
      const pages = Math.ceil((SCENES + missing + SCENES / 10) / PAGE)
      type KillPoint = { readonly name: string; readonly ready: () => boolean }
      const points: Array<KillPoint> = full ? [{ name: "at start-up", ready: () => true }] : []
      let rowsBefore = 0
      for (let page = 0; page < size(1, pages); page++) {
        const stashBefore = { n: -1 }
        if (full) {
          points.push({
            name: `page ${page + 1} waiting on Stash`,
            ready: () => {
              // Counted from this run's audit row on: the fake records a request once its latency has passed, so a
              // request of the run killed just before may be counted after this run has started.
              if (stashBefore.n < 0) {
                if (auditRows(world.dbFile).length <= rowsBefore) return false
                stashBefore.n = world.stash.requestCount("SceneIdsInRange")
              }
              return world.stash.requestCount("SceneIdsInRange") > stashBefore.n
            }
          })
        }
        points.push({ name: `after page ${page + 1}`, ready: () => recoveredCount() > page * PAGE })
      }
      const log: Array<string> = []
      const kills: Array<{ readonly name: string; readonly recovered: number; readonly auditRows: number }> = []
      for (const point of points) {
        rowsBefore = auditRows(world.dbFile).length
        const child = recover(world.dir)
        if (point.name === "at start-up") yield* Effect.promise(() => sleep(1_500))
        else {
          const ok = yield* Effect.promise(async () => {
            const deadline = Date.now() + 60_000
            while (!point.ready()) {
              if (child.proc.exitCode !== null || Date.now() > deadline) return false
              await sleep(5)
            }
            return true
          })
          if (!ok) {
            const { code } = yield* Effect.promise(() => child.exited)
            log.push(`${point.name}: the run had finished (exit ${code})`)
            continue
          }
        }
        yield* Effect.promise(() => child.kill9())
        const { signal } = yield* Effect.promise(() => child.exited)
        assert.strictEqual(signal, "SIGKILL", `${point.name}: the recovery was not killed by SIGKILL`)
        // A run killed at start-up may not have reached its audit row; any later kill finds it written.
        const added = auditRows(world.dbFile).length - rowsBefore
        if (point.name === "at start-up") assert.isAtMost(added, 1, `${point.name}: ${added} audit rows`)
        else assert.strictEqual(added, 1, `${point.name}: the killed run left ${added} audit rows`)
        kills.push({ name: point.name, recovered: recoveredCount(), auditRows: added })
        log.push(`${point.name}: killed with ${recoveredCount()} entries recovered`)
        yield* Effect.sleep(Duration.millis(50))
      }

      // The premise: the recovery was killed mid-run — at least one kill came after some entries were recovered and
      // before all of them were — and each kill left the audit row of its run unfinished.
      const expectedRecovered = SCENES - queuedBefore
      assert.isAbove(kills.length, 0, "no kill landed: every run had finished first")
      assert.isTrue(
        kills.some((k) => k.recovered > 0 && k.recovered < expectedRecovered),
        `no kill landed mid-run: ${log.join("; ")}`
      )
      const runsAfterKills = auditRows(world.dbFile)
      assert.strictEqual(
        runsAfterKills.filter((r) => r.finished_at === null).length,
        kills.reduce((n, k) => n + k.auditRows, 0),
        "each killed recovery leaves its audit row unfinished"
      )

      // Rerun to the end, and one clean run on the copy.
      world.stash.server.faults.latencyMs = 0
      const recoveredBeforeRerun = recoveredCount()
      const reruns: Array<{ readonly recovered: number }> = []
      for (const dir of [world.dir, cleanDir]) {
        const child = recover(dir)
        const { code } = yield* Effect.promise(() => child.exited)
        assert.strictEqual(code, 0, `plexsync recover exited ${code}: ${child.stderr().slice(-2_000)}`)
        assert.notMatch(child.stderr(), /^\s+at /m, "a stack trace was printed")
        reruns.push(JSON.parse(child.stdout()) as { recovered: number })
      }
      // The rerun did the rest, and only the rest: what the killed runs recovered is not recovered again.
      assert.strictEqual(reruns[0]!.recovered, expectedRecovered - recoveredBeforeRerun)
      assert.strictEqual(reruns[1]!.recovered, expectedRecovered)

      const killed = finalState(world.dbFile)
      const clean = finalState(path.join(cleanDir, "plexsync.db"))
      const scenesOf = (jobs: ReadonlyArray<{ scene_id: string }>) => jobs.map((j) => j.scene_id).sort()
      assert.deepStrictEqual(scenesOf(killed.jobs), scenesOf(clean.jobs), "the queued jobs differ from a clean run")
      assert.strictEqual(new Set(scenesOf(killed.jobs)).size, killed.jobs.length, "a scene was queued twice")
      assert.deepStrictEqual(
        killed.recovered.map((r) => r.id),
        clean.recovered.map((r) => r.id),
        "the entries marked recovered differ from a clean run"
      )
      for (const r of killed.recovered) {
        assert.strictEqual(r.job_scene, r.scene_id, `entry ${r.id} points at a job for another scene, or at none`)
      }
      assert.isTrue(killed.jobs.every((j) => j.state === "queued" && j.attempts === 0))
      // Not only equal to the clean run: the state a recovery must reach. Every scene of the library has one job
      // (re-queued from the DLQ, or queued before), every entry of a scene queued before was superseded, every entry
      // of a scene gone from Stash resolved as deleted: nothing is left open in the DLQ.
      assert.deepStrictEqual(scenesOf(killed.jobs), [...world.sceneIds].sort())
      assert.strictEqual(killed.recovered.length, expectedRecovered)
      assert.strictEqual(killed.jobs.filter((j) => j.reason === "recovery").length, expectedRecovered)
      assert.deepStrictEqual(killed.open, [], "DLQ entries left open after the recovery")
      assert.strictEqual(killed.resolved["scene-deleted"], missing)
      assert.strictEqual(killed.resolved["superseded"], SCENES / 10 + queuedBefore)
      const finalRuns = auditRows(world.dbFile)
      assert.strictEqual(
        finalRuns.filter((r) => r.finished_at === null).length,
        kills.reduce((n, k) => n + k.auditRows, 0),
        "the killed runs' audit rows, and only those, are unfinished"
      )
      assert.isNotNull(finalRuns.at(-1)!.finished_at, "the last run finished its audit row")
      report(
        `kill -9 during recovery: ${log.length} kill points (${log.join("; ")}); final state equals a clean run: ` +
          `${killed.recovered.length} entries recovered, ${killed.jobs.length} jobs queued`
      )
    }))
})
