import { assert, describe, it } from "@effect/vitest"
import { BreakerState, BreakerStore } from "@plexsync/domain/BreakerStore"
import { SceneId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as TestStore from "@plexsync/testing/TestStore"
import { Duration, Effect, TestClock } from "effect"
import { buildStatus, renderStatus, statusDocument } from "../src/Status.js"

const store = () => TestStore.layer({ prefix: "plexsync-status-" })

/** Plex's breaker open since `openedAt`, as the worker stores it. */
const openPlexBreaker = (openedAt: number) =>
  Effect.flatMap(BreakerStore, (breakers) =>
    breakers.put(
      new BreakerState({
        target: "plex",
        state: "open",
        consecutiveFailures: 5,
        openedAt,
        nextProbeAt: openedAt + 700_000,
        probeAttempt: 2,
        lastError: "PlexServerDown: connect ECONNREFUSED",
        updatedAt: openedAt
      })
    ))

describe("status", () => {
  it.effect("counts waiting jobs as held while a breaker is open, and shows the outage", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(10 * 3_600_000)
      const queue = yield* SyncQueue
      yield* queue.enqueue({ sceneId: SceneId.make("1"), reason: "hook" })
      yield* queue.enqueue({ sceneId: SceneId.make("2"), reason: "hook" })
      const closed = statusDocument(yield* buildStatus())
      assert.deepStrictEqual([closed.queue.queued, closed.queue.due, closed.queue.held], [2, 2, 0])

      const openedAt = 10 * 3_600_000 - 600_000
      yield* openPlexBreaker(openedAt)
      yield* (yield* OutageHistory).open("plex", { startedAt: openedAt, cause: "ECONNREFUSED" })
      yield* (yield* Settings).set(SettingKeys.lastReconcile, JSON.stringify({ scenesChecked: 40, queued: 3 }))

      const report = yield* buildStatus()
      const doc = statusDocument(report)
      assert.deepStrictEqual([doc.queue.queued, doc.queue.due, doc.queue.held], [2, 0, 2])
      assert.strictEqual(doc.breakers.plex.state, "open")
      assert.strictEqual(doc.breakers.plex.openedAt, new Date(openedAt).toISOString())
      assert.strictEqual(doc.breakers.stash.state, "closed")
      assert.strictEqual(doc.currentOutage?.target, "plex")
      assert.strictEqual(doc.currentOutage?.durationMs, 600_000)
      assert.isNull(doc.lastOutage)
      assert.deepStrictEqual(doc.lastReconcile, { scenesChecked: 40, queued: 3 })

      const text = renderStatus(report)
      assert.match(text, /^Queue:\s+2 waiting \(0 due, 2 held by an open breaker\), 0 running/m)
      assert.match(text, /plex OPEN since .*\(10m ago\).*ECONNREFUSED/)
      assert.match(text, /^Outage now:\s+#1 plex from [^(]* \(ongoing, 10m so far\), 0 jobs affected$/m)
      // One line per breaker, the second under the first.
      const lines = text.split("\n")
      const at = lines.findIndex((l) => l.startsWith("Breakers:"))
      assert.match(lines[at]!, /^Breakers:\s+plex OPEN since /)
      assert.strictEqual(lines[at + 1], `${" ".repeat(lines[at]!.indexOf("plex"))}stash closed`)
      assert.match(text, /^Last reconcile:\s+40 scenes checked, 3 queued$/m)
    }).pipe(Effect.provide(store())))

  it.effect("a held job that is due counts once, as held, while a breaker is open", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(10 * 3_600_000)
      const queue = yield* SyncQueue
      yield* queue.enqueue({ sceneId: SceneId.make("1"), reason: "hook" })
      yield* queue.enqueue({ sceneId: SceneId.make("2"), reason: "hook" })
      // Scene 1 failed against Plex and is held by the outage; its retry time has come.
      const [claimed] = yield* queue.claim({ limit: 1, leaseMs: 60_000 })
      yield* queue.retryLater(claimed!, {
        availableAt: 10 * 3_600_000 - 1_000,
        failure: { tag: "PlexServerDown", message: "connect ECONNREFUSED" },
        countAttempt: false,
        held: true
      })
      const openedAt = 10 * 3_600_000 - 600_000
      yield* openPlexBreaker(openedAt)
      const doc = statusDocument(yield* buildStatus())
      assert.deepStrictEqual([doc.queue.queued, doc.queue.due, doc.queue.held], [2, 0, 2])
      // The store's own counts: a held job is not due (the worker frees held jobs when the breaker closes).
      assert.deepStrictEqual(yield* queue.counts, { queued: 2, due: 1, running: 0, held: 1 })
    }).pipe(Effect.provide(store())))

  it.effect("says when the next scheduled reconciliation runs, counted from the last one's end", () =>
    Effect.gen(function*() {
      const h = 3_600_000
      yield* TestClock.setTime(10 * h)
      const every6h = { _tag: "Every", name: "6h", interval: Duration.hours(6) } as const
      const lastEnd = new Date(8 * h).toISOString()
      yield* (yield* Settings).set(SettingKeys.lastReconcile, JSON.stringify({ finishedAt: lastEnd, queued: 0 }))

      const report = yield* buildStatus({ reconcile: every6h })
      const doc = statusDocument(report)
      assert.strictEqual(doc.reconcileSchedule, "every 6h")
      assert.strictEqual(doc.nextReconcileAt, new Date(14 * h).toISOString())
      assert.match(renderStatus(report), /^Next reconcile:\s+.*\(in 4h\); every 6h$/m)

      const never = yield* buildStatus({ reconcile: { _tag: "Never" } })
      assert.isNull(statusDocument(never).nextReconcileAt)
      assert.match(renderStatus(never), /^Next reconcile:\s+not scheduled \(never\)$/m)
      // Without the configuration (a caller that does not know it), nothing is claimed.
      assert.notMatch(renderStatus(yield* buildStatus()), /Next reconcile/)
    }).pipe(Effect.provide(store())))
})
