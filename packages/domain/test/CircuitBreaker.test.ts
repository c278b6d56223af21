import { assert, describe, it } from "@effect/vitest"
import { BreakerState, BreakerStore, closedBreaker } from "@plexsync/domain/BreakerStore"
import {
  admission,
  defaultBreakerPolicy as policy,
  makeBreakers,
  onFailure,
  onProbe,
  onSuccess,
  probeDelay,
  probeDue
} from "@plexsync/domain/CircuitBreaker"
import type { Step } from "@plexsync/domain/CircuitBreaker"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { Effect, Option, TestClock } from "effect"
import { store } from "./WorkerWorld.js"

const at = (now: number) => ({ now, policy, random: 0.5 })

const failTimes = (state: BreakerState, n: number, now = 0): Step => {
  let step: Step = { state, transition: null, changed: false }
  for (let i = 0; i < n; i++) step = onFailure(step.state, "PlexServerDown: refused", at(now))
  return step
}

describe("breaker state machine", () => {
  it("opens after 5 consecutive failures, not before", () => {
    const four = failTimes(closedBreaker("plex", 0), 4)
    assert.strictEqual(four.state.state, "closed")
    assert.strictEqual(admission(four.state), "all")
    const five = onFailure(four.state, "PlexServerDown: refused", at(1000))
    assert.strictEqual(five.state.state, "open")
    assert.strictEqual(five.transition, "opened")
    assert.strictEqual(five.state.openedAt, 0, "the outage starts at the streak's first failure")
    assert.strictEqual(admission(five.state), "none")
    assert.strictEqual(five.state.lastError, "PlexServerDown: refused")
  })

  it("a success resets the count", () => {
    const four = failTimes(closedBreaker("plex", 0), 4)
    const reset = onSuccess(four.state, 10)
    assert.strictEqual(reset.state.consecutiveFailures, 0)
    assert.strictEqual(failTimes(reset.state, 4).state.state, "closed")
    // a success with nothing to reset changes nothing (no write per job)
    assert.isFalse(onSuccess(reset.state, 11).changed)
  })

  it("probes back off from 5 s to 60 s with jitter", () => {
    assert.strictEqual(probeDelay(0, policy, 0.5), 5_000)
    assert.strictEqual(probeDelay(1, policy, 0.5), 10_000)
    assert.strictEqual(probeDelay(3, policy, 0.5), 40_000)
    assert.strictEqual(probeDelay(4, policy, 0.5), 60_000)
    assert.strictEqual(probeDelay(40, policy, 0.99), 60_000)
    assert.strictEqual(probeDelay(0, policy, 0), 5_000)
    assert.strictEqual(probeDelay(2, policy, 0), 15_000)
    assert.strictEqual(probeDelay(2, policy, 0.999), 24_990)
  })

  it("C→O→H→C: a good probe half-opens, one success closes", () => {
    const open = failTimes(closedBreaker("plex", 0), 5, 0).state
    assert.isFalse(probeDue(open, 4_999))
    assert.isTrue(probeDue(open, 5_000))
    const failedProbe = onProbe(open, { ok: false, error: "refused" }, at(5_000))
    assert.strictEqual(failedProbe.state.state, "open")
    assert.strictEqual(failedProbe.transition, null)
    assert.strictEqual(failedProbe.state.nextProbeAt, 15_000)
    const half = onProbe(failedProbe.state, { ok: true }, at(15_000))
    assert.strictEqual(half.transition, "half_opened")
    assert.strictEqual(admission(half.state), "trial")
    const closed = onSuccess(half.state, 15_100)
    assert.strictEqual(closed.transition, "closed")
    assert.deepStrictEqual(
      [closed.state.state, closed.state.openedAt, closed.state.consecutiveFailures],
      ["closed", null, 0]
    )
  })

  it("C→O→H→O keeps the outage start and backs off further", () => {
    const open = failTimes(closedBreaker("plex", 0), 5, 100).state
    const half = onProbe(open, { ok: true }, at(5_100)).state
    const reopened = onFailure(half, "PlexServerDown: reset", at(5_200))
    assert.strictEqual(reopened.transition, "reopened")
    assert.strictEqual(reopened.state.state, "open")
    assert.strictEqual(reopened.state.openedAt, 100, "same outage")
    assert.strictEqual(reopened.state.nextProbeAt, 5_200 + 10_000)
    // a failed half-open probe re-opens the same way
    const again = onProbe(
      onProbe(reopened.state, { ok: true }, at(20_000)).state,
      { ok: false, error: "x" },
      at(20_001)
    )
    assert.strictEqual(again.transition, "reopened")
    assert.strictEqual(again.state.openedAt, 100)
  })

  it("a half-open probe success closes too (no job needed)", () => {
    const half = onProbe(failTimes(closedBreaker("plex", 0), 5).state, { ok: true }, at(5_000)).state
    assert.isTrue(probeDue(half, 10_000))
    assert.strictEqual(onProbe(half, { ok: true }, at(10_000)).transition, "closed")
  })

  it("results of jobs in flight when it opened do not move an open breaker", () => {
    const open = failTimes(closedBreaker("plex", 0), 5).state
    assert.isFalse(onSuccess(open, 10).changed)
    assert.isFalse(onFailure(open, "late", at(10)).changed)
  })
})

describe("breaker service with outage records (SQLite)", () => {
  const outagesOf = Effect.flatMap(OutageHistory, (h) => h.list({ limit: 100 }))
  const storedState = (target: "plex" | "stash") => Effect.flatMap(BreakerStore, (s) => s.get(target))

  it.scoped("one outage per outage, however many half-open trials fail; state persisted", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      const breakers = yield* makeBreakers(policy)
      for (let i = 0; i < 5; i++) yield* breakers.recordFailure("plex", "PlexServerDown: refused")
      assert.isTrue(Option.isSome(yield* breakers.currentOutage("plex")))
      const opened = yield* outagesOf
      assert.strictEqual(opened.length, 1)
      assert.strictEqual(opened[0]!.startedAt, 1_000_000)
      assert.strictEqual(opened[0]!.cause, "PlexServerDown: refused")
      assert.strictEqual((yield* storedState("plex")).state, "open")
      for (let round = 0; round < 3; round++) {
        yield* TestClock.adjust("61 seconds")
        assert.strictEqual((yield* breakers.recordProbe("plex", { ok: true })).step.transition, "half_opened")
        assert.strictEqual((yield* storedState("plex")).state, "half_open")
        assert.strictEqual(
          (yield* breakers.recordFailure("plex", "PlexServerDown: refused")).step.transition,
          "reopened"
        )
      }
      assert.strictEqual((yield* outagesOf).length, 1, "failed trials open no new outage")
      yield* TestClock.adjust("61 seconds")
      yield* breakers.recordProbe("plex", { ok: true })
      const closed = yield* breakers.recordSuccess("plex")
      assert.strictEqual(closed.step.transition, "closed")
      assert.strictEqual(Option.getOrThrow(closed.outage).endedAt, 1_000_000 + 4 * 61_000)
      const [outage] = yield* outagesOf
      assert.strictEqual(outage!.endedAt, 1_000_000 + 4 * 61_000)
      assert.isTrue(Option.isNone(yield* breakers.currentOutage("plex")))
      assert.strictEqual((yield* storedState("plex")).state, "closed")
      // the stash breaker was never touched
      assert.strictEqual((yield* breakers.state("stash")).state, "closed")
    }).pipe(Effect.provide(store())))

  it.scoped("a restart keeps the breaker and its outage, and mends a crash between the two writes", () =>
    Effect.gen(function*() {
      const first = yield* makeBreakers(policy)
      for (let i = 0; i < 5; i++) yield* first.recordFailure("plex", "down")
      const second = yield* makeBreakers(policy)
      assert.strictEqual((yield* second.state("plex")).state, "open")
      const [outage] = yield* outagesOf
      assert.strictEqual(Option.getOrThrow(yield* second.currentOutage("plex")).id, outage!.id)
      // a crash after the breaker was stored open but before its outage was recorded
      const breakerStore = yield* BreakerStore
      // (opened at 5, written last at 9: the outage starts when the breaker opened)
      yield* breakerStore.put(new BreakerState({ ...closedBreaker("stash", 9), state: "open", openedAt: 5 }))
      const third = yield* makeBreakers(policy)
      assert.strictEqual(Option.getOrThrow(yield* third.currentOutage("stash")).startedAt, 5)
      assert.strictEqual((yield* outagesOf).length, 2)
      // and the other way round: an outage left open by a breaker that closed
      const history = yield* OutageHistory
      yield* breakerStore.put(closedBreaker("stash", 10))
      yield* TestClock.setTime(20)
      yield* makeBreakers(policy)
      assert.isTrue(Option.isNone(yield* history.current("stash")))
    }).pipe(Effect.provide(store())))
})
