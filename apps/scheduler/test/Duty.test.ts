import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Queue, Ref, Stream, TestClock } from "effect"
import { duty, dutyAt, dutyWoken } from "../src/Duty.js"

describe("Duty", () => {
  it.effect("keeps ticking on its schedule through failures and defects, and stops when interrupted", () =>
    Effect.gen(function*() {
      const ticks = yield* Ref.make(0)
      const tick = Ref.updateAndGet(ticks, (n) => n + 1).pipe(
        Effect.flatMap((n) => n === 2 ? Effect.fail("Stash is down") : n === 3 ? Effect.die("boom") : Effect.void)
      )
      const fiber = yield* Effect.fork(duty("test duty", tick, "1 second"))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* Ref.get(ticks), 6)
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* Ref.get(ticks), 6)
    }))

  it.effect("a long-period duty waits one interval before its first tick", () =>
    Effect.gen(function*() {
      const ticks = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        duty("daily", Ref.update(ticks, (n) => n + 1), "1 day", { firstAfterInterval: true })
      )
      yield* TestClock.adjust("23 hours")
      assert.strictEqual(yield* Ref.get(ticks), 0)
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(yield* Ref.get(ticks), 1)
      yield* TestClock.adjust("1 day")
      assert.strictEqual(yield* Ref.get(ticks), 2)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a woken duty runs at the start and when woken; it looks again soon only while work is pending", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const pending = yield* Ref.make(false)
      const wakeups = yield* Queue.unbounded<void>()
      const tick = Effect.zipRight(Ref.update(runs, (n) => n + 1), Ref.get(pending))
      const fiber = yield* Effect.fork(
        dutyWoken("recovery", tick, { wakeups: Stream.fromQueue(wakeups), everyMs: 300_000, pendingMs: 5_000 })
      )
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Ref.get(runs), 1, "at the start")
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual(yield* Ref.get(runs), 1, "nothing pending: no look for minutes")
      yield* Ref.set(pending, true)
      yield* Queue.offer(wakeups, undefined)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Ref.get(runs), 2, "woken: at once")
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Ref.get(runs), 4, "pending: every 5 s")
      yield* Ref.set(pending, false)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Ref.get(runs), 5, "settled: the long interval again")
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual(yield* Ref.get(runs), 6)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a scheduled duty runs at the times asked for, and retries a failure no sooner than it is told", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make<Array<number>>([])
      // The schedule: every 10 s from the last success (as a reconciliation's record gives it).
      const lastSuccess = yield* Ref.make(0)
      const nextAt = Effect.map(Ref.get(lastSuccess), (t) => t + 10_000)
      const tick = Effect.gen(function*() {
        const now = yield* TestClock.currentTimeMillis
        const n = (yield* Ref.updateAndGet(runs, (xs) => [...xs, now])).length
        if (n === 2) return yield* Effect.fail("Stash is down")
        yield* Ref.set(lastSuccess, now)
      })
      const fiber = yield* Effect.fork(dutyAt("scheduled", tick, nextAt, { retryAfterMs: 3_000 }))
      yield* TestClock.adjust("9 seconds")
      assert.deepStrictEqual(yield* Ref.get(runs), [])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Ref.get(runs), [10_000])
      // At 20 s it fails; its schedule says "now" again, but the retry waits 3 s.
      yield* TestClock.adjust("12 seconds")
      assert.deepStrictEqual(yield* Ref.get(runs), [10_000, 20_000])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Ref.get(runs), [10_000, 20_000, 23_000])
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* Ref.get(runs), [10_000, 20_000, 23_000, 33_000])
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("a scheduled duty with nothing scheduled never runs", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        dutyAt("never", Ref.update(runs, (n) => n + 1), Effect.succeed(null), { retryAfterMs: 1_000 })
      )
      yield* TestClock.adjust("30 days")
      assert.strictEqual(yield* Ref.get(runs), 0)
      yield* Fiber.interrupt(fiber)
    }))
})
