import { assert, describe, it } from "@effect/vitest"
import { SceneId } from "@plexsync/domain/Ids"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Chunk, Effect, Fiber, Layer, Stream } from "effect"
import { externalWrites } from "../src/ExternalWrites.js"
import { storeOnFile } from "../src/StoreLive.js"
import { dbFile } from "./support.js"

describe("externalWrites", () => {
  it.scopedLive("wakes on another process's commit, not on this connection's own", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      // Two stores on one file: two connections, as the scheduler and a `plexsync hook` process have.
      const ours = yield* Layer.build(storeOnFile(filename, { quickCheck: false }))
      const theirs = yield* Layer.build(storeOnFile(filename, { quickCheck: false }))
      const enqueue = (id: string) =>
        Effect.flatMap(SyncQueue, (queue) => queue.enqueue({ sceneId: SceneId.make(id), reason: "hook" }))

      const woken = yield* Stream.runCollect(Stream.take(externalWrites(filename), 1)).pipe(
        Effect.provide(ours),
        Effect.timeout("3 seconds"),
        Effect.fork
      )
      yield* Effect.sleep("100 millis")
      yield* Effect.provide(enqueue("1"), ours)
      yield* Effect.sleep("300 millis")
      assert.isNull(woken.unsafePoll(), "this connection's own commit wakes nothing")
      yield* Effect.provide(enqueue("2"), theirs)
      assert.strictEqual(Chunk.size(yield* Fiber.join(woken)), 1, "another connection's commit wakes at once")
    }))

  it.scopedLive("where the folder cannot be watched, reads data_version on a timer instead", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      const ours = yield* Layer.build(storeOnFile(filename, { quickCheck: false }))
      const theirs = yield* Layer.build(storeOnFile(filename, { quickCheck: false }))
      // A folder that does not exist cannot be watched; the store is the real one.
      const woken = yield* Stream.runCollect(
        Stream.take(externalWrites("/nonexistent-plexsync-folder/plexsync.db", { unwatchedPollMs: 50 }), 1)
      ).pipe(Effect.provide(ours), Effect.timeout("3 seconds"), Effect.fork)
      yield* Effect.sleep("100 millis")
      yield* Effect.provide(
        Effect.flatMap(SyncQueue, (queue) => queue.enqueue({ sceneId: SceneId.make("1"), reason: "hook" })),
        theirs
      )
      assert.strictEqual(Chunk.size(yield* Fiber.join(woken)), 1, "another connection's commit still wakes")
    }))
})
