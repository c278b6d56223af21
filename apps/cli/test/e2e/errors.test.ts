import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { nodeDeps } from "../../src/hook/HookFastNode.js"
import { runPlexsync, tempDir } from "./cli.js"

const deps = nodeDeps(import.meta.url)

/** What the user reads: the `plexsync:` lines on stderr (logs are separate lines). */
const message = (stderr: string) =>
  stderr.split("\n").filter((l) => l !== "" && !/^plexsync (debug|info|warning|error):/.test(l))

describe("errors a user can meet", () => {
  it.live("a database locked by another process: one or two lines saying so, exit 1", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const created = yield* Effect.promise(() => runPlexsync(["status"], { env: { PLEXSYNC_DATA_DIR: dir } }))
      assert.strictEqual(created.code, 0)
      const db = deps.openSqlite(Path.join(dir, "plexsync.db"), { fileMustExist: true }) as unknown as {
        exec: (sql: string) => void
        close: () => void
      }
      db.exec("BEGIN EXCLUSIVE")
      try {
        const locked = yield* Effect.promise(() => runPlexsync(["enqueue", "5"], { env: { PLEXSYNC_DATA_DIR: dir } }))
        assert.strictEqual(locked.code, 1)
        const lines = message(locked.stderr)
        assert.isAtMost(lines.length, 2, locked.stderr)
        assert.include(lines.join(" "), "locked")
        assert.notInclude(locked.stderr, "    at ")
      } finally {
        db.exec("ROLLBACK")
        db.close()
      }
    }))

  it.live("a damaged or foreign database file: refused, left untouched, exit 1", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const file = Path.join(dir, "plexsync.db")
      const garbage = "this is not a database ".repeat(100)
      Fs.writeFileSync(file, garbage)
      const result = yield* Effect.promise(() => runPlexsync(["status"], { env: { PLEXSYNC_DATA_DIR: dir } }))
      assert.strictEqual(result.code, 1)
      const lines = message(result.stderr)
      assert.isAtMost(lines.length, 2, result.stderr)
      assert.include(lines.join(" "), "damaged or is not a plexsync database")
      assert.strictEqual(Fs.readFileSync(file, "utf8"), garbage)
    }))

  it.live("a data directory that cannot be created: says which and what to do, exit 1", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const blocker = Path.join(dir, "file")
      Fs.writeFileSync(blocker, "")
      const result = yield* Effect.promise(() =>
        runPlexsync(["status"], { env: { PLEXSYNC_DATA_DIR: Path.join(blocker, "data") } })
      )
      assert.strictEqual(result.code, 1)
      assert.include(result.stderr, `cannot create the data directory ${Path.join(blocker, "data")}`)
      assert.include(result.stderr, "PLEXSYNC_DATA_DIR")
    }))

  it.live("a bad argument of any length is repeated back as its first 100 characters, exit 2", () =>
    Effect.gen(function*() {
      const huge = "7".repeat(5) + "x".repeat(50_000)
      const env = { PLEXSYNC_DATA_DIR: tempDir() }
      const results = yield* Effect.forEach(
        [["enqueue", huge], ["status", `--${huge}`], [huge], ["dlq", "list", "--since", huge]],
        (args) => Effect.promise(() => runPlexsync(args, { env })),
        { concurrency: 2 }
      )
      for (const result of results) {
        assert.strictEqual(result.code, 2, result.stderr.slice(0, 300))
        assert.isBelow(result.stderr.length, 2_000, result.stderr.slice(0, 300))
        assert.include(result.stderr, "x".repeat(90))
        assert.notInclude(result.stderr, "x".repeat(101))
      }
    }))
})
