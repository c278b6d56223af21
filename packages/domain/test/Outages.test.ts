import { assert, describe, it } from "@effect/vitest"
import { BreakerState, BreakerStore } from "@plexsync/domain/BreakerStore"
import * as CircuitBreaker from "@plexsync/domain/CircuitBreaker"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { PlexTemporaryError } from "@plexsync/domain/Errors"
import type { OutageId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { recoverOutageJobs } from "@plexsync/domain/Recovery"
import { StashClient } from "@plexsync/domain/StashClient"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { makeTargetHealth } from "@plexsync/domain/TargetHealth"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import { Deferred, Effect, Fiber, Layer, Option, TestClock } from "effect"
import { advanceUntil, assertAllSynced, enqueue, plexItemFor, runToEnd, worker, world } from "./WorkerWorld.js"

/**
 * "No edit lost, no outage unseen": every target-level failure counts toward its target's breaker whichever path
 * sent the request, an outage starts at the first failure of the streak that opened the breaker, and every job an
 * open breaker holds is subject to the hold limit and recovered once after.
 */

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const policy = { threshold: 5, probeMinMs: 1_000, probeMaxMs: 4_000 }
const policyOverrides = {
  breakerThreshold: policy.threshold,
  probeMinMs: policy.probeMinMs,
  probeMaxMs: policy.probeMaxMs
}

/** The world with the process's shared breakers, as the scheduler provides them to the worker and the feed. */
const sharedWorld = (scenes: ReadonlyArray<number>) =>
  CircuitBreaker.layer(policy).pipe(Layer.provideMerge(world({ scenes })))

const dlqEntries = Effect.flatMap(DeadLetterQueue, (dlq) => Effect.map(dlq.list({}), (l) => l.entries))
const queued = Effect.flatMap(SyncQueue, (q) => q.list({ limit: 10_000 }))
const outageList = Effect.flatMap(OutageHistory, (h) => h.list({ limit: 10 }))

/** One change-feed poll, as `ChangeFeed` sends it: through `recordingHealth`. */
const poll = Effect.flatMap(
  StashClient,
  (stash) =>
    stash.scenesUpdatedSince({ since: null, page: 1, perPage: 100 }).pipe(
      CircuitBreaker.recordingHealth(["stash"]),
      Effect.either
    )
)

describe("outages seen from every path", () => {
  it.scoped("change-feed failures open the Stash breaker; the outage starts at the first failure", () =>
    Effect.gen(function*() {
      const sim = yield* SimStash.SimStash
      const breakers = yield* CircuitBreaker.TargetBreakers
      yield* sim.downBetween(10_000, 40_000)

      // A success before: nothing counted.
      yield* poll
      assert.strictEqual((yield* breakers.state("stash")).consecutiveFailures, 0)

      // Connections refused from 10 s: a poll every 5 s; the fifth failure opens the breaker.
      for (let t = 10_000; t <= 30_000; t += 5_000) {
        yield* TestClock.setTime(t)
        yield* poll
      }
      const state = yield* breakers.state("stash")
      assert.strictEqual(state.state, "open")
      const outage = Option.getOrThrow(yield* Effect.flatMap(OutageHistory, (h) => h.current("stash")))
      assert.strictEqual(outage.startedAt, 10_000, "the first failure of the streak")
      assert.include(outage.cause ?? "", "StashUnavailable")
      // Persisted: a worker built now (or another process) sees the open breaker and claims nothing.
      const stored = yield* Effect.flatMap(BreakerStore, (s) => s.get("stash"))
      assert.strictEqual(stored.state, "open")
      yield* enqueue([1, 2])
      const w = yield* worker(policyOverrides)
      const summary = yield* w.drain()
      assert.strictEqual(summary.processed, 0, "nothing is claimed while Stash's breaker is open")

      // Stash back: the worker's probe half-opens, a job closes it; one outage, from the first failure.
      yield* TestClock.setTime(45_000)
      const fiber = yield* Effect.fork(w.drain({ wait: true }))
      const done = yield* runToEnd(fiber, { step: "100 millis" })
      assert.strictEqual(done.synced, 2)
      const all = yield* outageList
      assert.strictEqual(all.length, 1)
      assert.strictEqual(all[0]!.startedAt, 10_000)
      assert.isAtLeast(all[0]!.endedAt!, 40_000)
      assert.strictEqual((yield* breakers.state("stash")).state, "closed")
    }).pipe(Effect.provide(sharedWorld([1, 2]))))

  it.scoped("a feed success resets the streak: failures must be consecutive", () =>
    Effect.gen(function*() {
      const sim = yield* SimStash.SimStash
      const breakers = yield* CircuitBreaker.TargetBreakers
      yield* sim.downBetween(0, 3_000)
      yield* sim.downBetween(4_000, 6_000)
      for (let t = 0; t < 6_000; t += 1_000) {
        yield* TestClock.setTime(t)
        yield* poll
      }
      const state = yield* breakers.state("stash")
      assert.strictEqual(state.state, "closed", "3 failures, a success, 2 failures")
      assert.strictEqual(state.consecutiveFailures, 2)
      assert.strictEqual(state.failingSince, 4_000)
      assert.deepStrictEqual(yield* outageList, [])
    }).pipe(Effect.provide(sharedWorld([1]))))

  it.scoped("the outage starts at the first failure of the streak, however long it took to reach the threshold", () =>
    Effect.gen(function*() {
      const breakers = yield* CircuitBreaker.TargetBreakers
      for (const t of [0, 5_000, 6_000]) {
        yield* TestClock.setTime(t)
        yield* breakers.recordFailure("plex", "PlexServerDown: refused")
      }
      yield* breakers.recordSuccess("plex")
      for (const t of [20_000, 30_000, 45_000, 60_000, 70_000]) {
        yield* TestClock.setTime(t)
        yield* breakers.recordFailure("plex", "PlexTemporaryError: timed out")
      }
      const outage = Option.getOrThrow(yield* breakers.currentOutage("plex"))
      assert.strictEqual(outage.startedAt, 20_000)
      assert.strictEqual((yield* breakers.state("plex")).openedAt, 20_000)
      // A restart reads the same outage back (the streak start was persisted with the breaker).
      const reloaded = yield* CircuitBreaker.makeBreakers(policy)
      assert.strictEqual(Option.getOrThrow(yield* reloaded.currentOutage("plex")).startedAt, 20_000)
    }).pipe(Effect.provide(sharedWorld([1]))))

  it.scoped("timeouts count: Plex hanging past the client timeout opens the breaker; the outage starts at the first", () =>
    Effect.gen(function*() {
      const sim = yield* SimPlex.SimPlex
      // Every match request takes 30 s; the first five fail then, as the client's timeout does. One job at a time:
      // the five timeouts come 30 s apart, at 30 s, 60 s, … 150 s, when the fifth opens the breaker.
      yield* sim.setLatency("30 seconds", "findByFile")
      yield* sim.failNext(
        "findByFile",
        new PlexTemporaryError({ message: "got no complete answer within 30000 ms", code: "ETIMEDOUT" }),
        5
      )
      yield* enqueue(range(1, 6))
      const w = yield* worker({ ...policyOverrides, concurrency: 1 })
      const fiber = yield* Effect.fork(w.drain({ wait: true }))
      yield* advanceUntil(Effect.map(Effect.flatMap(OutageHistory, (h) => h.current("plex")), Option.isSome), {
        step: "1 second"
      })
      const outage = Option.getOrThrow(yield* Effect.flatMap(OutageHistory, (h) => h.current("plex")))
      assert.strictEqual(outage.startedAt, 30_000, "the first timeout, not the fifth")
      assert.strictEqual(yield* TestClock.currentTimeMillis, 150_000)
      assert.include(outage.cause ?? "", "PlexTemporaryError")
      const summary = yield* runToEnd(fiber, { step: "1 second" })
      assert.strictEqual(summary.synced, 6)
      const [closed] = yield* outageList
      assert.strictEqual(closed!.startedAt, 30_000)
      assert.isAbove(closed!.endedAt! - closed!.startedAt, 29_000, "the outage lasted as long as Plex hung")
      yield* assertAllSynced(range(1, 6))
    }).pipe(Effect.provide(sharedWorld(range(1, 6)))))
})

describe("the hold limit", () => {
  it.scoped(
    "every held job, those that failed just before the breaker opened included, reaches the DLQ at the limit and is recovered once",
    () =>
      Effect.gen(function*() {
        const sim = yield* SimPlex.SimPlex
        const ids = range(1, 6)
        yield* sim.downBetween(0, 25_000)
        yield* enqueue(ids)
        const w = yield* worker({ ...policyOverrides, concurrency: 4, concurrencyMode: "fixed", holdLimitMs: 5_000 })
        const stop = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(w.run({ stop: Deferred.await(stop) }))

        // Four jobs fail before the fifth failure opens the breaker: they wait out a backoff, yet are held.
        yield* advanceUntil(Effect.map(Effect.flatMap(OutageHistory, (h) => h.current("plex")), Option.isSome), {
          step: "10 millis"
        })
        const outage = Option.getOrThrow(yield* Effect.flatMap(OutageHistory, (h) => h.current("plex")))
        yield* advanceUntil(
          Effect.map(queued, (jobs) => jobs.length === 6 && jobs.every((j) => j.state === "queued")),
          {
            step: "10 millis"
          }
        )
        const before = yield* queued
        assert.isTrue(before.every((j) => j.heldSince !== null), "every waiting job is held by the open breaker")
        const backedOff = before.filter((j) => j.attempts === 1)
        assert.strictEqual(backedOff.length, 4, "four failed before the breaker opened")
        assert.isTrue(backedOff.every((j) => j.lastErrorTag === "PlexServerDown"))

        // At the hold limit every one of them is in the DLQ, under the outage.
        yield* advanceUntil(Effect.map(dlqEntries, (entries) => entries.length === 6), { step: "100 millis" })
        const movedAt = yield* TestClock.currentTimeMillis
        assert.isAtMost(movedAt - outage.startedAt, 5_000 + policy.probeMinMs, `moved after ${movedAt} ms`)
        assert.deepStrictEqual(yield* queued, [])
        for (const entry of yield* dlqEntries) {
          assert.strictEqual(entry.errorTag, "PlexServerDown")
          assert.strictEqual(entry.outageId, outage.id)
        }

        // Plex back: the breaker closes on the probes; outage recovery re-queues each entry once.
        const history = yield* OutageHistory
        yield* advanceUntil(Effect.map(history.current("plex"), Option.isNone), { step: "100 millis" })
        const first = yield* recoverOutageJobs({ window: { outageId: outage.id as OutageId }, trigger: "automatic" })
        assert.strictEqual(first.recovered, 6)
        const again = yield* recoverOutageJobs({ window: { outageId: outage.id as OutageId }, trigger: "automatic" })
        assert.strictEqual(again.recovered, 0, "recovered once")
        yield* advanceUntil(Effect.map(queued, (jobs) => jobs.length === 0), { step: "100 millis" })
        yield* Deferred.succeed(stop, undefined)
        yield* Fiber.join(fiber)

        yield* assertAllSynced(ids)
        const edits = (yield* sim.log).filter((r) => r.op === "edit" && r.failedWith === null)
        const keys = edits.map((r) => (r.detail as { ratingKey: string }).ratingKey).sort()
        assert.deepStrictEqual(keys, ids.map((id) => plexItemFor(id).ratingKey).sort(), "each scene written once")
        const [closed] = yield* outageList
        assert.strictEqual(closed!.jobsAffected, 6)
      }).pipe(Effect.provide(sharedWorld(range(1, 6))))
  )
})

describe("held jobs belong to the target that holds them", () => {
  const stateOpen = (target: "plex" | "stash", openedAt: number) =>
    new BreakerState({
      target,
      state: "open",
      consecutiveFailures: 5,
      openedAt,
      nextProbeAt: openedAt + 60_000,
      probeAttempt: 1,
      lastError: target === "plex" ? "PlexServerDown: refused" : "StashUnavailable: refused",
      updatedAt: openedAt
    })
  const healthSettings = {
    holdLimitMs: 10_000,
    breakerThreshold: 5,
    probeMinMs: 1_000,
    probeMaxMs: 4_000,
    rampFromPerSec: 5,
    rampToPerSec: 20,
    rampOverMs: 60_000
  }

  it.scoped("with both breakers open, a job held for Stash goes to the DLQ with Stash's outage; jobsAffected is stored", () =>
    Effect.gen(function*() {
      const store = yield* BreakerStore
      const history = yield* OutageHistory
      const queue = yield* SyncQueue
      yield* store.put(stateOpen("plex", 0))
      yield* store.put(stateOpen("stash", 0))
      const plexOutage = yield* history.open("plex", { startedAt: 0, cause: "refused" })
      const stashOutage = yield* history.open("stash", { startedAt: 0, cause: "refused" })
      yield* enqueue([1, 2])
      const claimed = yield* queue.claim({ limit: 2, leaseMs: 60_000 })
      const [forPlex, forStash] = claimed
      const hold = (job: typeof forPlex, failure: { tag: "PlexServerDown" | "StashUnavailable"; message: string }) =>
        queue.retryLater(job!, { availableAt: 0, failure, countAttempt: false, held: true })
      yield* hold(forPlex, { tag: "PlexServerDown", message: "refused" })
      yield* hold(forStash, { tag: "StashUnavailable", message: "refused" })

      const health = yield* makeTargetHealth(healthSettings)
      yield* health.countHeld(plexOutage.id, forPlex!.job.id)
      yield* health.countHeld(stashOutage.id, forStash!.job.id)
      // A second worker (another process, or this one restarted) counting the same job again adds nothing.
      const restarted = yield* makeTargetHealth(healthSettings)
      yield* restarted.countHeld(stashOutage.id, forStash!.job.id)
      yield* restarted.countHeld(stashOutage.id, forStash!.job.id)

      yield* TestClock.setTime(20_000)
      for (const target of ["plex", "stash"] as const) yield* health.sweepHeld(target, 20_000, { lastHoldCheck: 0 })
      const bySceneId = new Map((yield* dlqEntries).map((e) => [e.sceneId, e]))
      assert.strictEqual(bySceneId.size, 2)
      const plexEntry = bySceneId.get(forPlex!.job.sceneId)!
      const stashEntry = bySceneId.get(forStash!.job.sceneId)!
      assert.deepStrictEqual([plexEntry.errorTag, plexEntry.outageId], ["PlexServerDown", plexOutage.id])
      assert.deepStrictEqual([stashEntry.errorTag, stashEntry.outageId], ["StashUnavailable", stashOutage.id])
      assert.include(stashEntry.message, "stash was down")

      const affected = new Map((yield* outageList).map((o) => [o.target, o.jobsAffected]))
      assert.deepStrictEqual([affected.get("plex"), affected.get("stash")], [1, 1])
    }).pipe(Effect.provide(world({ scenes: range(1, 2) }))))
})
