import { assert, describe, it } from "@effect/vitest"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { ErrorTag } from "@plexsync/domain/Errors"
import { SceneId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { Effect } from "effect"
import type { CliOptions } from "./cli.js"
import { json, runPlexsync, tempDir } from "./cli.js"
import type { Fakes } from "./fakes.js"
import { startFakes } from "./fakes.js"
import { withStore } from "./store.js"

/** What the commands print, to a person and to a program: the details a first-time user trips over. */

const plexsync = (fakes: Fakes, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...fakes.env, ...options.env } }))

const hour = 3_600_000

describe("output", () => {
  it.scopedLive("dlq show leaves out a detail that says nothing; recover's table aligns", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const now = Date.now()
      const [plain, detailed] = yield* Effect.gen(function*() {
        const history = yield* OutageHistory
        const dlq = yield* DeadLetterQueue
        const outage = yield* history.open("plex", { startedAt: now - 2 * hour, cause: "ECONNREFUSED" })
        yield* history.close("plex", now - hour)
        const add = (sceneId: string, detail: unknown) =>
          dlq.add({
            sceneId: SceneId.make(sceneId),
            errorTag: "PlexServerDown" satisfies ErrorTag,
            message: "connect ECONNREFUSED",
            detail,
            attempts: 3,
            failedAt: now - 1.5 * hour,
            outageId: outage.id,
            payload: { sceneId: SceneId.make(sceneId), reason: "hook" }
          })
        return [
          yield* add(fakes.scenes[0]!.id, { _tag: "PlexServerDown", message: "connect ECONNREFUSED" }),
          yield* add(fakes.scenes[1]!.id, { _tag: "PlexServerDown", message: "connect ECONNREFUSED", code: "E1" })
        ]
      }).pipe(withStore(fakes.dataDir))

      const bare = yield* plexsync(fakes, ["dlq", "show", String(plain)])
      assert.strictEqual(bare.code, 0, bare.stderr)
      assert.match(bare.stdout, /^Message:\s+connect ECONNREFUSED$/m)
      assert.notInclude(bare.stdout, "Detail:")
      const full = yield* plexsync(fakes, ["dlq", "show", String(detailed)])
      assert.match(full.stdout, /^Detail:\n\{\n {2}"_tag": "PlexServerDown",/m)

      const dry = yield* plexsync(fakes, ["recover", "--dry-run"])
      assert.strictEqual(dry.code, 0, dry.stderr)
      assert.match(dry.stderr, /^recover: 2\/2 \(in \d/m)
      const rows = dry.stdout.split("\n").filter((l) => /^ {2}[a-z]/.test(l))
      assert.deepStrictEqual(rows.map((r) => r.trim().split(/\s{2,}/)), [
        ["would recover", "2"],
        ["already queued", "0"],
        ["scene deleted", "0"],
        ["failed", "0"]
      ])
      assert.lengthOf(new Set(rows.map((r) => r.length)), 1, `the counts end in one column:\n${rows.join("\n")}`)
    }))

  it.scopedLive("--json documents: a version, the same keys in every case, and errors as a document too", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const keys = (doc: object) => Object.keys(doc).sort()

      const missing = yield* plexsync(fakes, ["dlq", "show", "777", "--json"])
      assert.strictEqual(missing.code, 1)
      const none = json(missing)
      assert.isString(none.version)
      assert.deepStrictEqual(
        keys(none),
        [
          "attempts",
          "detail",
          "errorTag",
          "failedAt",
          "id",
          "message",
          "outageId",
          "payload",
          "recoveredAt",
          "recoveredJobId",
          "resolution",
          "resolvedAt",
          "sceneId",
          "version"
        ]
      )
      assert.isTrue(Object.entries(none).every(([k, v]) => k === "version" || v === null))

      const list = json(yield* plexsync(fakes, ["dlq", "list", "--json"]))
      assert.deepStrictEqual(keys(list), ["entries", "total", "undecodable", "version"])

      const noOutage = json(yield* plexsync(fakes, ["recover", "--json"]))
      yield* Effect.gen(function*() {
        const history = yield* OutageHistory
        yield* history.open("plex", { startedAt: Date.now() - 2 * hour, cause: "ECONNREFUSED" })
        yield* history.close("plex", Date.now() - hour)
      }).pipe(withStore(fakes.dataDir))
      const recovered = json(yield* plexsync(fakes, ["recover", "--json"]))
      assert.deepStrictEqual(keys(noOutage), keys(recovered))
      assert.strictEqual(noOutage.message, "no completed outage")
      assert.isNull(recovered.message)

      const ran = json(yield* plexsync(fakes, ["run", "--json"]))
      yield* plexsync(fakes, ["enqueue", fakes.scenes[0]!.id])
      const ranSome = json(yield* plexsync(fakes, ["run", "--json"]))
      assert.deepStrictEqual(keys(ran), keys(ranSome))
      assert.deepStrictEqual([ran.jobs, ranSome.jobs], [0, 1])

      for (const args of [["status"], ["outages"], ["sync"], ["enqueue", "5"], ["reconcile", "--dry-run"]]) {
        const result = yield* plexsync(fakes, [...args, "--json"])
        assert.isString(json(result).version, args.join(" "))
        // The long ones show their progress on stderr, as plain lines under --json.
        if (args[0] === "sync") assert.match(result.stderr, /^sync: \d+\/\d+ \(in /m)
        if (args[0] === "reconcile") assert.match(result.stderr, /^reconcile: Plex Movies: 6\/6 \(in /m)
      }

      // A usage error and a configuration error: the message on stderr, a document on stdout, exit 2.
      const usage = yield* plexsync(fakes, ["dlq", "list", "--error", "Nope", "--json"])
      assert.strictEqual(usage.code, 2)
      assert.include(usage.stderr, "\"Nope\" is not an error tag")
      const usageDoc = json(usage)
      assert.deepStrictEqual(keys(usageDoc), ["error", "version"])
      assert.deepStrictEqual(keys(usageDoc.error), ["exitCode", "message"])
      assert.strictEqual(usageDoc.error.exitCode, 2)
      assert.include(usageDoc.error.message, "\"Nope\" is not an error tag")
      const config = yield* plexsync(fakes, ["status", "--json"], { env: { PLEXSYNC_CONCURRENCY: "lots" } })
      assert.strictEqual(config.code, 2)
      assert.include(json(config).error.message, "PLEXSYNC_CONCURRENCY")
      // Stash down: exit 1, the same shape.
      const down = yield* plexsync(fakes, ["sync", "--json"], { env: { PLEXSYNC_STASH_URL: "http://127.0.0.1:1" } })
      assert.strictEqual(down.code, 1)
      assert.strictEqual(json(down).error.exitCode, 1)
      assert.include(down.stderr, "PLEXSYNC_STASH_URL")
    }))

  it.scopedLive("PLEXSYNC_LOG_FORMAT=json: every log line is a JSON object", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      yield* plexsync(fakes, ["sync"])
      const ran = yield* plexsync(fakes, ["run"], {
        env: { PLEXSYNC_LOG_FORMAT: "json", PLEXSYNC_LOG_LEVEL: "info", HOME: tempDir("plexsync-home-") }
      })
      assert.strictEqual(ran.code, 0, ran.stderr)
      const logs = ran.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("run: "))
      assert.isAtLeast(logs.length, fakes.scenes.length, ran.stderr)
      for (const line of logs) {
        const record = JSON.parse(line)
        assert.deepStrictEqual(Object.keys(record), ["time", "level", "program", "message", "annotations", "cause"])
        assert.strictEqual(record.program, "plexsync")
      }
      const synced = logs.map((l) => JSON.parse(l)).filter((r) => r.message.startsWith("Synced scene"))
      assert.lengthOf(synced, fakes.scenes.length)
      assert.strictEqual(synced[0].level, "info")
      assert.isString(synced[0].annotations.sceneId)
    }))
})
