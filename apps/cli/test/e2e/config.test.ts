import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { json, runPlexsync, tempDir } from "./cli.js"

const repoRoot = Path.resolve(import.meta.dirname, "..", "..", "..", "..")

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() => runPlexsync(args, { env: { PLEXSYNC_DATA_DIR: tempDir(), ...env } }))

const file = (name: string, text: string) => {
  const path = Path.join(tempDir(), name)
  Fs.writeFileSync(path, text)
  return path
}

describe("plexsync configuration and usage", () => {
  it.live("a malformed value stops every command with exit 2, naming the variable, the value and what is allowed", () =>
    Effect.gen(function*() {
      for (const args of [["status"], ["doctor"], ["dlq", "list"], ["outages", "--json"]]) {
        const result = yield* run(args, { PLEXSYNC_CONCURRENCY: "lots" })
        assert.strictEqual(result.code, 2, args.join(" "))
        // Nothing runs on bad config; with --json, the error is a document as well.
        if (args.includes("--json")) assert.strictEqual(json(result).error.exitCode, 2)
        else assert.strictEqual(result.stdout, "", "nothing runs on bad config")
        assert.include(result.stderr, "PLEXSYNC_CONCURRENCY=\"lots\": expected a whole number from 1 to 64")
      }
      const unknown = yield* run(["status"], { PLEXSYNC_PLEXURL: "http://x" })
      assert.strictEqual(unknown.code, 2)
      assert.include(unknown.stderr, "PLEXSYNC_PLEXURL: not a plexsync setting (did you mean PLEXSYNC_PLEX_URL?)")
    }))

  it.live("--config FILE after the command name: YAML or JSON, the environment wins, unknown keys are named", () =>
    Effect.gen(function*() {
      const dataDir = tempDir()
      const yaml = file("plexsync.yml", `dataDir: ${dataDir}\nconcurrency: 3\nlogLevel: warning\n`)
      const ok = yield* Effect.promise(() => runPlexsync(["status", "--config", yaml, "--json"]))
      assert.strictEqual(ok.code, 0, ok.stderr)
      assert.isTrue(Fs.existsSync(Path.join(dataDir, "plexsync.db")), "the file's data directory was used")

      const typo = file("typo.json", JSON.stringify({ plexUrl: "http://127.0.0.1:1", pathMapp: "/a=>/b" }))
      const refused = yield* run(["doctor", "--config", typo])
      assert.strictEqual(refused.code, 2)
      assert.include(refused.stderr, `key "pathMapp" in ${typo}: not a plexsync setting (did you mean pathMap?)`)

      const bad = file("bad.yml", "concurrency: 3\n")
      const envWins = yield* run(["status", "--config", bad], { PLEXSYNC_CONCURRENCY: "x" })
      assert.strictEqual(envWins.code, 2)
      assert.include(envWins.stderr, "PLEXSYNC_CONCURRENCY=\"x\"")

      const viaEnv = yield* run(["status", "--json"], { PLEXSYNC_CONFIG: typo })
      assert.strictEqual(viaEnv.code, 2, "PLEXSYNC_CONFIG names the file too")

      const missing = yield* run(["enqueue", "1", "--config", "/nonexistent/plexsync.yml"])
      assert.strictEqual(missing.code, 2)
      assert.include(missing.stderr, "config file /nonexistent/plexsync.yml: no such file")
    }))

  it.live("secrets never appear in output, not even when they are malformed or refused", () =>
    Effect.gen(function*() {
      const secret = "pl3x-t0ken-SECRET"
      const outputs: Array<string> = []
      const collect = (r: { stdout: string; stderr: string }) => outputs.push(r.stdout, r.stderr)
      collect(
        yield* run(["doctor", "--json"], {
          PLEXSYNC_PLEX_TOKEN: secret,
          PLEXSYNC_PLEX_URL: "http://127.0.0.1:1",
          PLEXSYNC_STASH_API_KEY: `${secret}-stash`
        })
      )
      collect(yield* run(["status"], { PLEXSYNC_PLEX_TOKEN: `${secret}\u0001`, PLEXSYNC_WEBHOOK_SECRET: secret }))
      collect(yield* run(["status", "--json"], { PLEXSYNC_PLEX_TOKEN: secret, PLEXSYNC_WEBHOOK_SECRET: secret }))
      const configFile = file("secret.yml", `plexToken: ${secret}\nconcurrency: many\n`)
      collect(yield* run(["status", "--config", configFile]))
      for (const text of outputs) assert.notInclude(text, secret)
      assert.isTrue(outputs.some((t) => t.includes("PLEXSYNC_PLEX_TOKEN (value hidden)")))
    }))

  it.live("bad usage exits 2 with the problem; --help works on every command", () =>
    Effect.gen(function*() {
      for (
        const args of [
          ["frobnicate"],
          ["sync", "--all", "--since", "1h"],
          ["run", "--max-jobs", "many"],
          ["enqueue"],
          ["enqueue", "12x"],
          ["dlq", "purge"],
          ["dlq", "purge", "--older-than", "soon"],
          ["recover", "--from", "1h"],
          ["reconcile", "--scope", "fortnight"],
          ["reconcile", "--scope", "7d", "101"],
          ["reconcile", "12x"]
        ]
      ) {
        const result = yield* run(args)
        assert.strictEqual(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`)
        assert.notInclude(result.stderr, "    at ", "no stack trace")
      }
      for (
        const args of [
          ["doctor"],
          ["config"],
          ["enqueue"],
          ["sync"],
          ["run"],
          ["status"],
          ["dlq", "list"],
          ["dlq", "retry"],
          [
            "recover"
          ],
          ["outages"],
          ["reconcile"],
          ["hook"]
        ]
      ) {
        const help = yield* run([...args, "--help"])
        assert.strictEqual(help.code, 0, args.join(" "))
        assert.include(help.stdout, "--config FILE", args.join(" "))
        assert.notInclude(help.stdout, "\u001b[", "no colour codes when not on a terminal")
      }
      const top = yield* run(["--help"])
      for (
        const command of [
          "doctor",
          "config",
          "enqueue",
          "sync",
          "run",
          "status",
          "dlq",
          "recover",
          "outages",
          "reconcile",
          "hook"
        ]
      ) {
        assert.match(top.stdout, new RegExp(`^  ${command}\\b`, "m"), command)
      }
      const version = yield* run(["--version"])
      const rootVersion = JSON.parse(Fs.readFileSync(Path.join(repoRoot, "package.json"), "utf8")).version
      assert.strictEqual(version.stdout.trim(), rootVersion, "the root package.json's version")
      const statusJson = json(yield* run(["status", "--json"]))
      assert.deepStrictEqual(statusJson.dlq.total, 0)
      assert.strictEqual(statusJson.version, rootVersion)
    }))
})
