import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { CliOptions } from "./cli.js"
import { json, runPlexsync, tempDir } from "./cli.js"
import { plexItemOf, startFakes } from "./fakes.js"
import type { Fakes } from "./fakes.js"
import { queuedJobs } from "./store.js"

const plexsync = (fakes: Fakes, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...fakes.env, ...options.env } }))

describe("plexsync against fake Stash and Plex servers", () => {
  it.scopedLive("sync queues changed scenes, status counts them, run syncs them into Plex, reconcile finds a drift", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const synced = yield* plexsync(fakes, ["sync", "--json"])
      assert.strictEqual(synced.code, 0, synced.stderr)
      const syncDoc = json(synced)
      assert.strictEqual(syncDoc.read, fakes.scenes.length)
      assert.strictEqual(syncDoc.queued, fakes.scenes.length)
      assert.isString(syncDoc.watermark)

      const status = json(yield* plexsync(fakes, ["status", "--json"]))
      assert.deepStrictEqual(status.queue, {
        queued: fakes.scenes.length,
        due: fakes.scenes.length,
        running: 0,
        held: 0,
        nextDueAt: status.queue.nextDueAt
      })
      assert.deepStrictEqual(status.dlq, { total: 0, byErrorTag: {}, recovered: 0 })
      assert.strictEqual(status.breakers.plex.state, "closed")
      assert.strictEqual(status.breakers.stash.state, "closed")
      for (const key of ["currentOutage", "lastOutage", "lastRecovery", "lastReconcile"]) {
        assert.isNull(status[key], key)
      }

      const human = yield* plexsync(fakes, ["status"])
      assert.match(
        human.stdout,
        new RegExp(`^Queue:\\s+${fakes.scenes.length} waiting \\(${fakes.scenes.length} due\\)`, "m")
      )

      const ran = yield* plexsync(fakes, ["run"])
      assert.strictEqual(ran.code, 0, ran.stdout + ran.stderr)
      assert.include(ran.stdout, `Processed ${fakes.scenes.length} jobs: ${fakes.scenes.length} synced`)
      for (const scene of fakes.scenes) {
        const item = plexItemOf(fakes, scene.files[0]!.path)!
        if (scene.title !== null) assert.strictEqual(item.title, scene.title)
      }
      assert.lengthOf(yield* queuedJobs(fakes.dataDir), 0)

      // A second sync reads the change feed from its watermark and skips what is synced at that version.
      const again = json(yield* plexsync(fakes, ["sync", "--json"]))
      assert.strictEqual(again.queued, 0)
      assert.strictEqual(again.skippedSynced, fakes.scenes.length)

      // Nothing due: run exits 0 and says so.
      const idle = yield* plexsync(fakes, ["run", "--json"])
      assert.strictEqual(idle.code, 0)
      assert.strictEqual(json(idle).processed, 0)

      // Someone edits an item in Plex: reconcile finds it and queues the scene.
      const scene = fakes.scenes.find((s) => s.title !== null)!
      const item = plexItemOf(fakes, scene.files[0]!.path)!
      fakes.plex.state.updateItem(item.ratingKey, { title: "Edited in Plex" })
      const dry = json(yield* plexsync(fakes, ["reconcile", "--dry-run", "--json"]))
      assert.strictEqual(dry.dryRun, true)
      assert.strictEqual(dry.gaps.plexDiffers, 1)
      assert.deepStrictEqual(dry.queuedSceneIds, [scene.id])
      assert.lengthOf(yield* queuedJobs(fakes.dataDir), 0, "a dry run queues nothing")
      const reconciled = yield* plexsync(fakes, ["reconcile", "--json"])
      assert.strictEqual(reconciled.code, 0)
      const doc = json(reconciled)
      for (const key of ["scope", "dryRun", "scenesChecked", "gaps", "queued", "queuedSceneIds", "skipped"]) {
        assert.property(doc, key)
      }
      assert.strictEqual(doc.scope, "all")
      assert.strictEqual(doc.queued, 1)
      const after = json(yield* plexsync(fakes, ["status", "--json"]))
      assert.strictEqual(after.queue.queued, 1)
      assert.strictEqual(after.lastReconcile.queued, 1)

      // A list of scenes: only those are read and compared; an id Stash does not have is reported.
      const other = fakes.scenes.find((s) => s.id !== scene.id)!
      fakes.plex.state.updateItem(plexItemOf(fakes, other.files[0]!.path)!.ratingKey, { title: "Edited too" })
      const listed = yield* plexsync(fakes, ["reconcile", "--dry-run", "--json", scene.id, other.id, "99999"])
      assert.strictEqual(listed.code, 0, listed.stderr)
      const some = json(listed)
      assert.strictEqual(some.scope, "scenes")
      assert.strictEqual(some.scenesChecked, 2)
      assert.strictEqual(some.gaps.plexDiffers, 2)
      assert.deepStrictEqual(some.queuedSceneIds, [other.id], "the scene already queued is not queued twice")
      assert.deepStrictEqual(some.skipped, {
        alreadyQueued: 1,
        notInPlex: 0,
        ambiguousInPlex: 0,
        noFile: 0,
        sceneNotFound: 1,
        inDeadLetterQueue: 0
      })
    }))

  it.scopedLive("enqueue coalesces; run stops with exit 1 when Plex refuses the token and keeps the jobs", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const [first, second] = fakes.scenes
      const queued = yield* plexsync(fakes, ["enqueue", first!.id, second!.id])
      assert.strictEqual(queued.code, 0)
      assert.include(queued.stdout, "Queued 2 scenes")
      const merged = json(yield* plexsync(fakes, ["enqueue", "--json", first!.id]))
      assert.deepStrictEqual([merged.queued, merged.coalesced], [0, 1])

      const refused = yield* plexsync(fakes, ["run"], { env: { PLEXSYNC_PLEX_TOKEN: "wrong-token-123" } })
      assert.strictEqual(refused.code, 1, refused.stdout + refused.stderr)
      assert.include(refused.stdout + refused.stderr, "PLEXSYNC_PLEX_TOKEN")
      assert.notInclude(refused.stdout + refused.stderr, "wrong-token-123")
      const jobs = yield* queuedJobs(fakes.dataDir)
      assert.deepStrictEqual(jobs.map((j) => j.sceneId).sort(), [first!.id, second!.id].sort())

      const limited = json(yield* plexsync(fakes, ["run", "--max-jobs", "1", "--json"]))
      assert.strictEqual(limited.processed, 1)
      assert.strictEqual(limited.queue.queued, 1)
    }))

  it.scopedLive("Stash down: sync says so in one or two lines and exits 1", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const down = yield* plexsync(fakes, ["sync"], { env: { PLEXSYNC_STASH_URL: "http://127.0.0.1:1" } })
      assert.strictEqual(down.code, 1)
      assert.strictEqual(down.stdout, "")
      const message = down.stderr.split("\n").filter((l) => l.startsWith("plexsync:") || !l.startsWith("plexsync "))
        .filter((l) => l !== "")
      assert.isAtMost(message.length, 2, down.stderr)
      assert.include(down.stderr, "ECONNREFUSED")
      assert.include(down.stderr, "PLEXSYNC_STASH_URL")
      assert.notInclude(down.stderr, "    at ", "no stack trace")
    }))

  it.live("status needs no Plex token and no server", () =>
    Effect.gen(function*() {
      const result = yield* Effect.promise(() =>
        runPlexsync(["status", "--json"], {
          env: { PLEXSYNC_DATA_DIR: tempDir(), PLEXSYNC_STASH_URL: "http://127.0.0.1:1" }
        })
      )
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(json(result).queue.queued, 0)
    }))
})
