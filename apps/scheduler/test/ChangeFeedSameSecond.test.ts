import { assert, describe, it } from "@effect/vitest"
import { allSyncFields } from "@plexsync/domain/FieldMapping"
import { SceneId } from "@plexsync/domain/Ids"
import { defaultMatchOptions, makeMatcher } from "@plexsync/domain/Matching"
import { parsePathMap } from "@plexsync/domain/PathMap"
import { fileAt } from "@plexsync/domain/StashScene"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { syncScene, type SyncSettings } from "@plexsync/domain/SyncScene"
import { SyncState } from "@plexsync/domain/SyncState"
import { formatStashTime } from "@plexsync/testing/FakeStashState"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import { Effect, Either, Layer, Option, TestClock } from "effect"
import * as path from "node:path"
import * as ChangeFeed from "../src/ChangeFeed.js"
import { storeAt, tempDir } from "./support.js"

/**
 * Stash's `updated_at` has one-second precision: two saves within one second (a person's edit, then a scraper's)
 * carry the same `updated_at`. The change feed must not take an equal `updated_at` for "already synced" unless the
 * scene was fetched after that second; and it must not re-queue for ever the scenes it has proven done.
 */

const settings: SyncSettings = {
  fields: new Set(allSyncFields),
  preservePlexEdits: false,
  pathMap: Either.getOrThrow(parsePathMap("/data/scenes=>/data/scenes"))
}

/** 10:00:00.200 UTC: the feed, the worker and Stash all work inside the second 10:00:00. */
const second = Date.parse("2026-02-15T10:00:00Z")
const base = second + 200

const feedLayer = ChangeFeed.layer({ overlapMs: 60 * 60 * 1000, perPage: 100, related: false })

const world = (dir: string, scenes: ReadonlyArray<ReturnType<typeof SimStash.sampleScene>>) =>
  feedLayer.pipe(
    Layer.provideMerge(Layer.mergeAll(
      SimStash.layer({ scenes }),
      SimPlex.layer({ items: scenes.map((s) => SimPlex.sampleItem(1000 + Number(s.id), s.files[0]!.path)) }),
      storeAt(path.join(dir, "plexsync.db"))
    ))
  )

/** The worker's part, by hand: every due job is claimed and synced with the real engine, then completed. */
const work = Effect.gen(function*() {
  const queue = yield* SyncQueue
  const matcher = yield* makeMatcher(defaultMatchOptions)
  let jobs = 0
  for (;;) {
    const claimed = yield* queue.claim({ limit: 100, leaseMs: 60_000 })
    if (claimed.length === 0) return jobs
    for (const c of claimed) {
      yield* syncScene(c.job, matcher, settings)
      yield* queue.complete(c)
      jobs++
    }
  }
})

const title = (ratingKey: string) =>
  Effect.flatMap(SimPlex.SimPlex, (sim) => Effect.map(sim.item(ratingKey), (item) => Option.getOrThrow(item).title))

const stashReads = Effect.flatMap(SimStash.SimStash, (sim) => sim.requests("findScene"))
const plexEdits = Effect.flatMap(SimPlex.SimPlex, (sim) => sim.requests("edit"))

/** Three polls 30 s apart, each checked by `check`, that read nothing from Stash. */
const quietPolls = <E, R>(check: (poll: ChangeFeed.PollResult) => Effect.Effect<void, E, R>) =>
  Effect.gen(function*() {
    const feed = yield* ChangeFeed.ChangeFeed
    const reads = yield* stashReads
    for (let i = 0; i < 3; i++) {
      yield* TestClock.adjust(30_000)
      yield* check(yield* feed.poll)
    }
    assert.strictEqual(yield* stashReads, reads)
  })

/** Scene 1 (its one file /data/scenes/1.mp4) as Stash stores it at `updatedAt` (in any offset). */
const sceneOne = (title: string, updatedAt: string) =>
  SimStash.sampleScene(1, { title, files: [fileAt("/data/scenes/1.mp4")], updatedAt })

/** Replaces scene 1 in the simulated Stash as Stash would have stored it at `updatedAt` (in any offset). */
const save = (fields: { readonly title: string }, updatedAt: string) =>
  Effect.flatMap(SimStash.SimStash, (sim) => sim.addScenes([sceneOne(fields.title, updatedAt)]))

describe("ChangeFeed: two saves within one Stash second", () => {
  for (const offsetMinutes of [-300, 330]) {
    const at = formatStashTime(second, offsetMinutes)

    it.scoped(`queues the second version of a second already synced (updated_at ${at})`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const scene = sceneOne("A person's edit", at)
        yield* Effect.gen(function*() {
          const feed = yield* ChangeFeed.ChangeFeed
          yield* TestClock.setTime(base)
          const first = yield* feed.poll
          assert.strictEqual(first.queued, 1)
          assert.strictEqual(yield* work, 1)
          assert.strictEqual(yield* title("1001"), "A person's edit")

          // Still within 10:00:00: the scraper saves again, and Stash writes the very same updated_at.
          yield* TestClock.adjust(300)
          yield* save({ title: "The scraper's edit" }, at)
          // Within the margin the feed waits: a fetch now could still miss a save stamped with that second.
          yield* TestClock.adjust(1_000)
          const waiting = yield* feed.poll
          assert.strictEqual(waiting.queued, 0)
          assert.strictEqual(waiting.duplicates, 1)
          // Past the second and its margin: queued once more, and the worker reads the second version.
          yield* TestClock.adjust(ChangeFeed.defaultSameSecondMarginMs)
          const again = yield* feed.poll
          assert.strictEqual(again.queued, 1)
          assert.strictEqual(again.sameSecond, 1)
          assert.strictEqual(again.duplicates, 0)
          assert.strictEqual(yield* work, 1)
          assert.strictEqual(yield* title("1001"), "The scraper's edit")

          // Converges: that fetch came after the second and its margin, so the row is settled for good.
          yield* quietPolls((quiet) =>
            Effect.gen(function*() {
              assert.strictEqual(quiet.queued, 0)
              assert.strictEqual(quiet.duplicates, 1)
              assert.strictEqual(yield* work, 0)
            })
          )
        }).pipe(Effect.provide(world(dir, [scene])))
      }))
  }

  it.scoped("a scene synced well after its second is not queued again, and later polls queue nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const at = formatStashTime(second, -300)
      const scene = sceneOne("Edited", at)
      yield* Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        // Synced ten minutes after the save: later than the second, its margin and a slow sync's allowance.
        yield* TestClock.setTime(second + 10 * 60_000)
        assert.strictEqual((yield* feed.poll).queued, 1)
        assert.strictEqual(yield* work, 1)
        yield* quietPolls((poll) =>
          Effect.sync(() => {
            assert.strictEqual(poll.queued, 0)
            assert.strictEqual(poll.sameSecond, 0)
            assert.strictEqual(poll.duplicates, 1)
          })
        )
        assert.strictEqual(yield* work, 0)
      }).pipe(Effect.provide(world(dir, [scene])), Effect.scoped)

      // A restart (nothing in memory) trusts the recorded sync: it came long after the second.
      yield* Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        const state = Option.getOrThrow(yield* Effect.flatMap(SyncState, (s) => s.get(SceneId.make("1"))))
        yield* TestClock.setTime(state.syncedAt + 30_000)
        for (let i = 0; i < 3; i++) {
          const poll = yield* feed.poll
          assert.strictEqual(poll.queued, 0)
          assert.strictEqual(poll.duplicates, 1)
          yield* TestClock.adjust(30_000)
        }
      }).pipe(Effect.provide(world(dir, [scene])), Effect.scoped)
    }))

  it.scoped("an unchanged save keeps the old syncedAt: queued once more past the margin, then never again", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const scene = sceneOne("Same", formatStashTime(second - 86_400_000, 330))
      yield* Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        const syncState = yield* SyncState
        // Synced yesterday; nothing queued since.
        yield* TestClock.setTime(second - 86_400_000 + 60_000)
        assert.strictEqual((yield* feed.poll).queued, 1)
        assert.strictEqual(yield* work, 1)
        const syncedAt = Option.getOrThrow(yield* syncState.get(SceneId.make("1"))).syncedAt

        // Today at 10:00:00 Stash bumps updated_at without a change Plex shows (a play count, say).
        const at = formatStashTime(second, 330)
        yield* save({ title: "Same" }, at)
        yield* TestClock.setTime(base)
        const edits = yield* plexEdits
        const readsBefore = yield* stashReads
        let requeued = 0
        for (let i = 0; i < 40; i++) {
          const poll = yield* feed.poll
          requeued += poll.sameSecond
          yield* work
          yield* TestClock.adjust(1_000)
        }
        // The job records the new updated_at but not a new syncedAt: syncedAt alone would re-queue it every poll.
        const state = Option.getOrThrow(yield* syncState.get(SceneId.make("1")))
        assert.strictEqual(state.stashUpdatedAt, at)
        assert.strictEqual(state.syncedAt, syncedAt)
        // The first poll queues it as new; polled every second for 40 s, it is queued once more, at the first poll
        // past its second and the margin, and never after.
        assert.strictEqual(requeued, 1)
        assert.strictEqual((yield* stashReads) - readsBefore, 2, "two jobs, one Stash read each")
        assert.strictEqual(yield* plexEdits, edits, "no Plex request for an unchanged scene")
        yield* quietPolls((poll) => Effect.sync(() => assert.strictEqual(poll.queued, 0)))
      }).pipe(Effect.provide(world(dir, [scene])), Effect.scoped)

      // After a restart the recorded state proves nothing (its syncedAt predates the second): queued once, settled.
      const saved = sceneOne("Same", formatStashTime(second, 330))
      yield* Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        yield* TestClock.setTime(base + 120_000)
        const first = yield* feed.poll
        assert.strictEqual(first.queued, 1)
        assert.strictEqual(first.sameSecond, 1)
        yield* work
        for (let i = 0; i < 3; i++) {
          yield* TestClock.adjust(30_000)
          assert.strictEqual((yield* feed.poll).queued, 0)
        }
      }).pipe(Effect.provide(world(dir, [saved])), Effect.scoped)
    }))

  it.scoped("the same instant written in another offset is the same version", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const scene = sceneOne("Edited", formatStashTime(second, -300))
      yield* Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        yield* TestClock.setTime(second + 60_000)
        assert.strictEqual((yield* feed.poll).queued, 1)
        assert.strictEqual(yield* work, 1)
        // Stash now renders the stored time in +05:30 (its zone changed): the same instant, no new version.
        yield* save({ title: "Edited" }, formatStashTime(second, 330))
        yield* TestClock.adjust(30_000)
        const poll = yield* feed.poll
        assert.strictEqual(poll.queued, 0)
        assert.strictEqual(poll.duplicates, 1)
      }).pipe(Effect.provide(world(dir, [scene])))
    }))
})
