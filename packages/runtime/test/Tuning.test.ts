import { assert, describe, it } from "@effect/vitest"
import { Either, Option } from "effect"
import type { ConfigSources } from "../src/AppConfig.js"
import { decodeAppConfig } from "../src/AppConfig.js"
import { describeReconcileSchedule, nextReconcileAt, schedulerTuning } from "../src/Tuning.js"

const config = (env: Record<string, string>) => {
  const sources: ConfigSources = { env: { HOME: "/home/u", ...env }, file: Option.none(), cwd: "/", homedir: "/" }
  return Either.getOrThrow(decodeAppConfig(sources))
}

const timingOf = (env: Record<string, string>) => config(env).reconcileSchedule

describe("the reconciliation schedule", () => {
  it("by default runs daily at 03:30 local time: the next 03:30 after now", () => {
    const timing = timingOf({})
    assert.strictEqual(describeReconcileSchedule(timing), "cron \"30 3 * * *\", local time")
    // Local-time constructors, so the test holds in any time zone.
    const evening = new Date(2026, 11, 2, 22, 0).getTime()
    assert.strictEqual(nextReconcileAt(timing, evening, null), new Date(2026, 11, 3, 3, 30).getTime())
    const early = new Date(2026, 11, 3, 1, 15).getTime()
    assert.strictEqual(nextReconcileAt(timing, early, evening), new Date(2026, 11, 3, 3, 30).getTime())
  })

  it("an interval counts from the last run's end, at once when overdue, from the start when none ran", () => {
    const timing = timingOf({ PLEXSYNC_RECONCILE_INTERVAL: "6h" })
    assert.strictEqual(describeReconcileSchedule(timing), "every 6h")
    assert.strictEqual(describeReconcileSchedule(timingOf({ PLEXSYNC_RECONCILE_INTERVAL: "daily" })), "daily")
    const h = 3_600_000
    assert.strictEqual(nextReconcileAt(timing, 10 * h, 8 * h), 14 * h)
    assert.strictEqual(nextReconcileAt(timing, 10 * h, 2 * h), 10 * h)
    assert.strictEqual(nextReconcileAt(timing, 10 * h, null, 9 * h), 15 * h)
  })

  it("never: nothing is scheduled", () => {
    const timing = timingOf({ PLEXSYNC_RECONCILE_AT: "never" })
    assert.strictEqual(nextReconcileAt(timing, 0, null), null)
    assert.strictEqual(describeReconcileSchedule(timing), "never")
    assert.deepStrictEqual(schedulerTuning(config({ PLEXSYNC_RECONCILE_INTERVAL: "never" })).reconcile, {
      _tag: "Never"
    })
  })
})
