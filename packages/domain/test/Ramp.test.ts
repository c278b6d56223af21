import { assert, describe, it } from "@effect/vitest"
import { defaultRampPolicy as policy, failureShare, isOver, rate, record, startRamp, take } from "@plexsync/domain/Ramp"
import type { RampState } from "@plexsync/domain/Ramp"

/** Starts as many jobs as the ramp lets through between `from` and `to` (ms), asking whenever it says. */
const simulate = (state: RampState, from: number, to: number) => {
  let s = state
  let now = from
  let started = 0
  while (now < to) {
    const step = take(s, now, policy)
    s = step.state
    if (step.wait === 0) started++
    else now += step.wait
  }
  return { started, state: s }
}

describe("recovery ramp", () => {
  it("ramps linearly from 5 to 20 jobs/s over 300 s", () => {
    const s = startRamp(0)
    assert.strictEqual(rate(s, 0, policy), 5)
    assert.strictEqual(rate(s, 150_000, policy), 12.5)
    assert.strictEqual(rate(s, 300_000, policy), 20)
    assert.strictEqual(rate(s, 900_000, policy), 20)
    assert.isFalse(isOver(s, 299_999, policy))
    assert.isTrue(isOver(s, 300_000, policy))
  })

  it("lets through about the ramp's rate, with no burst", () => {
    const first10s = simulate(startRamp(0), 0, 10_000).started
    // 5/s rising to 5.5/s: about 52 jobs, plus the first one at once
    assert.isTrue(first10s >= 50 && first10s <= 55, `first 10 s: ${first10s}`)
    const late = simulate(startRamp(0), 300_000, 310_000).started
    assert.isTrue(late >= 199 && late <= 202, `at full rate: ${late}`)
    // no burst: two jobs never start at the same instant, not even after a long idle spell
    const s = take(startRamp(0), 0, policy).state
    assert.isAbove(take(s, 0, policy).wait, 0)
    const afterIdle = take(s, 60_000, policy)
    assert.strictEqual(afterIdle.wait, 0)
    assert.isAbove(take(afterIdle.state, 60_000, policy).wait, 0, "a minute idle saves up no second start")
  })

  it("halves for 60 s when more than 30 % of a 60 s window fail, then returns", () => {
    let s = startRamp(0)
    for (let i = 0; i < 6; i++) s = record(s, 1000 + i, true, policy)
    for (let i = 0; i < 3; i++) s = record(s, 2000 + i, false, policy)
    assert.isTrue(failureShare(s, 2002, policy) > 0.3)
    assert.strictEqual(s.halvedUntil, 2002 + 60_000)
    assert.closeTo(rate(s, 3000, policy), (5 + 15 * (3000 / 300_000)) / 2, 1e-9)
    assert.closeTo(rate(s, 63_000, policy), 5 + 15 * (63_000 / 300_000), 1e-9)
    // failures while halved do not stretch the 60 s
    const during = record(s, 30_000, false, policy)
    assert.strictEqual(during.halvedUntil, 2002 + 60_000)
    assert.closeTo(rate(during, 63_000, policy), 5 + 15 * (63_000 / 300_000), 1e-9)
  })

  it("a few failures below the sample minimum, or 30 % exactly, do not halve", () => {
    let s = startRamp(0)
    s = record(s, 10, false, policy)
    s = record(s, 11, false, policy)
    assert.strictEqual(s.halvedUntil, 0)
    let t = startRamp(0)
    for (let i = 0; i < 7; i++) t = record(t, 100 + i, true, policy)
    for (let i = 0; i < 3; i++) t = record(t, 200 + i, false, policy)
    assert.strictEqual(t.halvedUntil, 0)
  })

  it("old results leave the window", () => {
    let s = startRamp(0)
    for (let i = 0; i < 10; i++) s = record(s, i, false, policy)
    assert.strictEqual(failureShare(s, 70_000, policy), 0)
    s = record(s, 70_000, true, policy)
    assert.strictEqual(s.results.length, 1)
  })

  it("a halving in force keeps the ramp going past its end", () => {
    let s = startRamp(0)
    for (let i = 0; i < 10; i++) s = record(s, 290_000 + i, false, policy)
    assert.isFalse(isOver(s, 300_000, policy))
    assert.strictEqual(rate(s, 300_000, policy), 10)
    assert.isTrue(isOver(s, 350_010, policy))
  })
})
