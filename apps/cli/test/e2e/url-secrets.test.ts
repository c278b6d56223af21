import { assert, describe, it } from "@effect/vitest"
import { freePort, startScheduler } from "@plexsync/testing/SchedulerProcess"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { CliResult } from "./cli.js"
import { runPlexsync, tempDir } from "./cli.js"

/**
 * A user name, password or token pasted into PLEXSYNC_PLEX_URL / PLEXSYNC_STASH_URL is shown nowhere: not by any
 * command (`config`, `doctor`, `status`, a failing `run` or `sync`, a plugin task, a configuration error), nor in the
 * scheduler's log or its pages. The servers are unreachable, so every path that names a server in an error runs.
 */

const repoRoot = Path.resolve(import.meta.dirname, "..", "..", "..", "..")

const secrets = ["ownerName9", "PwSecret1", "TokSecret2", "TokSecret3", "stashUser7", "PwSecret4", "KeySecret5"]

const env = {
  PLEXSYNC_PLEX_URL: "http://ownerName9:PwSecret1@127.0.0.1:1/X-Plex-Token=TokSecret2/?x-plex-TOKEN=TokSecret3",
  PLEXSYNC_STASH_URL: "http://stashUser7:PwSecret4@127.0.0.1:2/?apikey=KeySecret5",
  PLEXSYNC_PLEX_TOKEN: "t",
  PLEXSYNC_PATH_MAP: "/data=>/media",
  PLEXSYNC_LOG_LEVEL: "debug"
}

const assertNoSecret = (what: string, text: string) => {
  for (const secret of secrets) assert.notInclude(text, secret, `${what} shows ${secret}:\n${text}`)
}

describe("credentials in the servers' URLs", () => {
  it.live("never appear in any command's output", () =>
    Effect.gen(function*() {
      const dataDir = tempDir()
      const run = (args: ReadonlyArray<string>, extra: Record<string, string> = {}, input?: string) =>
        Effect.promise(() =>
          runPlexsync(args, {
            env: { PLEXSYNC_DATA_DIR: dataDir, ...env, ...extra },
            ...(input === undefined ? {} : { input })
          })
        )
      // A plugin task's error Stash shows in its UI; a configuration error repeats the value given, redacted.
      const badUrl = { PLEXSYNC_PLEX_URL: "ftp://ownerName9:PwSecret1@plex:32400/?X-Plex-Token=TokSecret3" }
      const commands: ReadonlyArray<readonly [string, Effect.Effect<CliResult>]> = [
        ...[["config"], ["config", "--json"], ["doctor", "--json"], ["status"], ["sync"], ["run"]].map((args) =>
          [args.join(" "), run(args)] as const
        ),
        ["hook (a task)", run(["hook"], {}, JSON.stringify({ args: { mode: "sync" } }))],
        ["status (a bad URL)", run(["status"], badUrl)]
      ]
      const outputs = yield* Effect.forEach(
        commands,
        ([what, result]) => Effect.map(result, (r) => [what, r] as const),
        {
          concurrency: 4
        }
      )
      const output = (what: string) => outputs.find(([name]) => name === what)![1]
      assert.include(output("hook (a task)").stdout, "\"error\"", "the task failed: Stash is unreachable")
      assert.strictEqual(output("status (a bad URL)").code, 2)
      assert.include(
        output("status (a bad URL)").stderr,
        "PLEXSYNC_PLEX_URL=\"ftp://plex:32400/?X-Plex-Token=<redacted>\""
      )
      for (const [what, result] of outputs) assertNoSecret(what, result.stdout + result.stderr)
      // The URLs are shown, only without their credentials.
      const config = output("config").stdout
      assert.include(config, "http://127.0.0.1:1/X-Plex-Token=<redacted>/?x-plex-TOKEN=<redacted>")
      assert.include(config, "http://127.0.0.1:2/?apikey=<redacted>")
    }))

  it.live("never appear in the scheduler's log or pages", () =>
    Effect.gen(function*() {
      const build = spawnSync(
        process.execPath,
        [Path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-b", "apps/scheduler/tsconfig.build.json"],
        { cwd: repoRoot, encoding: "utf8" }
      )
      assert.strictEqual(build.status, 0, build.stdout + build.stderr)
      const dir = tempDir()
      const logFile = Path.join(dir, "scheduler.log")
      const port = yield* Effect.promise(() => freePort())
      const scheduler = startScheduler({
        command: [process.execPath, Path.join(repoRoot, "apps", "scheduler", "build", "esm", "bin.js")],
        env: {
          PLEXSYNC_DATA_DIR: dir,
          PLEXSYNC_HTTP_ADDR: `127.0.0.1:${port}`,
          PLEXSYNC_POLL_INTERVAL: "200ms",
          ...env
        },
        logFile
      })
      const pages: Array<string> = []
      yield* Effect.promise(async () => {
        try {
          await scheduler.ready()
          // Let it try Stash and Plex a few times: each failure is logged with the server's URL.
          const deadline = Date.now() + 20_000
          while (Date.now() < deadline && !/unreachable|refused/i.test(Fs.readFileSync(logFile, "utf8"))) {
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
          for (const path of ["/", "/status", "/metrics", "/healthz"]) {
            pages.push(await (await fetch(`${scheduler.baseUrl}${path}`)).text())
          }
        } finally {
          await scheduler.stop()
        }
      })
      const log = Fs.readFileSync(logFile, "utf8")
      assert.match(log, /unreachable|refused/i, "the scheduler tried the servers")
      assert.include(log, "http://127.0.0.1:1/X-Plex-Token=<redacted>", "the start-up line names Plex")
      assertNoSecret("the scheduler's log", log)
      pages.forEach((page, i) => assertNoSecret(`page ${i}`, page))
    }))
})
