import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Ref, TestClock } from "effect"
import { duty } from "../src/Duty.js"

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
})
