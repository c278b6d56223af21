/**
 * Invariant: several `plexsync hook` processes started together on a fresh data directory (Stash saving many
 * scenes just after the plugin was installed) all record their scene: one creates and migrates the database, the
 * others wait for it — none answers `no such table` or loses its scene.
 *
 * Premise checked: no database exists before, and every process is running (its stdin still open) when they are
 * all let go at once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Child } from "../lib/Chaos.js"
import { openRaw, report, size, startChild, tempDir, tsxArgs } from "../lib/Chaos.js"
import { sleep } from "../lib/Scheduler.js"

const PROCESSES = size(4, 10)
const ROUNDS = size(1, 10)

const sceneHook = (id: number) =>
  JSON.stringify({
    server_connection: {},
    args: { hookContext: { type: "Scene.Update.Post", id, input: { id: String(id) } } }
  })

describe("chaos: concurrent first-run migrations", () => {
  it.live(
    `${ROUNDS} rounds of ${PROCESSES} plexsync hook processes on a fresh data directory all succeed`,
    () =>
      Effect.promise(async () => {
        let answered = 0
        for (let round = 0; round < ROUNDS; round++) {
          const dir = tempDir("migrate")
          const dataDir = path.join(dir, "data")
          const dbFile = path.join(dataDir, "plexsync.db")
          const env = {
            HOME: dir,
            XDG_CACHE_HOME: path.join(dir, "cache"),
            PLEXSYNC_DATA_DIR: dataDir,
            PLEXSYNC_PLEX_TOKEN: "token",
            PLEXSYNC_STASH_URL: "http://127.0.0.1:9",
            PLEXSYNC_LOG_LEVEL: "warning"
          }
          const hooks: Array<Child> = []
          for (let i = 1; i <= PROCESSES; i++) {
            const child = startChild(process.execPath, tsxArgs("apps/cli/src/bin.ts", ["hook"]), {
              env,
              openStdin: true
            })
            hooks.push(child)
          }
          // Each has started and waits for its input; then all get it at once.
          await sleep(1_500)
          assert.isFalse(fs.existsSync(dbFile), "the database existed before the hooks ran")
          for (const [i, child] of hooks.entries()) {
            assert.isNull(child.proc.exitCode, `hook ${i + 1} ended before it was given its input`)
            child.proc.stdin!.end(sceneHook(i + 1))
          }
          for (const [i, child] of hooks.entries()) {
            const { code } = await child.exited
            assert.strictEqual(code, 0, child.stderr())
            const reply = JSON.parse(child.stdout().trim().split("\n").at(-1)!) as { output?: string; error?: string }
            assert.isUndefined(reply.error, `round ${round}, hook ${i + 1}: ${reply.error}`)
            assert.match(reply.output ?? "", new RegExp(`^queued scene ${i + 1} for Plex`))
            answered++
          }
          const db = openRaw(dbFile)
          try {
            const scenes = db.prepare("SELECT scene_id FROM jobs ORDER BY CAST(scene_id AS INTEGER)").all()
            assert.deepStrictEqual(
              scenes.map((r) => r.scene_id),
              Array.from({ length: PROCESSES }, (_, i) => String(i + 1))
            )
          } finally {
            db.close()
          }
        }
        report(`concurrent migrations: ${ROUNDS} rounds × ${PROCESSES} hooks on a fresh data dir, ${answered} queued`)
      }),
    size(180_000, 30 * 60_000)
  )
})
