import { assert, describe, it } from "@effect/vitest"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { ErrorTag } from "@plexsync/domain/Errors"
import type { OutageId } from "@plexsync/domain/Ids"
import { SceneId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { RecoveryLog } from "@plexsync/domain/RecoveryLog"
import { Settings } from "@plexsync/domain/Settings"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { buildStatus, statusDocument } from "@plexsync/runtime/Status"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import { Effect, Layer, Option, TestClock } from "effect"
import * as path from "node:path"
import { cursorKey, recoverClosedOutages } from "../src/AutoRecovery.js"
import { storeAt, tempDir } from "./support.js"

const t0 = Date.parse("2026-02-15T10:00:00Z")

const env = (filename: string) =>
  Layer.mergeAll(
    SimPlex.layer(),
    SimStash.layer({ scenes: Array.from({ length: 10 }, (_, i) => SimStash.sampleScene(i + 1)) })
  ).pipe(Layer.provideMerge(storeAt(filename)))

/** Runs `body` against a new database in a temporary directory. */
const withStore = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.flatMap(tempDir, (dir) => Effect.provide(body, env(path.join(dir, "plexsync.db"))))

const deadLetter = (sceneId: string, errorTag: ErrorTag, failedAt: number, outageId: OutageId | null) =>
  Effect.flatMap(DeadLetterQueue, (dlq) =>
    dlq.add({
      sceneId: SceneId.make(sceneId),
      errorTag,
      message: `${errorTag} for scene ${sceneId}`,
      attempts: 3,
      failedAt,
      outageId,
      payload: { sceneId: SceneId.make(sceneId), reason: "poll" }
    }))

describe("AutoRecovery", () => {
  it.scoped("recovers a closed outage's safe DLQ entries once, records the run as automatic, and waits for open ones", () =>
    withStore(
      Effect.gen(function*() {
        const outages = yield* OutageHistory
        const queue = yield* SyncQueue
        const log = yield* RecoveryLog
        const settings = yield* Settings
        yield* TestClock.setTime(t0)
        const outage = yield* outages.open("plex", { startedAt: t0, cause: "refused" })
        yield* deadLetter("1", "PlexServerDown", t0 + 1000, outage.id)
        yield* deadLetter("2", "PlexServerDown", t0 + 2000, outage.id)
        yield* deadLetter("3", "PlexAuthError", t0 + 3000, outage.id)
        yield* deadLetter("4", "PlexServerDown", t0 - 60_000, null)

        // Still open: nothing is recovered, nothing recorded.
        assert.deepStrictEqual(yield* recoverClosedOutages, [])
        assert.strictEqual((yield* queue.counts).queued, 0)

        yield* TestClock.setTime(t0 + 10_000)
        yield* outages.close("plex", t0 + 10_000)
        const done = yield* recoverClosedOutages
        assert.strictEqual(done.length, 1)
        assert.strictEqual(done[0]!.result.recovered, 2)
        assert.deepStrictEqual([...done[0]!.result.recoveredSceneIds].sort(), ["1", "2"])
        const jobs = yield* queue.list({ limit: 10 })
        assert.deepStrictEqual(jobs.map((j) => [j.sceneId, j.reason]).sort(), [["1", "recovery"], ["2", "recovery"]])
        const run = Option.getOrThrow(yield* log.latest)
        assert.strictEqual(run.trigger, "automatic")
        assert.strictEqual(run.result.window.outageId, outage.id)
        assert.deepStrictEqual(yield* settings.get(cursorKey), Option.some(String(outage.id)))

        // The next tick has nothing to do and records nothing.
        assert.deepStrictEqual(yield* recoverClosedOutages, [])
        assert.strictEqual((yield* log.list({ limit: 10 })).length, 1)
      })
    ))

  it.scoped("when Plex fails the health gate the outage stays pending and is recovered on a later tick", () =>
    withStore(
      Effect.gen(function*() {
        const outages = yield* OutageHistory
        const settings = yield* Settings
        const plex = yield* SimPlex.SimPlex
        yield* TestClock.setTime(t0)
        const outage = yield* outages.open("plex", { startedAt: t0, cause: "refused" })
        yield* deadLetter("5", "PlexServerDown", t0 + 500, outage.id)
        yield* TestClock.setTime(t0 + 5000)
        yield* outages.close("plex", t0 + 5000)
        // Plex flaps down again right after the outage closed.
        yield* plex.downBetween(t0 + 5000, t0 + 8000)
        assert.deepStrictEqual(yield* recoverClosedOutages, [])
        assert.isTrue(Option.isNone(yield* settings.get(cursorKey)))
        yield* TestClock.setTime(t0 + 9000)
        const done = yield* recoverClosedOutages
        assert.deepStrictEqual(done.map((d) => [...d.result.recoveredSceneIds]), [["5"]] as Array<Array<string>>)
      })
    ))

  it.scoped("retried every tick while Plex stays down: one audit row for the attempts, status keeps the last recovery", () =>
    withStore(
      Effect.gen(function*() {
        const outages = yield* OutageHistory
        const plex = yield* SimPlex.SimPlex
        const log = yield* RecoveryLog
        yield* TestClock.setTime(t0)
        // An earlier outage, recovered.
        const first = yield* outages.open("plex", { startedAt: t0, cause: "refused" })
        yield* deadLetter("1", "PlexServerDown", t0 + 500, first.id)
        yield* TestClock.setTime(t0 + 5_000)
        yield* outages.close("plex", t0 + 5_000)
        assert.strictEqual((yield* recoverClosedOutages).length, 1)
        const recovered = Option.getOrThrow(yield* log.latest)

        // A second outage closes, and Plex is down again for an hour: every tick (one a minute here) finds it down.
        const second = yield* outages.open("plex", { startedAt: t0 + 60_000, cause: "refused" })
        yield* deadLetter("2", "PlexServerDown", t0 + 61_000, second.id)
        yield* TestClock.setTime(t0 + 70_000)
        yield* outages.close("plex", t0 + 70_000)
        yield* plex.downBetween(t0 + 70_000, t0 + 3_670_000)
        for (let t = t0 + 70_000; t < t0 + 3_670_000; t += 60_000) {
          yield* TestClock.setTime(t)
          assert.deepStrictEqual(yield* recoverClosedOutages, [])
        }
        const rows = yield* log.list({ limit: 1_000 })
        assert.strictEqual(rows.length, 2, "state changes are recorded, not ticks")
        assert.strictEqual(rows[0]!.attempts, 60)
        assert.strictEqual(rows[0]!.result.stoppedBy, "PlexDown")
        const status = statusDocument(yield* buildStatus())
        assert.strictEqual(status.lastRecovery?.id, recovered.id, "the last recovery is the one that completed")
        assert.strictEqual(status.lastRecoveryAttempt?.outcome, "stopped")
        assert.strictEqual(status.lastRecoveryAttempt?.attempts, 60)

        // Plex back: the outage is recovered; that run is the last recovery, and no attempt is pending.
        yield* TestClock.setTime(t0 + 3_675_000)
        assert.strictEqual((yield* recoverClosedOutages).length, 1)
        const after = statusDocument(yield* buildStatus())
        assert.strictEqual(after.lastRecovery?.window.outageId, second.id)
        assert.isNull(after.lastRecoveryAttempt)
        assert.strictEqual((yield* log.list({ limit: 1_000 })).length, 3)
      })
    ))
})
