import { assert, describe, it } from "@effect/vitest"
import type { Outage } from "@plexsync/domain/OutageHistory"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import type { SchedulerProcess } from "@plexsync/testing/SchedulerProcess"
import { Effect } from "effect"
import * as Path from "node:path"
import type { Library } from "./e2e.js"
import { freePort, launch, schedulerEnv, startLibrary, tempDir, verifyLibrary, waitFor, withCleanup } from "./e2e.js"
import { storeAt } from "./support.js"

/**
 * "No edit lost, no outage unseen", with the real scheduler (a child process) against the fake servers: outages
 * that do not show as refused jobs (Stash refusing the change feed, Plex hanging past the client's timeout) open
 * their breaker and are recorded once, from their first failure; with a short hold limit every held job reaches the
 * DLQ in time and is recovered once.
 */

interface OutageDoc {
  readonly id: number
  readonly target: "plex" | "stash"
  readonly startedAt: string
  readonly endedAt: string | null
  readonly jobsAffected: number
}

interface Status {
  readonly queue: { readonly queued: number; readonly running: number; readonly held: number }
  readonly dlq: { readonly total: number; readonly byErrorTag: Readonly<Record<string, number>> }
  readonly breakers: Readonly<Record<"plex" | "stash", { readonly state: string }>>
  readonly currentOutage: OutageDoc | null
  readonly lastOutage: OutageDoc | null
  readonly lastRecovery:
    | { readonly trigger: string; readonly window: { readonly outageId: number | null }; readonly recovered: number }
    | null
}

const status = (s: SchedulerProcess) => s.getJson<Status>("/status")

const outagesIn = (database: string) =>
  Effect.runPromise(
    Effect.flatMap(OutageHistory, (h) => h.list({ limit: 100 })).pipe(Effect.provide(storeAt(database)), Effect.scoped)
  ) as Promise<ReadonlyArray<Outage>>

/** Successful edits Plex received, per item. */
const editsByItem = (library: Library) => {
  const out = new Map<string, number>()
  for (const write of library.plex.ledger.entries()) {
    if (
      !write.applied || write.ratingKey === null || write.path.includes("/:/rate") || write.path.includes("/posters")
    ) {
      continue
    }
    const onlyLocks = Object.keys(write.params).every((k) => k.endsWith(".locked") || k === "type" || k === "id")
    if (onlyLocks) continue
    for (const key of write.ratingKey.split(",")) out.set(key, (out.get(key) ?? 0) + 1)
  }
  return out
}

interface Run {
  readonly library: Library
  readonly scheduler: SchedulerProcess
  readonly database: string
  readonly logFile: string
}

/** A library, the scheduler on it, `body`, then everything cleaned up (the log's tail on a failure). */
const withScheduler = async (
  options: {
    readonly scenes: number
    readonly env: Readonly<Record<string, string>>
    readonly stashClockOffsetMs?: number
  },
  before: (library: Library) => Promise<void>,
  body: (run: Run) => Promise<void>
) => {
  const library = await startLibrary({
    scenes: options.scenes,
    ...(options.stashClockOffsetMs === undefined ? {} : { stashClockOffsetMs: options.stashClockOffsetMs })
  })
  const dir = tempDir()
  const dataDir = Path.join(dir, "data")
  const logFile = Path.join(dir, "scheduler.log")
  let scheduler: SchedulerProcess | undefined
  await withCleanup({ dir, logFile: logFile, scheduler: () => scheduler, library: () => library }, async () => {
    await before(library)
    scheduler = await launch(schedulerEnv(library, dataDir, await freePort(), options.env), logFile)
    await body({ library, scheduler, database: Path.join(dataDir, "plexsync.db"), logFile })
    assert.strictEqual(await scheduler.stop(), 0)
  })
}

const synced = (library: Library) => library.plex.state.items().filter((i) => i.lockedFields.length > 0).length

describe("outages end to end", () => {
  it("Stash refusing the change feed opens its breaker and records one outage from the first failure", async () => {
    await withScheduler({ scenes: 6, env: {} }, async () => {}, async ({ database, library, scheduler }) => {
      await waitFor("the first sync", () => synced(library) === 6 || undefined)
      await waitFor("the queue to empty", async () => (await status(scheduler)).queue.queued === 0 || undefined)
      // Nothing is queued: only the change feed (every 500 ms) talks to Stash.
      const refusedAt = Date.now()
      await library.stash.stopListening()
      const open = await waitFor("the Stash breaker to open", async () => {
        const s = await status(scheduler)
        return s.breakers.stash.state === "open" ? s : undefined
      })
      const openedSeenAt = Date.now()
      assert.strictEqual(open.currentOutage?.target, "stash")
      const startedAt = Date.parse(open.currentOutage!.startedAt)
      assert.isAtLeast(startedAt, refusedAt - 50)
      assert.isAtMost(startedAt - refusedAt, 1_500, "the first failed poll, not the fifth")
      assert.isAtLeast(openedSeenAt - startedAt, 1_500, "five polls 500 ms apart came before the breaker opened")

      await library.stash.resumeListening()
      const closed = await waitFor("the Stash breaker to close", async () => {
        const s = await status(scheduler)
        return s.breakers.stash.state === "closed" && s.currentOutage === null ? s : undefined
      })
      assert.strictEqual(closed.lastOutage?.target, "stash")
      const outages = await outagesIn(database)
      assert.strictEqual(outages.length, 1, "one outage")
      assert.strictEqual(outages[0]!.target, "stash")
      assert.strictEqual(outages[0]!.startedAt, startedAt)
      assert.strictEqual(closed.breakers.plex.state, "closed")
    })
  }, 90_000)

  it("Plex hanging past the request timeout opens its breaker; the outage starts at the first timeout", async () => {
    let stalledAt = 0
    await withScheduler(
      {
        scenes: 3,
        env: { PLEXSYNC_CONCURRENCY: "1", PLEXSYNC_BREAKER_THRESHOLD: "2", PLEXSYNC_REQUEST_TIMEOUT: "3s" }
      },
      async (library) => {
        // Plex hangs from the start: every request stalls (no answer, no error) until the client gives up.
        library.plex.faults.inject({ _tag: "Stall" })
        stalledAt = Date.now()
      },
      async ({ database, library, scheduler }) => {
        const open = await waitFor("the Plex breaker to open", async () => {
          const s = await status(scheduler)
          return s.breakers.plex.state === "open" ? s : undefined
        }, 30_000)
        const openedSeenAt = Date.now()
        library.plex.faults.clear()
        const startedAt = Date.parse(open.currentOutage!.startedAt)
        assert.strictEqual(open.currentOutage!.target, "plex")
        assert.include(String((await outagesIn(database))[0]!.cause), "PlexTemporaryError")
        // One job at a time: the first timeout 3 s in, the second (the threshold) 3 s later.
        assert.isAtLeast(startedAt - stalledAt, 2_900, "not before the request timeout")
        assert.isAtLeast(openedSeenAt - startedAt, 2_500, "the outage starts at the first timeout, not the second")

        await waitFor("every scene to sync", () => synced(library) === 3 || undefined, 60_000)
        const outages = await waitFor("the outage to close", async () => {
          const all = await outagesIn(database)
          return all.length === 1 && all[0]!.endedAt !== null ? all : undefined
        })
        assert.strictEqual(outages[0]!.startedAt, startedAt)
        assert.isAtLeast(outages[0]!.endedAt! - outages[0]!.startedAt, 2_500, "not a blip")
      }
    )
  }, 120_000)

  it("with a short hold limit every held job reaches the DLQ in time and is recovered once", async () => {
    await withScheduler(
      // Six scenes, at most two at a time: four fail (each waiting out a backoff of up to a minute) before the fifth
      // failure opens the breaker; the jobs tried are held. Seeded hours ago: only the first poll queues them.
      { scenes: 6, env: { PLEXSYNC_CONCURRENCY: "2", PLEXSYNC_HOLD_LIMIT: "2s" }, stashClockOffsetMs: -3 * 3_600_000 },
      async (library) => {
        await Effect.runPromise(library.plex.faults.refuseConnections)
      },
      async ({ database, library, scheduler }) => {
        const open = await waitFor("the Plex breaker to open", async () => {
          const s = await status(scheduler)
          return s.breakers.plex.state === "open" && s.currentOutage !== null ? s : undefined
        })
        const outageId = open.currentOutage!.id
        const startedAt = Date.parse(open.currentOutage!.startedAt)
        // Every job Plex refused is held and reaches the DLQ at the hold limit. A job the worker had not claimed
        // when the breaker opened (the adaptive limit shrinks on refusals) waits in the queue, untouched.
        const dead = await waitFor("every job tried in the DLQ", async () => {
          const s = await status(scheduler)
          return s.dlq.total >= 5 && s.dlq.total + s.queue.queued === 6 && s.queue.running === 0 ? s : undefined
        }, 20_000)
        assert.isAtMost(Date.now() - startedAt, 2_000 + 6_000, "at the hold limit, not at the end of a backoff")
        assert.deepStrictEqual(dead.dlq.byErrorTag, { PlexServerDown: dead.dlq.total })
        assert.strictEqual(dead.currentOutage?.id, outageId)

        await Effect.runPromise(library.plex.faults.acceptConnections)
        const recovered = await waitFor("the automatic recovery", async () => {
          const s = await status(scheduler)
          return s.lastRecovery?.trigger === "automatic" && s.lastRecovery.window.outageId === outageId ? s : undefined
        })
        assert.strictEqual(recovered.lastRecovery!.recovered, dead.dlq.total)
        await waitFor("the queue to drain", async () => {
          const s = await status(scheduler)
          return s.queue.queued === 0 && s.queue.running === 0 && s.dlq.total === 0 && synced(library) === 6 ||
            undefined
        }, 45_000)
        const verdict = await verifyLibrary(library)
        assert.deepStrictEqual(verdict.mismatches, [])
        assert.strictEqual(verdict.matching, 6)
        const edits = editsByItem(library)
        assert.strictEqual(edits.size, 6)
        assert.isTrue([...edits.values()].every((n) => n === 1), "each scene recovered and written once")
        const outages = await outagesIn(database)
        assert.strictEqual(outages.length, 1)
        assert.isAtLeast(outages[0]!.jobsAffected, dead.dlq.total)
      }
    )
  }, 120_000)
})
