import { assert, describe, it } from "@effect/vitest"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { noProgress } from "@plexsync/runtime/Present"
import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import * as SimStash from "@plexsync/testing/SimStash"
import * as TestStore from "@plexsync/testing/TestStore"
import { Effect, Layer, Option, TestClock } from "effect"
import * as path from "node:path"
import * as Work from "../src/Work.js"

/**
 * `plexsync sync` reads Stash page by page. A scene edited during the read moves to the end of Stash's
 * `updated_at` order: pages by offset over that order then shift, and the scene behind the edited one is never
 * read. Pages by key (scene id) do not move.
 */

const base = Date.parse("2026-02-15T10:00:00Z")
const tempDir = TestStore.tempDir("plexsync-sync-keyset-")

describe("plexsync sync pages", () => {
  const selections: ReadonlyArray<readonly [string, Work.SyncSelection]> = [
    ["every scene", { _tag: "All" }],
    ["changed since a time", { _tag: "Since", ms: base - 60_000 }],
    ["since the watermark, none yet", { _tag: "Watermark", fallbackMs: Option.none() }]
  ]
  for (const [name, selection] of selections) {
    it.scoped(`an edit between pages skips no scene (${name})`, () =>
      Effect.gen(function*() {
        const scenes = Array.from(
          { length: 1_200 },
          (_, i) => SimStash.sampleScene(i + 1, { updatedAt: SimStash.stashTime(base + i * 60_000) })
        )
        const store = storeOnFile(path.join(yield* tempDir, "plexsync.db"))
        const stash = SimStash.editedAfterFirstPage("5").pipe(Layer.provideMerge(SimStash.layer({ scenes })))
        const env = yield* Layer.build(Layer.mergeAll(stash, store))
        yield* Effect.gen(function*() {
          // The edit is stamped now: after every scene, so it moves to the end of Stash's order.
          yield* TestClock.setTime(base + 24 * 3_600_000)
          const report = yield* Work.sync(selection, noProgress)
          const queued = new Set((yield* (yield* SyncQueue).list({ limit: 5_000 })).map((job) => job.sceneId))
          const missed = scenes.map((s) => s.id).filter((id) => !queued.has(id))
          assert.deepStrictEqual(missed, [], "scenes never queued")
          assert.strictEqual((report.json as { readonly queued: number }).queued, 1_200)
        }).pipe(Effect.provide(env))
      }))
  }
})
