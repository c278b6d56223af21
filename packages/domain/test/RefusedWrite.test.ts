import { assert, describe, it } from "@effect/vitest"
import { PlexAuthError, PlexPermissionError } from "@plexsync/domain/Errors"
import { allSyncFields } from "@plexsync/domain/FieldMapping"
import { makeMatcher } from "@plexsync/domain/Matching"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { syncScene } from "@plexsync/domain/SyncScene"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import { Effect, TestClock } from "effect"
import { enqueue, runToEnd, sceneIdOf, worker, world } from "./WorkerWorld.js"

/**
 * "No edit lost", and no write sent in vain: a token Plex refuses to write with (a shared user's: 403, or a
 * revoked one: 401) ends a job's writes at the first refusal, and the worker claims nothing more. Jobs claimed
 * together with the refused one are already on their way; each of them sends at most its own first write.
 */

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const writeOps: ReadonlyArray<SimPlex.PlexOp> = ["edit", "rate", "uploadPoster"]

const forbidden = new PlexPermissionError({ message: "Plex answered 403: a shared user's token", status: 403 })
const unauthorized = new PlexAuthError({ message: "Plex answered 401: the token was refused", status: 401 })

/** Every write Plex receives is refused with `error`, as for a token that may read but not write. */
const refuseWrites = (error: PlexPermissionError | PlexAuthError) =>
  Effect.gen(function*() {
    const sim = yield* SimPlex.SimPlex
    for (const op of writeOps) yield* sim.failNext(op, error, 1_000_000)
  })

const ratingKeyOf = (detail: unknown): string => {
  const d = detail as { readonly ratingKey: string }
  return d.ratingKey
}

/** Plex write requests per item (rating key), and in all. */
const writesPerItem = Effect.gen(function*() {
  const sim = yield* SimPlex.SimPlex
  const perItem = new Map<string, Array<string>>()
  for (const entry of yield* sim.log) {
    if (!writeOps.includes(entry.op)) continue
    const key = ratingKeyOf(entry.detail)
    perItem.set(key, [...(perItem.get(key) ?? []), entry.op])
  }
  return perItem
})

/** Scenes the worker read from Stash: one per claimed job. */
const scenesFetched = Effect.flatMap(SimStash.SimStash, (stash) => stash.requests("findScene"))

const queued = Effect.flatMap(SyncQueue, (q) => q.list({ limit: 10_000 }))

describe("refused writes: the first 401/403 ends the writes", () => {
  for (
    const [label, error, reason] of [
      ["403 (a shared user's token)", forbidden, "PlexPermissionError"],
      ["401 (a token revoked)", unauthorized, "PlexAuthError"]
    ] as const
  ) {
    it.scoped(`${label}: one refused write per claimed job at most, then no claim; the jobs stay queued`, () =>
      Effect.gen(function*() {
        const sim = yield* SimPlex.SimPlex
        const ids = range(1, 12)
        yield* enqueue(ids)
        yield* refuseWrites(error)
        // Every answer takes a while, so the four jobs claimed together are in flight at once.
        yield* sim.setLatency("200 millis")
        const w = yield* worker({ concurrency: 4, concurrencyMode: "fixed" })
        const fiber = yield* Effect.fork(w.drain())
        const summary = yield* runToEnd(fiber, { step: "50 millis" })

        assert.strictEqual(summary.stoppedBy?.reason, reason)
        assert.include(summary.stoppedBy!.message, "the jobs stay queued")
        assert.strictEqual(summary.synced, 0)

        const claimed = yield* scenesFetched
        assert.strictEqual(claimed, 4, "no claim after the first refusal: only the four jobs claimed together ran")
        const perItem = yield* writesPerItem
        for (const [ratingKey, ops] of perItem) {
          assert.strictEqual(ops.length, 1, `item ${ratingKey}: one refused write, then nothing (${ops.join(", ")})`)
        }
        const refused = [...perItem.values()].reduce((n, ops) => n + ops.length, 0)
        // Each job claimed in parallel was on its way and sends its own first write, and nothing after it: four
        // refused writes where each of the four used to send its edit, rating and poster (twelve).
        assert.strictEqual(refused, claimed, "one refused write per claimed job")
        assert.strictEqual(yield* sim.requests("rate"), 0, "the rating never follows a refused edit")
        assert.strictEqual(yield* sim.requests("uploadPoster"), 0, "the poster never follows a refused edit")

        const jobs = yield* queued
        assert.strictEqual(jobs.length, ids.length, "every job is kept")
        assert.isTrue(jobs.every((j) => j.state === "queued" && j.attempts === 0), "queued, no attempt spent")

        // The next start (a scheduler restart, another `plexsync run`) with the same token: the same bound.
        yield* sim.resetCounts
        yield* Effect.flatMap(SimStash.SimStash, (stash) => stash.resetCounts)
        const again = yield* Effect.either(
          Effect.fork(w.run({ stop: Effect.never })).pipe(
            Effect.flatMap((f) => runToEnd(f, { step: "50 millis" }))
          )
        )
        assert.isTrue(again._tag === "Left" && again.left._tag === "WorkerStopped")
        const claimedAgain = yield* scenesFetched
        assert.strictEqual(claimedAgain, 4)
        const writesAgain = [...(yield* writesPerItem).values()]
        assert.isTrue(writesAgain.every((ops) => ops.length === 1 && ops[0] === "edit"))
        assert.strictEqual(writesAgain.length, claimedAgain)
        assert.strictEqual((yield* queued).length, ids.length)
      }).pipe(Effect.provide(world({ scenes: range(1, 12) }))))
  }

  it.scoped("with nothing to edit, a refused rating ends the job before its poster", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      const stash = yield* SimStash.SimStash
      // Sync once with a good token, then change only the rating and the cover in Stash.
      yield* enqueue([3])
      const w = yield* worker({ concurrency: 1 })
      assert.strictEqual((yield* w.drain()).synced, 1)
      // A new rating, and (with the new `updatedAt`) new cover bytes: a rating and a poster to send, no edit.
      yield* TestClock.adjust("1 minute")
      yield* stash.updateScene("3", { rating100: 95 })
      yield* sim.resetCounts
      yield* refuseWrites(forbidden)

      const matcher = yield* makeMatcher({
        strict: true,
        libraries: [],
        indexRefreshMs: 300_000,
        pageSize: 500,
        indexAfterLookups: 50,
        indexWhenCandidates: 200,
        scanOnMiss: false,
        scanIntervalMs: 30_000,
        pathMap: []
      })
      const result = yield* Effect.either(
        syncScene({ sceneId: sceneIdOf(3), reason: "hook" }, matcher, {
          fields: new Set(allSyncFields),
          preservePlexEdits: false,
          pathMap: []
        })
      )
      assert.isTrue(result._tag === "Left" && result.left._tag === "PlexPermissionError")
      const counts = yield* sim.requestCounts
      assert.strictEqual(
        (counts.edit ?? 0) + (counts.rate ?? 0) + (counts.uploadPoster ?? 0),
        1,
        JSON.stringify(counts)
      )
    }).pipe(Effect.provide(world({ scenes: [3] }))))
})
