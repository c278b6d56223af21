import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { json, runPlexsync, tempDir } from "./cli.js"
import { databaseFile, queuedJobs } from "./store.js"

const serverConnection = {
  Scheme: "http",
  Host: "0.0.0.0",
  Port: 9999,
  SessionCookie: { Name: "session", Value: "c00kie", Path: "", Domain: "", Expires: "0001-01-01T00:00:00Z" },
  Dir: "/root/.stash",
  PluginDir: "/root/.stash/plugins/plexsync"
}

const hook = (type: string, id: number, input: unknown, inputFields?: ReadonlyArray<string>) =>
  JSON.stringify({
    server_connection: serverConnection,
    args: {
      mode: "hook",
      hookContext: { id, type, input, ...(inputFields === undefined ? {} : { inputFields }) }
    }
  })

/** One home per data directory: after the first hook validated the configuration, the rest take the fast path. */
const homes = new Map<string, string>()
const homeOf = (dataDir: string) => {
  if (!homes.has(dataDir)) homes.set(dataDir, tempDir("plexsync-home-"))
  return homes.get(dataDir)!
}

const runHook = (dataDir: string, input: string, env: Record<string, string> = {}) =>
  Effect.promise(() =>
    runPlexsync(["hook"], { input, env: { HOME: homeOf(dataDir), PLEXSYNC_DATA_DIR: dataDir, ...env } })
  )

/** Stash's log lines: SOH, a level character, STX, the message. */
const pluginLogLines = (stderr: string) => stderr.split("\n").filter((l) => l !== "")

describe("plexsync hook", () => {
  it.live("queues the scene of an edit, a scan-created scene, and coalesces repeats", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const edit = yield* runHook(
        dir,
        hook("Scene.Update.Post", 45, { id: "45", title: "New title", tag_ids: ["21"] }, ["title", "tag_ids", "id"])
      )
      assert.strictEqual(edit.code, 0)
      assert.deepStrictEqual(json(edit), { output: "queued scene 45 for Plex (job 1)" })
      for (const line of pluginLogLines(edit.stderr)) {
        assert.strictEqual(line[0], "\u0001", line)
        assert.include("tdiwe", line[1], line)
        assert.strictEqual(line[2], "\u0002", line)
      }

      assert.isTrue(
        Fs.existsSync(Path.join(homeOf(dir), ".cache", "plexsync", "hook-config.json")),
        "the validated configuration is remembered for the fast path"
      )
      const scan = yield* runHook(dir, hook("Scene.Create.Post", 46, null))
      assert.strictEqual(scan.code, 0)
      assert.include(json(scan).output, "queued scene 46")

      const again = yield* runHook(dir, hook("Scene.Update.Post", 45, { id: "45", rating100: 80 }, ["rating100"]))
      assert.include(json(again).output, "already queued")

      const jobs = yield* queuedJobs(dir)
      assert.deepStrictEqual(
        jobs.map((j) => [j.sceneId, j.reason, j.state]),
        [["45", "hook", "queued"], ["46", "hook", "queued"]]
      )
      // `status` shows them at once.
      const status = yield* Effect.promise(() => runPlexsync(["status", "--json"], { env: { PLEXSYNC_DATA_DIR: dir } }))
      assert.strictEqual(json(status).queue.queued, 2)
    }))

  it.live("queues nothing for a deleted scene", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const destroyed = yield* runHook(
        dir,
        hook("Scene.Destroy.Post", 12, {
          id: "12",
          delete_file: false,
          delete_generated: true,
          checksum: null,
          oshash: "abc",
          path: "/data/a.mp4"
        })
      )
      assert.strictEqual(destroyed.code, 0)
      assert.include(json(destroyed).output, "deleted in Stash")
      assert.lengthOf(yield* queuedJobs(dir), 0)
    }))

  it.live("answers bad input with an error, exit 0, and stores nothing", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      for (const input of ["", "{\"args\":", "[]", "{\"args\":{}}", hook("Scene.Update.Post", -1, {})]) {
        const result = yield* runHook(dir, input)
        assert.strictEqual(result.code, 0, input)
        const reply = json(result)
        assert.deepStrictEqual(Object.keys(reply), ["error"], input)
        assert.isString(reply.error)
      }
      assert.isFalse(Fs.existsSync(databaseFile(dir)), "no database was created")
    }))

  it.live("answers bad configuration with an error naming the variable, never a secret", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const result = yield* runHook(dir, hook("Scene.Update.Post", 45, { id: "45" }), {
        PLEXSYNC_CONCURRENCY: "lots",
        PLEXSYNC_PLEX_TOKEN: "sup3rs3cret\u0007"
      })
      assert.strictEqual(result.code, 0)
      const reply = json(result)
      assert.include(reply.error, "PLEXSYNC_CONCURRENCY=\"lots\"")
      assert.include(reply.error, "PLEXSYNC_PLEX_TOKEN (value hidden)")
      assert.notInclude(result.stdout + result.stderr, "sup3rs3cret")
      assert.lengthOf(yield* queuedJobs(dir), 0)
    }))
})
