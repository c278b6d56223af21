import { assert, describe, it } from "@effect/vitest"
import type { AdaptiveLimitSettings } from "@plexsync/domain/AdaptiveLimit"
import { defaultAdaptiveLimit, initialLimitState, makeAdaptiveLimiter, step } from "@plexsync/domain/AdaptiveLimit"
import { Duration, Effect, Fiber, TestClock } from "effect"

/** How a simulated Plex answers a request sent with `n` requests in flight (itself included), at `now`. */
type Server = (n: number, now: number) => { readonly latencyMs: number; readonly fails: boolean }

interface Run {
  /** The limit at each ms of the run. */
  readonly limits: Array<number>
  /** Clock ms at which each request was answered. */
  readonly answered: Array<{ readonly at: number; readonly failed: boolean }>
}

/**
 * Keeps as many requests in flight as the limit allows for `durationMs`, as the worker does: a millisecond-stepped
 * simulation over the limiter's decision (`step`), each answer a sample at its own time.
 */
const simulate = (settings: AdaptiveLimitSettings, server: Server, durationMs: number): Run => {
  const state = initialLimitState(settings)
  const run: Run = { limits: [], answered: [] }
  let flying: Array<{ startedAt: number; answerAt: number; fails: boolean; sentWith: number }> = []
  for (let now = 0; now < durationMs; now++) {
    const due = flying.filter((r) => r.answerAt <= now)
    flying = flying.filter((r) => r.answerAt > now)
    for (const r of due) {
      const sample = {
        kind: "edit",
        startedAt: r.startedAt,
        latencyMs: r.answerAt - r.startedAt,
        overload: r.fails,
        inFlight: r.sentWith
      }
      step(settings, state, sample, now)
      run.answered.push({ at: now, failed: r.fails })
    }
    while (flying.length < Math.floor(state.limit)) {
      const sentWith = flying.length + 1
      const { fails, latencyMs } = server(sentWith, now)
      flying.push({ startedAt: now, answerAt: now + latencyMs, fails, sentWith })
    }
    run.limits.push(Math.floor(state.limit))
  }
  return run
}

const window = (run: Run, fromMs: number, toMs: number) => run.limits.slice(fromMs, toMs)
const answeredBetween = (run: Run, fromMs: number, toMs: number) =>
  run.answered.filter((a) => !a.failed && a.at >= fromMs && a.at < toMs).length

/** 20 ms an answer up to 4 in flight; each request beyond them adds 8 ms (so more at once is slower overall). */
const loaded: Server = (n) => ({ latencyMs: 20 + 8 * Math.max(0, n - 4), fails: false })

describe("the adaptive concurrency limit", () => {
  it("grows to its ceiling while Plex's latency holds", () => {
    const run = simulate(defaultAdaptiveLimit(16), () => ({ latencyMs: 20, fails: false }), 2_000)
    assert.strictEqual(run.limits[0], 2, "it starts low")
    assert.strictEqual(run.limits.at(-1), 16)
    assert.isAtMost(run.limits.indexOf(16), 500, "slow start reaches the ceiling quickly")
  })

  it("settles next to where Plex is fastest when its latency rises with load, never at the ceiling", () => {
    const run = simulate(defaultAdaptiveLimit(32), loaded, 20_000)
    const late = window(run, 10_000, 20_000)
    assert.isAtMost(Math.max(...late), 6)
    assert.isAtLeast(Math.min(...late), 3)
    // The best fixed concurrency here is 4: 4 answers per 20 ms, 200 a second. The limit holds while Plex queues
    // about one of its requests (5 in flight: 178 a second), as it must where the jobs spend part of their time
    // outside Plex.
    const perSecond = answeredBetween(run, 10_000, 20_000) / 10
    assert.isAtLeast(perSecond, 0.85 * 200, `${perSecond} answers a second`)
  })

  it("leaves slow start without overshooting the knee far, and gets there within a second", () => {
    const run = simulate(defaultAdaptiveLimit(32), loaded, 5_000)
    assert.isAtMost(Math.max(...run.limits), 8, "slow start doubles at most once past the knee")
    assert.isAtMost(run.limits.findIndex((l) => l >= 4), 1_000)
  })

  it("backs off before a server that answers 503 above 12 in flight, with only a few failed answers", () => {
    const server: Server = (n) => ({ latencyMs: 20 + 4 * Math.max(0, n - 8), fails: n > 12 })
    const run = simulate(defaultAdaptiveLimit(24), server, 10_000)
    const failed = run.answered.filter((a) => a.failed).length
    assert.isAtMost(Math.max(...window(run, 2_000, 10_000)), 12)
    assert.isAtMost(failed, run.answered.length * 0.01, `${failed} of ${run.answered.length} answers failed`)
  })

  it("drops to one job at a time when Plex times out, and grows back when it answers again", () => {
    // From 1 s to 22 s every request times out after 5 s (a timeout counts as overload): each round of timeouts
    // halves the limit once, at 6, 11, 16 and 21 s.
    const down = (now: number) => now >= 1_000 && now < 22_000
    const server: Server = (_, now) => down(now) ? { latencyMs: 5_000, fails: true } : { latencyMs: 20, fails: false }
    const run = simulate(defaultAdaptiveLimit(16), server, 30_000)
    assert.strictEqual(run.limits[999], 16)
    assert.deepStrictEqual([5_999, 6_001, 11_001, 16_001, 21_001].map((ms) => run.limits[ms]), [16, 8, 4, 2, 1])
    assert.strictEqual(run.limits.at(-1), 16, "grows back once Plex answers in time")
  })

  it("halves on 503s — once for a burst of answers to requests sent together — and grows back after", () => {
    const failing = (now: number) => now >= 1_000 && now < 1_020
    const run = simulate(defaultAdaptiveLimit(16), (_, now) => ({ latencyMs: 20, fails: failing(now) }), 4_000)
    assert.strictEqual(run.limits[999], 16)
    // Every request sent in those 20 ms failed; the ones sent together at the ceiling shrink the limit once.
    assert.strictEqual(Math.min(...window(run, 1_020, 1_100)), 8, "one halving for the burst, not one per answer")
    assert.isAbove(run.answered.filter((a) => a.failed).length, 8)
    assert.strictEqual(run.limits.at(-1), 16, "grows back once the errors stop")
  })

  it("keeps backing off while Plex keeps failing, down to one job at a time, never to none", () => {
    const run = simulate(defaultAdaptiveLimit(16), (_, now) => ({ latencyMs: 20, fails: now >= 1_000 }), 2_000)
    assert.strictEqual(run.limits.at(-1), 1)
    assert.isAbove(answeredBetween(run, 0, 1_000), 0)
  })

  it("shrinks when Plex slows down under the same load (latency growth), without any error", () => {
    // Past 2 s, Plex's latency grows with the load (it did not before), while the limit is at the ceiling.
    const server: Server = (n, now) => ({ latencyMs: now < 2_000 ? 20 : 20 + 10 * n, fails: false })
    const run = simulate(defaultAdaptiveLimit(16), server, 6_000)
    assert.strictEqual(run.limits[1_999], 16)
    assert.isBelow(Math.max(...window(run, 4_000, 6_000)), 16)
    assert.strictEqual(run.answered.filter((a) => a.failed).length, 0)
  })

  it.effect("times each Plex request on the clock; an overloaded answer shrinks the limit, another failure does not", () =>
    Effect.gen(function*() {
      const limiter = yield* makeAdaptiveLimiter(defaultAdaptiveLimit(8))
      const answer = (ms: number, error: "503" | "404" | null) =>
        limiter.track(
          "getItem",
          Effect.sleep(Duration.millis(ms)).pipe(Effect.zipRight(error === null ? Effect.void : Effect.fail(error))),
          (e) => e === "503"
        ).pipe(Effect.ignore, Effect.fork)
      const settle = (fiber: Fiber.RuntimeFiber<void>) =>
        Effect.zipRight(TestClock.adjust(Duration.millis(50)), Fiber.join(fiber))
      for (let i = 0; i < 6; i++) yield* settle(yield* answer(50, null))
      const grown = yield* limiter.limit
      assert.isAtLeast(grown, 3)
      yield* settle(yield* answer(50, "404"))
      assert.isAtLeast(yield* limiter.limit, grown)
      yield* settle(yield* answer(50, "503"))
      assert.isBelow(yield* limiter.limit, grown)
    }))
})
