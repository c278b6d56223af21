import { assert, describe, it } from "@effect/vitest"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as SimStash from "@plexsync/testing/SimStash"
import { Effect, Layer, TestClock } from "effect"
import * as path from "node:path"
import * as ChangeFeed from "../src/ChangeFeed.js"
import { storeAt, tempDir } from "./support.js"

/**
 * A scene edited while the feed reads a multi-page window moves to the end of the feed: the rows behind it must not
 * shift past the reader. Scenes a minute apart span hours, more than the feed's overlap, so a row skipped once is
 * never read again; scenes all in one second take the feed's id-ordered pages.
 */

const base = Date.parse("2026-02-15T10:00:00Z")

describe("ChangeFeed keyset pages", () => {
  for (
    const [name, stepMs] of [["a minute apart", 60_000], ["all in one second", 0]] as const
  ) {
    it.scoped(`an edit between pages skips no scene (${name})`, () =>
      Effect.gen(function*() {
        const scenes = Array.from(
          { length: 250 },
          (_, i) => SimStash.sampleScene(i + 1, { updatedAt: SimStash.stashTime(base + i * stepMs) })
        )
        const store = storeAt(path.join(yield* tempDir, "plexsync.db"))
        const stash = SimStash.editedAfterFirstPage("5").pipe(Layer.provideMerge(SimStash.layer({ scenes })))
        const env = yield* Layer.build(
          ChangeFeed.layer({ overlapMs: 60 * 60 * 1000, perPage: 100 }).pipe(
            Layer.provideMerge(Layer.mergeAll(stash, store))
          )
        )
        yield* Effect.gen(function*() {
          const feed = yield* ChangeFeed.ChangeFeed
          const queue = yield* SyncQueue
          yield* TestClock.setTime(base + 24 * 3_600_000)
          yield* feed.poll
          // The next poll's window starts an hour before the new watermark (the edit): the early scenes are outside.
          yield* feed.poll
          const queuedScenes = new Set((yield* queue.list({ limit: 1_000 })).map((job) => job.sceneId))
          const missed = scenes.map((s) => s.id).filter((id) => !queuedScenes.has(id))
          assert.deepStrictEqual(missed, [], "scenes never queued")
        }).pipe(Effect.provide(env))
      }))
  }
})
