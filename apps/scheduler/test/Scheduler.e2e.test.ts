import { assert, describe, it } from "@effect/vitest"
import { ProcessLease, SettingKeys, Settings } from "@plexsync/domain/Settings"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { formatStashTime } from "@plexsync/testing/FakeStashState"
import type { SchedulerProcess } from "@plexsync/testing/SchedulerProcess"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll } from "vitest"
import type { Library } from "./e2e.js"
import {
  freePort,
  launch,
  logTail,
  rootVersion,
  runToExit,
  schedulerEnv,
  startLibrary,
  tempDir,
  verifyLibrary,
  waitFor,
  withCleanup
} from "./e2e.js"
import { storeAt } from "./support.js"
import { hasChromium, launchBrowser, sayIfNoBrowser } from "./uiTour.js"

/**
 * `plexsync-scheduler` as a user runs it: a child process started from the sources, against the fake Stash and
 * Plex servers over real HTTP, with its own SQLite file.
 */

interface Status {
  readonly version: string
  readonly queue: { readonly queued: number; readonly due: number; readonly running: number; readonly held: number }
  readonly dlq: { readonly total: number; readonly byErrorTag: Readonly<Record<string, number>> }
  readonly breakers: Readonly<Record<"plex" | "stash", { readonly state: string }>>
  readonly currentOutage: { readonly id: number } | null
  readonly lastOutage: { readonly id: number; readonly jobsAffected: number } | null
  readonly lastRecovery:
    | { readonly trigger: string; readonly window: { readonly outageId: number | null }; readonly recovered: number }
    | null
  readonly scheduler: { readonly worker: { readonly state: string; readonly leaseHolder?: string } }
}

const status = (s: SchedulerProcess) => s.getJson<Status>("/status")

const hookBody = (sceneId: number, type = "Scene.Update.Post") =>
  JSON.stringify({
    server_connection: { Scheme: "http", Port: 9999, SessionCookie: null, Dir: "/root/.stash" },
    args: { mode: "hook", hookContext: { id: sceneId, type, input: { id: String(sceneId) }, inputFields: ["title"] } }
  })

const post = (s: SchedulerProcess, body: string, authorization?: string) =>
  fetch(`${s.baseUrl}/hooks/stash`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization === undefined ? {} : { authorization }) },
    body
  })

/** Writes Plex received per item, by kind: an edit, a rating, a poster upload, a lock (of the uploaded poster). */
const writesByItem = (library: Library) => {
  const out = new Map<string, Array<string>>()
  for (const write of library.plex.ledger.entries()) {
    if (!write.applied || write.ratingKey === null) continue
    const onlyLocks = Object.keys(write.params).every((k) => k.endsWith(".locked") || k === "type" || k === "id")
    const kind = write.path.includes("/:/rate")
      ? "rate"
      : write.path.includes("/posters")
      ? "poster"
      : onlyLocks
      ? "lock"
      : "edit"
    for (const key of write.ratingKey.split(",")) out.set(key, [...(out.get(key) ?? []), kind])
  }
  return out
}

sayIfNoBrowser("the overview was not checked in a real browser")

describe("plexsync-scheduler end to end", () => {
  it(
    "records hooks at once (401 without the secret), catches Stash edits with no plugin, and waits for the worker lease",
    async () => {
      // Seeded three hours ago, with the change feed already past them: only what happens now is new.
      const library = await startLibrary({ scenes: 12, stashClockOffsetMs: -3 * 3_600_000 })
      const dir = tempDir()
      const dataDir = Path.join(dir, "data")
      Fs.mkdirSync(dataDir)
      const database = Path.join(dataDir, "plexsync.db")
      // Another process holds the worker lease: this scheduler must record and queue, but not process.
      await Effect.runPromise(
        Effect.gen(function*() {
          const settings = yield* Settings
          const lease = yield* ProcessLease
          yield* settings.set(
            SettingKeys.stashWatermark,
            formatStashTime(Date.now() - 90 * 60_000, library.stash.state.utcOffsetMinutes)
          )
          assert.isTrue(yield* lease.acquire("worker", "another-process", 10 * 60_000))
        }).pipe(Effect.provide(storeAt(database)), Effect.scoped)
      )
      const logFile = Path.join(dir, "scheduler.log")
      const scheduler = await launch(
        schedulerEnv(library, dataDir, await freePort(), { PLEXSYNC_WEBHOOK_SECRET: "s3cret hook" }),
        logFile
      )
      await withCleanup({ dir, logFile: logFile, scheduler: () => scheduler, library: () => library }, async () => {
        const waiting = await waitFor("the worker to wait for the lease", async () => {
          const s = await status(scheduler)
          return s.scheduler.worker.state === "waiting" ? s : undefined
        })
        assert.strictEqual(waiting.scheduler.worker.leaseHolder, "another-process")
        assert.strictEqual(waiting.queue.queued, 0)

        // The webhook secret is required.
        assert.strictEqual((await post(scheduler, hookBody(3))).status, 401)
        assert.strictEqual((await post(scheduler, hookBody(3), "Bearer s3cret")).status, 401)
        assert.strictEqual((await post(scheduler, hookBody(3), "Basic czNjcmV0IGhvb2s=")).status, 401)
        assert.strictEqual((await status(scheduler)).queue.queued, 0)
        const auth = "Bearer s3cret hook"
        const bad = await post(
          scheduler,
          "{\"args\": {\"hookContext\": {\"id\": \"x1\", \"type\": \"Scene.Update.Post\"}}}",
          auth
        )
        assert.strictEqual(bad.status, 400)
        assert.include(((await bad.json()) as { error: string }).error, "not a Stash scene id")
        assert.strictEqual((await post(scheduler, "{\"args\": {\"mode\": \"sync_all\"}}", auth)).status, 422)

        // A scene hook is in the queue before the answer comes back.
        const accepted = await post(scheduler, hookBody(3), auth)
        assert.strictEqual(accepted.status, 202)
        assert.include(((await accepted.json()) as { output: string }).output, "queued scene 3")
        assert.strictEqual((await status(scheduler)).queue.queued, 1)

        // An edit in Stash with no plugin at all: the change feed queues it.
        library.stash.state.updateScene("5", { title: "Changed with no plugin", rating100: 70 })
        await waitFor(
          "the change feed to queue scene 5",
          async () => (await status(scheduler)).queue.queued === 2 || undefined
        )

        // The other process lets go: this scheduler takes the worker lease and syncs both scenes, and nothing else.
        await Effect.runPromise(
          Effect.flatMap(ProcessLease, (lease) => lease.release("worker", "another-process")).pipe(
            Effect.provide(storeAt(database)),
            Effect.scoped
          )
        )
        await waitFor("scenes 3 and 5 to reach Plex", () => {
          const five = library.item("5")
          const three = library.item("3")
          return five?.title === "Changed with no plugin" && five.userRating === 7 && three !== undefined &&
              three.lockedFields.length > 0
            ? true
            : undefined
        })
        await waitFor("the queue to empty", async () => (await status(scheduler)).queue.queued === 0 || undefined)
        const written = writesByItem(library)
        assert.deepStrictEqual(
          [...written.keys()].sort(),
          [library.item("3")!.ratingKey, library.item("5")!.ratingKey].sort()
        )
        const s = await status(scheduler)
        assert.strictEqual(s.scheduler.worker.state, "running")

        assert.strictEqual(s.version, rootVersion)

        const metrics = await (await fetch(`${scheduler.baseUrl}/metrics`)).text()
        assert.include(metrics, `plexsync_build_info{version="${rootVersion}",node="${process.versions.node}"} 1`)
        assert.include(metrics, "plexsync_jobs_processed_total{outcome=\"synced\"} 2")
        assert.include(metrics, "plexsync_queue_jobs{state=\"queued\"} 0")
        assert.include(metrics, "plexsync_breaker_state{target=\"plex\",state=\"closed\"} 1")
        assert.match(metrics, /plexsync_sync_latency_seconds_count 2\n/)

        // Secrets never leave the process: not in its answers, not in its log.
        const answers = JSON.stringify(await status(scheduler)) + metrics +
          (await (await fetch(`${scheduler.baseUrl}/`)).text())
        const log = Fs.readFileSync(logFile, "utf8")
        for (const secret of [library.plex.token, "s3cret hook"]) {
          assert.notInclude(answers, secret)
          assert.notInclude(log, secret)
        }
        assert.strictEqual(await scheduler.stop(), 0)
      }, 30)
    },
    120_000
  )

  it(
    "stops cleanly on SIGTERM mid-drain, survives a SIGKILL, and a restart finishes with every scene synced once",
    async () => {
      const library = await startLibrary({ scenes: 80 })
      library.plex.faults.inject({ _tag: "Latency", ms: 30 })
      const dir = tempDir()
      const dataDir = Path.join(dir, "data")
      const database = Path.join(dataDir, "plexsync.db")
      const logFile = Path.join(dir, "scheduler.log")
      const env = schedulerEnv(library, dataDir, await freePort(), { PLEXSYNC_CONCURRENCY: "4" })
      const synced = () => library.plex.state.items().filter((i) => i.lockedFields.length > 0).length
      /** Scenes whose job is running now, read from the database as another process would. */
      const runningScenes = () =>
        Effect.runPromise(
          Effect.flatMap(SyncQueue, (queue) => queue.list({ limit: 1000 })).pipe(
            Effect.map((jobs) => jobs.filter((j) => j.state === "running").map((j) => j.sceneId as string)),
            Effect.provide(storeAt(database)),
            Effect.scoped
          )
        )
      const inFlightAtStop = new Set<string>()
      let scheduler: SchedulerProcess | undefined
      await withCleanup({ dir, logFile: logFile, scheduler: () => scheduler, library: () => library }, async () => {
        // 1. SIGTERM while the queue drains: in-flight jobs finish within the grace, the rest stay queued.
        scheduler = await launch(env, logFile)
        await waitFor("a first part to sync", () => synced() >= 15 || undefined)
        for (const id of await runningScenes()) inFlightAtStop.add(id)
        const stopping = Date.now()
        const code = await scheduler.stop()
        assert.strictEqual(code, 0)
        assert.isBelow(Date.now() - stopping, 5_000 + 3_000)
        const afterStop = await Effect.runPromise(
          Effect.gen(function*() {
            const queue = yield* SyncQueue
            const lease = yield* ProcessLease
            return { counts: yield* queue.counts, holder: yield* lease.holder("worker") }
          }).pipe(Effect.provide(storeAt(database)), Effect.scoped)
        )
        assert.strictEqual(afterStop.counts.running, 0, "no job is left running with a lease")
        assert.isAbove(afterStop.counts.queued, 0, "the rest of the drain is still queued")
        assert.isTrue(afterStop.holder._tag === "None", "the worker lease is released")

        // 2. Restart, then a crash (SIGKILL): no shutdown at all, leases and the worker lease simply expire.
        scheduler = await launch(env, logFile)
        await waitFor("more to sync", () => synced() >= 40 || undefined)
        for (const id of await runningScenes()) inFlightAtStop.add(id)
        await scheduler.kill()
        for (const id of await runningScenes()) inFlightAtStop.add(id)

        // 3. Restart: it waits out the dead process's leases, then finishes the drain.
        scheduler = await launch(env, logFile)
        await waitFor("the drain to finish", async () => {
          const s = await status(scheduler!)
          return s.queue.queued === 0 && s.queue.running === 0 && synced() === 80 || undefined
        }, 60_000)
        const verdict = await verifyLibrary(library)
        assert.deepStrictEqual(verdict.mismatches, [])
        assert.strictEqual(verdict.matching, 80)

        // Each item was written once per kind; only a job cut off by the crash (or the stop) may have repeated one.
        const inFlightItems = new Set([...inFlightAtStop].map((id) => library.item(id)!.ratingKey))
        const repeated = [...writesByItem(library)].filter(([, kinds]) => new Set(kinds).size !== kinds.length)
        for (const [ratingKey, kinds] of repeated) {
          assert.isTrue(
            inFlightItems.has(ratingKey),
            `item ${ratingKey} was written twice (${kinds.join(", ")}) without being in flight at a stop`
          )
        }
        assert.strictEqual(await scheduler.stop(), 0)
      })
    },
    150_000
  )

  it("answers --help, and refuses bad usage and bad configuration with exit 2, naming what is wrong", async () => {
    const dir = tempDir()
    try {
      const base = { PLEXSYNC_DATA_DIR: Path.join(dir, "data"), PLEXSYNC_PLEX_TOKEN: "a-token-never-printed" }
      const [help, badConfig, noToken, badArg, open] = await Promise.all([
        runToExit(["--help"], {}),
        // Every problem is reported at once.
        runToExit([], { ...base, PLEXSYNC_POLL_INTERVAL: "soon", PLEXSYNC_POLL_INTERVALL: "5s" }),
        runToExit([], { PLEXSYNC_DATA_DIR: base.PLEXSYNC_DATA_DIR }),
        runToExit(["--frobnicate"], base),
        // Reachable beyond this machine with no secret: anyone could post hooks.
        runToExit([], { ...base, PLEXSYNC_HTTP_ADDR: "0.0.0.0:0" })
      ])
      const version = await runToExit(["--version"], {})
      assert.strictEqual(version.code, 0)
      assert.strictEqual(version.stdout, `${rootVersion}\n`, "the root package.json's version")
      assert.strictEqual(open.code, 2)
      assert.strictEqual(
        open.stderr.trim().split("\n").length,
        1,
        `one line: ${open.stderr}`
      )
      assert.include(open.stderr, "PLEXSYNC_HTTP_ADDR 0.0.0.0:0 is reachable beyond this machine")
      assert.include(open.stderr, "set PLEXSYNC_API_TOKEN")
      assert.include(open.stderr, "PLEXSYNC_WEBHOOK_SECRET")
      assert.strictEqual(help.code, 0)
      assert.include(help.stdout, "Usage: plexsync-scheduler [--config FILE]")
      assert.strictEqual(badConfig.code, 2)
      assert.include(badConfig.stderr, "PLEXSYNC_POLL_INTERVAL=\"soon\"")
      assert.include(badConfig.stderr, "PLEXSYNC_POLL_INTERVALL")
      assert.strictEqual(noToken.code, 2)
      assert.include(noToken.stderr, "PLEXSYNC_PLEX_TOKEN is not set")
      assert.strictEqual(badArg.code, 2)
      assert.include(badArg.stderr, "--frobnicate")
      for (const run of [badConfig, noToken, badArg, open]) {
        assert.notInclude(run.stderr + run.stdout, "a-token-never-printed")
        assert.notInclude(run.stderr, "    at ")
      }
      // Nothing ran: no database was created.
      assert.isFalse(Fs.existsSync(Path.join(dir, "data", "plexsync.db")))
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  describe("Plex goes down mid-run", () => {
    let library: Library
    let scheduler: SchedulerProcess
    let dir: string
    let logFile: string
    let outageId: number

    beforeAll(async () => {
      // Seeded an hour back: the change feed's same-second re-read (which would queue every scene again, the
      // outage's DLQ entries included, and leave recovery nothing to re-queue) does not happen.
      library = await startLibrary({ scenes: 40, stashClockOffsetMs: -3_600_000 })
      library.plex.faults.inject({ _tag: "Latency", ms: 20 })
      dir = tempDir()
      logFile = Path.join(dir, "scheduler.log")
      scheduler = await launch(
        schedulerEnv(library, Path.join(dir, "data"), await freePort(), {
          PLEXSYNC_CONCURRENCY: "2",
          PLEXSYNC_BREAKER_THRESHOLD: "1",
          PLEXSYNC_HOLD_LIMIT: "1s"
        }),
        logFile
      )
    }, 90_000)

    afterAll(async () => {
      await scheduler?.kill()
      await library?.close()
      if (dir !== undefined) Fs.rmSync(dir, { recursive: true, force: true })
    })

    it("opens the breaker and records the outage once; held jobs reach the DLQ under the outage class", async () => {
      try {
        await waitFor(
          "some scenes to sync",
          () => library.plex.state.items().filter((i) => i.lockedFields.length > 0).length >= 8 || undefined
        )
        await Effect.runPromise(library.plex.faults.refuseConnections)
        const open = await waitFor("the breaker to open and the DLQ to fill", async () => {
          const s = await status(scheduler)
          return s.breakers.plex.state === "open" && s.currentOutage !== null && s.dlq.total > 0 ? s : undefined
        })
        outageId = open.currentOutage!.id
        assert.deepStrictEqual(Object.keys(open.dlq.byErrorTag), ["PlexServerDown"])
        assert.strictEqual(open.queue.due, 0)
        // Probes keep failing for a while: still one outage.
        await new Promise((resolve) => setTimeout(resolve, 1500))
        const later = await status(scheduler)
        assert.strictEqual(later.currentOutage?.id, outageId)
      } catch (e) {
        throw new Error(`${String(e)}\n--- scheduler log ---\n${logTail(logFile)}`)
      }
    }, 60_000)

    it.skipIf(!hasChromium)(
      "shows the queue and the open breaker on the overview in headless Chromium",
      async () => {
        const browser = await launchBrowser()
        try {
          const page = await browser.newPage({ viewport: { width: 1100, height: 700 } })
          const response = await page.goto(`${scheduler.baseUrl}/`)
          assert.strictEqual(response?.status(), 200)
          const s = await status(scheduler)
          const figure = async (id: string) => (await page.getByTestId(id).textContent())?.trim()
          assert.strictEqual(await figure("queue-queued"), String(s.queue.queued))
          assert.strictEqual(await figure("queue-held"), String(s.queue.held))
          assert.strictEqual(await figure("breaker-plex-state"), "OPEN")
          assert.strictEqual(await figure("breaker-stash-state"), "closed")
          assert.strictEqual(await figure("dlq-PlexServerDown"), String(s.dlq.byErrorTag["PlexServerDown"]))
          assert.isTrue(await page.getByTestId(`outage-${outageId}`).isVisible())
          assert.include(await page.title(), "degraded")
          // The overview links to the rest of the UI, and its chart draws the outage.
          assert.strictEqual(await page.getByTestId("nav-dlq").getAttribute("href"), "/dlq")
          assert.strictEqual(await page.locator(".timeline rect.ongoing").count(), 1)
          // (README's screenshots are taken by scripts/ui-screenshots.ts; this one stays in the temp dir.)
          const shot = Path.join(dir, "overview.png")
          await page.screenshot({ path: shot, fullPage: true })
          assert.isAbove(Fs.statSync(shot).size, 10_000)
        } finally {
          await browser.close()
        }
      },
      60_000
    )

    it(
      "when Plex is back, closes the outage, recovers its DLQ entries automatically and ends with Plex equal to Stash",
      async () => {
        try {
          await Effect.runPromise(library.plex.faults.acceptConnections)
          const recovered = await waitFor("the automatic recovery", async () => {
            const s = await status(scheduler)
            return s.breakers.plex.state === "closed" && s.lastRecovery?.trigger === "automatic" &&
                s.lastRecovery.window.outageId === outageId
              ? s
              : undefined
          })
          assert.isAbove(recovered.lastRecovery!.recovered, 0)
          assert.strictEqual(recovered.lastOutage?.id, outageId)
          assert.isAbove(recovered.lastOutage!.jobsAffected, 0)
          await waitFor("the queue to drain", async () => {
            const s = await status(scheduler)
            return s.queue.queued === 0 && s.queue.running === 0 && s.dlq.total === 0 || undefined
          }, 45_000)
          const verdict = await verifyLibrary(library)
          assert.deepStrictEqual(verdict.mismatches, [])
          assert.strictEqual(verdict.matching, 40)
          const metrics = await (await fetch(`${scheduler.baseUrl}/metrics`)).text()
          assert.include(metrics, "plexsync_outages_total{target=\"plex\"} 1")
          assert.include(metrics, "plexsync_outage_open{target=\"plex\"} 0")
          assert.strictEqual(await scheduler.stop(), 0)
        } catch (e) {
          throw new Error(`${String(e)}\n--- scheduler log ---\n${logTail(logFile)}`)
        }
      },
      90_000
    )
  })
})
