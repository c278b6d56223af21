import { assert, describe, it } from "@effect/vitest"
import { StashUnavailable } from "@plexsync/domain/Errors"
import { SceneId } from "@plexsync/domain/Ids"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { SyncState } from "@plexsync/domain/SyncState"
import * as SimStash from "@plexsync/testing/SimStash"
import { syncedState } from "@plexsync/testing/SyncStates"
import { Effect, Layer, Option, TestClock } from "effect"
import * as path from "node:path"
import * as ChangeFeed from "../src/ChangeFeed.js"
import { storeAt, tempDir } from "./support.js"

const base = Date.parse("2026-02-15T10:00:00Z")
const scenes = Array.from(
  { length: 250 },
  (_, i) => SimStash.sampleScene(i + 1, { updatedAt: SimStash.stashTime(base + i * 1000) })
)

const feedLayer = ChangeFeed.layer({ overlapMs: 60 * 60 * 1000, perPage: 100 })

// Synced an hour after the scenes' times: proof enough that the fetch saw their last save of that second.
const synced = (id: string, updatedAt: string) =>
  syncedState({ id: SceneId.make(id), updatedAt }, { syncedAt: base + 3_600_000 })

describe("ChangeFeed", () => {
  it.scoped("queues every changed scene once, with reason poll, and advances the watermark after the enqueue", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = storeAt(path.join(dir, "plexsync.db"))
      const env = yield* Layer.build(
        feedLayer.pipe(Layer.provideMerge(Layer.mergeAll(SimStash.layer({ scenes }), store)))
      )
      yield* Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        const queue = yield* SyncQueue
        const settings = yield* Settings
        const sim = yield* SimStash.SimStash
        yield* TestClock.setTime(base + 3_600_000)

        const first = yield* feed.poll
        assert.strictEqual(first.since, null)
        assert.strictEqual(first.read, 250)
        assert.strictEqual(first.queued, 250)
        assert.strictEqual((yield* queue.counts).queued, 250)
        const jobs = yield* queue.list({ limit: 300 })
        assert.isTrue(jobs.every((job) => job.reason === "poll"))
        assert.deepStrictEqual(yield* settings.get(SettingKeys.stashWatermark), Option.some(scenes[249]!.updatedAt))

        // The next window overlaps the last hour: those rows come back, and none is queued twice.
        const second = yield* feed.poll
        assert.strictEqual(second.since, SimStash.stashTime(base + 249_000 - 3_600_000))
        assert.strictEqual(second.read, 250)
        assert.strictEqual(second.queued, 0)
        assert.strictEqual(second.duplicates, 250)

        // A change made later reaches the queue on the next poll, and moves the watermark.
        yield* TestClock.setTime(base + 86_400_000)
        const changed = yield* sim.updateScene("17", { title: "Renamed" })
        const third = yield* feed.poll
        assert.strictEqual(third.queued, 1)
        assert.strictEqual(third.duplicates, 249)
        assert.deepStrictEqual(yield* settings.get(SettingKeys.stashWatermark), Option.some(changed.updatedAt))
        assert.strictEqual((yield* queue.counts).queued, 250)
      }).pipe(Effect.provide(env))
    }))

  it.scoped("after a restart, skips scenes already synced at that updated_at and queues the rest again", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = storeAt(path.join(dir, "plexsync.db"))
      const stash = SimStash.layer({ scenes })
      // First process: polls, then the worker syncs the first 200 scenes and finishes their jobs.
      yield* Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        const syncState = yield* SyncState
        const queue = yield* SyncQueue
        yield* feed.poll
        const claimed = yield* queue.claim({ limit: 200, leaseMs: 60_000 })
        for (const c of claimed) {
          yield* syncState.put(synced(c.job.sceneId, scenes[Number(c.job.sceneId) - 1]!.updatedAt))
          yield* queue.complete(c)
        }
      }).pipe(Effect.provide(feedLayer.pipe(Layer.provideMerge(Layer.mergeAll(stash, store)))), Effect.scoped)
      // Second process on the same database: a fresh feed with nothing in memory.
      yield* Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        const queue = yield* SyncQueue
        const poll = yield* feed.poll
        assert.strictEqual(poll.read, 250)
        assert.strictEqual(poll.duplicates, 200)
        // The 50 not yet synced are handed to the queue again, where they coalesce with their queued jobs.
        assert.strictEqual(poll.queued, 50)
        assert.strictEqual((yield* queue.counts).queued, 50)
      }).pipe(Effect.provide(feedLayer.pipe(Layer.provideMerge(Layer.mergeAll(stash, store)))), Effect.scoped)
    }))

  it.scoped("a Stash failure queues nothing and leaves the watermark where it was", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const store = storeAt(path.join(dir, "plexsync.db"))
      yield* Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        const settings = yield* Settings
        const queue = yield* SyncQueue
        const sim = yield* SimStash.SimStash
        yield* sim.failNext("scenesUpdatedSince", new StashUnavailable({ message: "refused", code: "ECONNREFUSED" }))
        const failed = yield* Effect.flip(feed.poll)
        assert.strictEqual(failed._tag, "StashUnavailable")
        assert.isTrue(Option.isNone(yield* settings.get(SettingKeys.stashWatermark)))
        assert.strictEqual((yield* queue.counts).queued, 0)
        const retried = yield* feed.poll
        assert.strictEqual(retried.queued, 250)
      }).pipe(Effect.provide(feedLayer.pipe(Layer.provideMerge(Layer.mergeAll(SimStash.layer({ scenes }), store)))))
    }))
})
