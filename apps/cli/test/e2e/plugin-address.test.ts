import { assert, describe, it } from "@effect/vitest"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { seedLibrary } from "@plexsync/testing/FakeStashSeed"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { CliOptions } from "./cli.js"
import { json, runPlexsync, tempDir } from "./cli.js"
import { startFakes, stashRoot } from "./fakes.js"
import type { Fakes } from "./fakes.js"

/** The fakes' environment without PLEXSYNC_STASH_URL: the plugin as most people install it. */
const unset = (fakes: Fakes): Record<string, string> => {
  const { PLEXSYNC_STASH_URL: _, ...rest } = fakes.env
  return rest
}

const run = (env: Record<string, string>, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...env, ...options.env } }))

/** A task as Stash starts it: Stash's own address in `server_connection` (bound to every interface). */
const task = (mode: string, port: number) =>
  JSON.stringify({
    server_connection: {
      Scheme: "http",
      Host: "0.0.0.0",
      Port: port,
      SessionCookie: { Name: "session", Value: "c00kie" },
      Dir: "/root/.stash",
      PluginDir: "/root/.stash/plugins/plexsync"
    },
    args: { mode }
  })

const portOf = (url: string) => Number(new URL(url).port)

describe("the Stash plugin without PLEXSYNC_STASH_URL", () => {
  it.scopedLive("learns Stash's address from the plugin input, remembers it, and doctor and status say so", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes({ scenes: 3 })
      const env = unset(fakes)
      const synced = yield* run(env, ["hook"], { input: task("sync_all", portOf(fakes.stash.url)) })
      assert.strictEqual(synced.code, 0)
      const reply = json(synced)
      assert.isUndefined(reply.error, reply.error)
      assert.match(reply.output, /3 synced/)
      assert.include(synced.stderr, `Stash's address is ${fakes.stash.url}, as Stash gave it to the plugin`)
      assert.isTrue(Fs.existsSync(Path.join(fakes.dataDir, "stash-url.json")))

      // A command run by hand later reaches the same Stash.
      const doctor = yield* run(env, ["doctor"])
      assert.strictEqual(doctor.code, 0, doctor.stdout)
      assert.match(
        doctor.stdout,
        new RegExp(`^ok\\s+stash\\s+reachable at ${fakes.stash.url} \\(learned from the Stash plugin on `, "m")
      )
      const status = yield* run(env, ["status"])
      assert.match(status.stdout, new RegExp(`^Stash:\\s+${fakes.stash.url} \\(learned from the Stash plugin on `, "m"))
      const doc = json(yield* run(env, ["status", "--json"]))
      assert.strictEqual(doc.stash.url, fakes.stash.url)
      assert.strictEqual(doc.stash.source, "plugin")
      assert.isString(doc.stash.learnedAt)

      // A set PLEXSYNC_STASH_URL wins over what was learned.
      const set = json(
        yield* run(fakes.env, ["status", "--json"], { env: { PLEXSYNC_STASH_URL: "http://127.0.0.1:1" } })
      )
      assert.deepStrictEqual(set.stash, { url: "http://127.0.0.1:1", source: "setting", learnedAt: null })
    }))

  it.scopedLive("names PLEXSYNC_STASH_URL when Stash cannot be reached, and PLEXSYNC_STASH_API_KEY when it wants a key", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes({ scenes: 1 })
      const unreachable = json(yield* run(unset(fakes), ["hook"], { input: task("sync_all", 1) }))
      assert.match(unreachable.error, /http:\/\/127\.0\.0\.1:1.*PLEXSYNC_STASH_URL/s)

      const locked = yield* FakeStash.start({ apiKey: "stash-api-key" })
      seedLibrary(locked.state, { scenes: 1, root: stashRoot })
      const dataDir = tempDir()
      const refused = json(
        yield* run({ ...unset(fakes), PLEXSYNC_DATA_DIR: dataDir }, ["hook"], {
          input: task("sync_all", portOf(locked.url))
        })
      )
      assert.match(refused.error, /PLEXSYNC_STASH_API_KEY/)
      assert.notInclude(refused.error, "c00kie")
    }))
})
