import { assert, describe, it } from "@effect/vitest"
import type { Target } from "@plexsync/domain/Ids"
import { OutageId } from "@plexsync/domain/Ids"
import { metricsWindow, Outage, outageMetrics } from "@plexsync/domain/OutageHistory"

const min = 60_000
const hour = 60 * min
const day = 24 * hour

let nextId = 1
const outage = (target: Target, startedAt: number, endedAt: number | null) =>
  new Outage({ id: OutageId.make(nextId++), target, startedAt, endedAt, jobsAffected: 0, cause: null })

describe("outage metrics", () => {
  it("one 10-minute outage, a second after it ended: measured over the window, not from the outage's start", () => {
    const now = 40 * day
    const window = metricsWindow(now, 30 * day, null)
    assert.deepStrictEqual(window, { from: 10 * day, to: now })
    const m = outageMetrics([outage("plex", now - 10 * min - 1_000, now - 1_000)], window)
    assert.strictEqual(m.outages, 1)
    assert.strictEqual(m.downMs, 10 * min)
    assert.strictEqual(m.mttrMs, 10 * min)
    assert.isNull(m.mtbfMs)
    assert.closeTo(m.availability, 100 * (1 - (10 * min) / (30 * day)), 1e-9)
    assert.isAbove(m.availability, 99.97)
  })

  it("the window is clipped to when plexsync started watching", () => {
    const now = 40 * day
    const window = metricsWindow(now, 30 * day, now - 2 * day)
    assert.deepStrictEqual(window, { from: now - 2 * day, to: now })
    const m = outageMetrics([outage("stash", now - day, now - day + 12 * hour)], window)
    assert.strictEqual(m.availability, 75)
    // A database created in the future (a clock stepped back) gives an empty window, not a negative one.
    assert.deepStrictEqual(metricsWindow(now, 30 * day, now + day), { from: now, to: now })
    assert.strictEqual(outageMetrics([], { from: now, to: now }).availability, 100)
  })

  it("several outages, an ongoing one: downtime to now, MTBF from the end of one to the start of the next", () => {
    const now = 100 * hour
    const window = { from: 0, to: now }
    const m = outageMetrics([
      outage("plex", 10 * hour, 11 * hour),
      outage("plex", 20 * hour, 23 * hour),
      outage("plex", 98 * hour, null)
    ], window)
    assert.strictEqual(m.outages, 3)
    assert.strictEqual(m.downMs, 1 * hour + 3 * hour + 2 * hour)
    assert.strictEqual(m.mttrMs, 2 * hour, "the ongoing outage is not a repair yet")
    // Gaps: 11 h → 20 h (9 h), 23 h → 98 h (75 h).
    assert.strictEqual(m.mtbfMs, (9 * hour + 75 * hour) / 2)
    assert.closeTo(m.availability, 94, 1e-9)
  })

  it("overlapping outages are merged: downtime is never counted twice", () => {
    const window = { from: 0, to: 10 * hour }
    // Plex and Stash down together for part of the time; and a Plex record overlapping another Plex record.
    const outages = [
      outage("plex", 1 * hour, 3 * hour),
      outage("stash", 2 * hour, 4 * hour),
      outage("plex", 2 * hour + 30 * min, 2 * hour + 45 * min),
      outage("plex", 6 * hour, 7 * hour)
    ]
    const both = outageMetrics(outages, window)
    assert.strictEqual(both.downMs, 3 * hour + 1 * hour, "1 h–4 h and 6 h–7 h")
    assert.strictEqual(both.outages, 2)
    assert.strictEqual(both.mtbfMs, 2 * hour)
    assert.closeTo(both.availability, 60, 1e-9)

    const plex = outageMetrics(outages.filter((o) => o.target === "plex"), window)
    assert.strictEqual(plex.downMs, 2 * hour + 1 * hour)
    assert.strictEqual(plex.outages, 2)
    const stash = outageMetrics(outages.filter((o) => o.target === "stash"), window)
    assert.strictEqual(stash.downMs, 2 * hour)
    assert.closeTo(stash.availability, 80, 1e-9)
  })

  it("an outage that began before the window counts only its part inside; its repair time counts whole", () => {
    const window = { from: 10 * hour, to: 20 * hour }
    const m = outageMetrics([outage("plex", 8 * hour, 12 * hour), outage("plex", 1 * hour, 2 * hour)], window)
    assert.strictEqual(m.outages, 1, "the outage wholly before the window is not in it")
    assert.strictEqual(m.downMs, 2 * hour)
    assert.strictEqual(m.mttrMs, 4 * hour)
    assert.closeTo(m.availability, 80, 1e-9)
  })
})
