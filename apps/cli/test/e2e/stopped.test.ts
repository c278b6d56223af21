import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { CliOptions } from "./cli.js"
import { json, runPlexsync } from "./cli.js"
import { startFakes } from "./fakes.js"
import type { Fakes } from "./fakes.js"

const plexsync = (fakes: Fakes, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...fakes.env, ...options.env } }))

describe("plexsync status after the worker stopped for a person to act", () => {
  it.scopedLive("says the worker is stopped and why, until a run with a working token syncs again", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes({ scenes: 3 })
      assert.strictEqual((yield* plexsync(fakes, ["sync"])).code, 0)
      const refused = yield* plexsync(fakes, ["run"], { env: { PLEXSYNC_PLEX_TOKEN: fakes.plex.sharedToken } })
      assert.strictEqual(refused.code, 1, refused.stdout + refused.stderr)

      const human = yield* plexsync(fakes, ["status"])
      assert.match(
        human.stdout,
        /^Worker:\s+STOPPED .*until a person acts: Plex refused the request for lack of permission .*PLEXSYNC_PLEX_TOKEN/m
      )
      const doc = json(yield* plexsync(fakes, ["status", "--json"]))
      assert.strictEqual(doc.workerStopped.reason, "PlexPermissionError")
      assert.match(doc.workerStopped.message, /the server owner's token/)
      assert.isString(doc.workerStopped.since)
      assert.notInclude(human.stdout + JSON.stringify(doc), fakes.plex.sharedToken)

      const ran = yield* plexsync(fakes, ["run"])
      assert.strictEqual(ran.code, 0, ran.stdout + ran.stderr)
      assert.isNull(json(yield* plexsync(fakes, ["status", "--json"])).workerStopped)
      assert.notMatch((yield* plexsync(fakes, ["status"])).stdout, /^Worker:/m)
    }))
})
