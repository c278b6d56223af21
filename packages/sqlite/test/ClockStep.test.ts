import { assert, describe, it } from "@effect/vitest"
import type { JobFailure } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Effect, TestClock } from "effect"
import { freshStore, scene } from "./support.js"

const notFound: JobFailure = { tag: "PlexNotFound", message: "no Plex item for /media/a.mp4" }
const HOUR = 3_600_000
const T0 = 10 * HOUR

describe("SyncQueue when the wall clock is set back", () => {
  it.scoped("a retry keeps its remaining wait instead of waiting out the jump", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const q = yield* SyncQueue
      yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
      yield* q.enqueue({ sceneId: scene(2), reason: "hook" })
      const [first] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
      yield* q.retryLater(first!, { availableAt: T0 + 30_000, failure: notFound, countAttempt: true, held: false })

      yield* TestClock.setTime(T0 - HOUR)
      // Scene 2 was due when the clock stepped back: still due now, not in an hour.
      const [second] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
      assert.strictEqual(second?.job.sceneId, scene(2))
      yield* q.complete(second!)

      // Scene 1 had 30 s left: due 30 s after the step, not when the clock catches up.
      assert.deepStrictEqual(yield* q.claim({ limit: 1, leaseMs: 60_000 }), [])
      yield* TestClock.adjust("31 seconds")
      const [retried] = yield* q.claim({ limit: 1, leaseMs: 60_000 })
      assert.strictEqual(retried?.job.sceneId, scene(1))
      assert.strictEqual(retried?.job.attempts, 1)
    }).pipe(Effect.provide(freshStore())))

  it.scoped("a crashed worker's lease expires one lease length after the step, not an hour later", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const q = yield* SyncQueue
      yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
      yield* q.claim({ limit: 1, leaseMs: 15_000 })
      yield* TestClock.setTime(T0 - HOUR)
      assert.deepStrictEqual(yield* q.claim({ limit: 1, leaseMs: 15_000 }), [])
      yield* TestClock.adjust("16 seconds")
      const [reclaimed] = yield* q.claim({ limit: 1, leaseMs: 15_000 })
      assert.strictEqual(reclaimed?.job.sceneId, scene(1))
    }).pipe(Effect.provide(freshStore())))

  it.scoped("a clock that only moves forward never rewrites due times", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const q = yield* SyncQueue
      const { jobId } = yield* q.enqueue({ sceneId: scene(1), reason: "hook", availableAt: T0 + 60_000 })
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* q.claim({ limit: 1, leaseMs: 15_000 }), [])
      const job = yield* q.get(jobId)
      assert.strictEqual(job._tag === "Some" ? job.value.availableAt : -1, T0 + 60_000)
    }).pipe(Effect.provide(freshStore())))
})
