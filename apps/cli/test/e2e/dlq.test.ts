import { assert, describe, it } from "@effect/vitest"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { ErrorTag } from "@plexsync/domain/Errors"
import { SceneId } from "@plexsync/domain/Ids"
import type { OutageId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { Effect } from "effect"
import type { CliOptions } from "./cli.js"
import { json, runPlexsync } from "./cli.js"
import { startFakes } from "./fakes.js"
import type { Fakes } from "./fakes.js"
import { queuedJobs, withStore } from "./store.js"

const plexsync = (fakes: Fakes, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...fakes.env, ...options.env } }))

const hour = 3_600_000

/** A Plex outage two to one hours ago, with DLQ entries failed during it (and one permanent failure). */
const seedOutage = (fakes: Fakes) =>
  Effect.gen(function*() {
    const now = Date.now()
    const history = yield* OutageHistory
    const dlq = yield* DeadLetterQueue
    const outage = yield* history.open("plex", { startedAt: now - 2 * hour, cause: "ECONNREFUSED" })
    yield* history.addAffected(outage.id, 3)
    yield* history.close("plex", now - hour)
    const add = (sceneId: string, errorTag: ErrorTag, failedAt: number, outageId: OutageId | null) =>
      dlq.add({
        sceneId: SceneId.make(sceneId),
        errorTag,
        message: `${errorTag} while syncing scene ${sceneId}`,
        detail: { _tag: errorTag, message: "connect ECONNREFUSED", code: "ECONNREFUSED" },
        attempts: 3,
        failedAt,
        outageId,
        payload: { sceneId: SceneId.make(sceneId), reason: "hook" }
      })
    const [a, b] = fakes.scenes
    const ids = [
      yield* add(a!.id, "PlexServerDown", now - 1.5 * hour, outage.id),
      yield* add(b!.id, "PlexServerDown", now - 1.4 * hour, outage.id),
      // A scene Stash no longer has.
      yield* add("9999", "PlexServerDown", now - 1.3 * hour, outage.id),
      // Permanent: never recovered automatically.
      yield* add(a!.id, "MatchAmbiguous", now - 1.2 * hour, null)
    ]
    return { outage, ids }
  }).pipe(withStore(fakes.dataDir))

describe("plexsync dlq, outages and recover", () => {
  it.scopedLive("lists, shows, retries and purges dead-letter entries", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const { ids, outage } = yield* seedOutage(fakes)

      const listed = yield* plexsync(fakes, ["dlq", "list"])
      assert.strictEqual(listed.code, 0)
      const lines = listed.stdout.trim().split("\n")
      assert.match(lines[0]!, /^\s*ID\s+FAILED\s+SCENE\s+ERROR\s+TRIES\s+OUTAGE\s+RECOVERED\s+MESSAGE$/)
      assert.lengthOf(lines, 6)
      assert.strictEqual(lines.at(-1), "4 entries, oldest first.")

      const doc = json(yield* plexsync(fakes, ["dlq", "list", "--json", "--error", "PlexServerDown", "--limit", "2"]))
      assert.strictEqual(doc.total, 3)
      assert.lengthOf(doc.entries, 2)
      const first = doc.entries[0]
      assert.deepStrictEqual(Object.keys(first).sort(), [
        "attempts",
        "errorTag",
        "failedAt",
        "id",
        "message",
        "outageId",
        "recoveredAt",
        "recoveredJobId",
        "resolution",
        "resolvedAt",
        "sceneId"
      ])
      assert.strictEqual(first.id, ids[0])
      assert.strictEqual(first.outageId, outage.id)
      assert.isNull(first.recoveredAt)
      assert.match(first.failedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)

      const byScene = json(yield* plexsync(fakes, ["dlq", "list", "--json", "--scene", "9999"]))
      assert.strictEqual(byScene.total, 1)
      const windowed = json(yield* plexsync(fakes, ["dlq", "list", "--json", "--since", "80m", "--until", "70m"]))
      assert.deepStrictEqual(windowed.entries.map((e: any) => e.id), [ids[2], ids[3]])

      const badTag = yield* plexsync(fakes, ["dlq", "list", "--error", "PlexServerDwn"])
      assert.strictEqual(badTag.code, 2)
      assert.include(badTag.stderr, "did you mean PlexServerDown?")

      const shown = json(yield* plexsync(fakes, ["dlq", "show", String(ids[3]), "--json"]))
      assert.strictEqual(shown.errorTag, "MatchAmbiguous")
      assert.deepStrictEqual(shown.payload, { sceneId: fakes.scenes[0]!.id, reason: "hook" })
      assert.strictEqual(shown.detail.code, "ECONNREFUSED")
      const human = yield* plexsync(fakes, ["dlq", "show", String(ids[3])])
      assert.match(human.stdout, /^Error:\s+MatchAmbiguous$/m)
      const missing = yield* plexsync(fakes, ["dlq", "show", "777"])
      assert.strictEqual(missing.code, 1)

      // Manual redrive: entry 1 re-queued; entry 4 is the same scene, now queued, so not queued twice.
      const retried = json(yield* plexsync(fakes, ["dlq", "retry", String(ids[0]), String(ids[3]), "--json"]))
      assert.deepStrictEqual([retried.requeued, retried.alreadyQueued], [1, 1])
      const jobs = yield* queuedJobs(fakes.dataDir)
      assert.deepStrictEqual(jobs.map((j) => [j.sceneId, j.reason]), [[fakes.scenes[0]!.id, "manual"]])
      // The recovered entry leaves the default listing, and so does the one its job superseded.
      const pending = json(yield* plexsync(fakes, ["dlq", "list", "--json"]))
      assert.strictEqual(pending.total, 2)
      const audit = json(yield* plexsync(fakes, ["dlq", "list", "--json", "--include-recovered"]))
      assert.strictEqual(audit.total, 3)
      assert.isString(audit.entries[0].recoveredAt)
      const all = yield* plexsync(fakes, ["dlq", "list", "--include-resolved"])
      assert.strictEqual(all.stdout.trim().split("\n").at(-1), "4 entries, oldest first.")
      assert.match(all.stdout, /MatchAmbiguous\s+3\s+superseded \d{4}-/)

      const neither = yield* plexsync(fakes, ["dlq", "purge"])
      assert.strictEqual(neither.code, 2)
      const old = json(yield* plexsync(fakes, ["dlq", "purge", "--older-than", "30d", "--json"]))
      assert.strictEqual(old.deleted, 0)
      const purged = yield* plexsync(fakes, ["dlq", "purge", "--all"])
      assert.strictEqual(purged.code, 0)
      assert.strictEqual(purged.stdout.trim(), "Deleted 4 dead-letter entries.")
    }))

  it.scopedLive("outages shows MTTR, MTBF and availability; recover re-queues the last outage's jobs once", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const { outage } = yield* seedOutage(fakes)

      const outages = yield* plexsync(fakes, ["outages", "--json"])
      assert.strictEqual(outages.code, 0)
      const doc = json(outages)
      assert.lengthOf(doc.outages, 1)
      assert.deepStrictEqual(
        [doc.outages[0].id, doc.outages[0].target, doc.outages[0].durationMs, doc.outages[0].jobsAffected],
        [outage.id, "plex", hour, 3]
      )
      assert.strictEqual(doc.mttrMs, hour)
      assert.isNull(doc.mtbfMs)
      // The database is new: the window starts at the first outage it recorded (2 h ago), not 30 days back.
      assert.isTrue(doc.window.clippedToDatabase)
      assert.closeTo(Date.parse(doc.window.to) - Date.parse(doc.window.from), 2 * hour, 60_000)
      assert.closeTo(doc.availability, 50, 1)
      assert.closeTo(doc.targets.plex.availability, 50, 1)
      assert.deepStrictEqual([doc.targets.plex.outages, doc.targets.plex.downMs], [1, hour])
      assert.deepStrictEqual(doc.targets.stash, {
        outages: 0,
        downMs: 0,
        mttrMs: null,
        mtbfMs: null,
        availability: 100
      })
      const human = yield* plexsync(fakes, ["outages"])
      assert.match(human.stdout, /^\s+plex\s+availability 5\d\.\d\d%, 1 outage, down 1h; MTTR 1h, MTBF —/m)
      assert.match(human.stdout, /^\s+stash\s+availability 100\.00%, 0 outages/m)
      // Over a window that ended before the outage began: nothing down.
      const recent = json(yield* plexsync(fakes, ["outages", "--json", "--window", "30m"]))
      assert.deepStrictEqual([recent.availability, recent.targets.plex.outages], [100, 0])

      const dry = json(yield* plexsync(fakes, ["recover", "--dry-run", "--json"]))
      assert.strictEqual(dry.dryRun, true)
      assert.strictEqual(dry.window.outageId, outage.id)
      assert.deepStrictEqual(dry.errorTags, ["PlexServerDown", "StashUnavailable"])
      assert.deepStrictEqual([dry.recovered, dry.skippedSceneMissing], [2, 1])
      assert.lengthOf(yield* queuedJobs(fakes.dataDir), 0, "a dry run queues nothing")

      // Plex down: the health gate stops the run; exit 1, nothing queued.
      yield* fakes.plex.faults.refuseConnections
      const gated = yield* plexsync(fakes, ["recover", "--json"])
      assert.strictEqual(gated.code, 1)
      assert.strictEqual(json(gated).skippedPlexDown, 3)
      assert.lengthOf(yield* queuedJobs(fakes.dataDir), 0)
      yield* fakes.plex.faults.acceptConnections

      const done = yield* plexsync(fakes, ["recover", "--outage", String(outage.id), "--json"])
      assert.strictEqual(done.code, 0, done.stderr)
      const result = json(done)
      for (const key of ["window", "errorTags", "dryRun", "recovered", "skippedAlreadyQueued", "skippedPlexDown"]) {
        assert.property(result, key)
      }
      assert.deepStrictEqual(result.recoveredSceneIds.sort(), [fakes.scenes[0]!.id, fakes.scenes[1]!.id].sort())
      assert.strictEqual(result.skippedSceneMissing, 1)
      const jobs = yield* queuedJobs(fakes.dataDir)
      assert.deepStrictEqual(jobs.map((j) => j.reason), ["recovery", "recovery"])

      const again = json(yield* plexsync(fakes, ["recover", "--json"]))
      assert.strictEqual(again.recovered, 0, "a second run recovers nothing")

      // What the recovery skipped because the scene is gone from Stash is resolved: the DLQ lists only what still
      // needs a person (the permanent failure); --include-resolved lists everything, saying why.
      const left = json(yield* plexsync(fakes, ["dlq", "list", "--json"]))
      assert.deepStrictEqual(left.entries.map((e: any) => e.errorTag), ["MatchAmbiguous"])
      const everything = json(yield* plexsync(fakes, ["dlq", "list", "--json", "--include-resolved"]))
      assert.strictEqual(everything.total, 4)
      const gone = everything.entries.find((e: any) => e.sceneId === "9999")
      assert.strictEqual(gone.resolution, "scene-deleted")
      assert.isString(gone.resolvedAt)
      assert.isNull(gone.recoveredAt)

      const status = json(yield* plexsync(fakes, ["status", "--json"]))
      assert.strictEqual(status.lastOutage.id, outage.id)
      assert.strictEqual(status.lastRecovery.recovered, 0)
      assert.strictEqual(status.queue.queued, 2)

      const both = yield* plexsync(fakes, ["recover", "--outage", "1", "--from", "2h", "--to", "1h"])
      assert.strictEqual(both.code, 2)
      const half = yield* plexsync(fakes, ["recover", "--from", "2h"])
      assert.strictEqual(half.code, 2)
      const notATime = yield* plexsync(fakes, ["recover", "--from", "3h", "--to", "now-ish"])
      assert.strictEqual(notATime.code, 2)
      assert.include(notATime.stderr, "--to: \"now-ish\" is not a time")
    }))
})
