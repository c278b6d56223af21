import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { json, runPlexsync, tempDir } from "./cli.js"

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..")
const launcher = [process.execPath, Path.join(repoRoot, "scripts", "launch.mjs")]

// `pnpm plexsync`, `pnpm start`, `pnpm scheduler` and `pnpm demo` run through scripts/launch.mjs.
describe("scripts/launch.mjs (what the pnpm scripts run)", () => {
  it.live(
    "runs the compiled command line, compiling first when needed, with stdout the command's alone",
    () =>
      Effect.gen(function*() {
        const dataDir = tempDir()
        const result = yield* Effect.promise(() =>
          runPlexsync(["status", "--json"], {
            command: [...launcher, "apps/cli/bin"],
            env: { PLEXSYNC_DATA_DIR: dataDir },
            timeoutMs: 180_000
          })
        )
        assert.strictEqual(result.code, 0, result.stderr)
        const status = json(result)
        assert.strictEqual(status.queue.due, 0)
        assert.isTrue(Fs.existsSync(Path.join(dataDir, "plexsync.db")))
        assert.isTrue(Fs.existsSync(Path.join(repoRoot, "apps", "demo", "build", "esm", "start.js")))
      }),
    200_000
  )

  it.live("passes the program's exit code and arguments through", () =>
    Effect.gen(function*() {
      const result = yield* Effect.promise(() =>
        runPlexsync(["status", "--json"], {
          command: [...launcher, "apps/cli/bin"],
          env: { PLEXSYNC_DATA_DIR: tempDir(), PLEXSYNC_CONCURRENCY: "lots" },
          timeoutMs: 180_000
        })
      )
      assert.strictEqual(result.code, 2)
      assert.include(result.stderr, "PLEXSYNC_CONCURRENCY")
      assert.include(json(result).error.message, "PLEXSYNC_CONCURRENCY")
    }), 200_000)

  it.live("refuses a program it does not know, with usage", () =>
    Effect.gen(function*() {
      const none = yield* Effect.promise(() => runPlexsync(["status"], { command: [...launcher, "plexsync"] }))
      assert.strictEqual(none.code, 2)
      assert.include(
        none.stderr,
        "usage: node scripts/launch.mjs <apps|packages>/<package>/<module> [args…] (not \"plexsync\")"
      )
    }))
})
