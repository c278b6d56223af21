/**
 * `pnpm demo`: the whole system against simulated Stash and Plex servers on loopback — real HTTP, real SQLite
 * in a temp dir, the real `plexsync-scheduler` as a child process. It seeds a library, syncs it, takes Plex
 * down mid-run, shows the breaker open and the outage recorded, brings Plex back, shows the automatic recovery
 * and the drain, and ends by checking every Plex item against its Stash scene. Exit 0 when everything matches,
 * 1 otherwise. Needs nothing outside the repository.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import type { PathMap } from "@plexsync/domain/PathMap"
import { PathMapping } from "@plexsync/domain/PathMap"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import * as FakePlex from "@plexsync/testing/FakePlex"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { seedLibrary } from "@plexsync/testing/FakeStashSeed"
import type { SchedulerProcess } from "@plexsync/testing/SchedulerProcess"
import { freePort, startScheduler } from "@plexsync/testing/SchedulerProcess"
import * as Verify from "@plexsync/testing/Verify"
import { Effect, Exit, Option, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const sceneCount = Number(process.env["DEMO_SCENES"] ?? 300)
const stashRoot = "/data/videos"
const plexRoot = "/media/videos"
const pathMap: PathMap = [new PathMapping({ stashPrefix: stashRoot, plexPrefix: plexRoot })]

// ---------------------------------------------------------------------------------------------------------
// Output

const started = Date.now()
const color = process.stdout.isTTY && process.env["NO_COLOR"] === undefined
const paint = (code: string) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text)
const bold = paint("1")
const red = paint("31")
const green = paint("32")
const dim = paint("2")
const stamp = () => dim(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`)
const say = (text: string) => Effect.sync(() => void process.stdout.write(`${stamp()} ${text}\n`))
const step = (text: string) => say(bold(`▶ ${text}`))

// ---------------------------------------------------------------------------------------------------------
// The scheduler's status document (the keys the demo reads)

interface Status {
  readonly queue: { readonly queued: number; readonly due: number; readonly running: number; readonly held: number }
  readonly dlq: { readonly total: number; readonly byErrorTag: Readonly<Record<string, number>> }
  readonly breakers: Readonly<Record<string, { readonly state: string; readonly openedAt: string | null }>>
  readonly currentOutage: { readonly id: number; readonly startedAt: string } | null
  readonly lastOutage:
    | { readonly id: number; readonly durationMs: number; readonly jobsAffected: number; readonly endedAt: string }
    | null
  readonly lastRecovery:
    | {
      readonly trigger: string
      readonly window: { readonly outageId: number | null }
      readonly recovered: number
      readonly skippedAlreadyQueued: number
      readonly skippedSceneMissing: number
      readonly failed: number
    }
    | null
}

const sleep = (ms: number) => Effect.sleep(ms)

const program = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-demo-"))),
    // Kept when the demo fails, so the scheduler's log and database can be read.
    (d, exit) =>
      Exit.isSuccess(exit) && exit.value && process.env["DEMO_KEEP"] === undefined
        ? Effect.sync(() => Fs.rmSync(d, { recursive: true, force: true }))
        : Effect.gen(function*() {
          const logFile = Path.join(d, "scheduler.log")
          if (Fs.existsSync(logFile)) {
            const tail = Fs.readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-20)
            yield* Effect.sync(() => process.stdout.write(dim(`last scheduler log lines:\n${tail.join("\n")}\n`)))
          }
          yield* say(`kept ${d} (the scheduler's log is scheduler.log, its database data/plexsync.db)`)
        })
  )
  yield* say(bold("plexsync demo") + dim(` — simulated Stash and Plex on loopback, data in ${dir}`))

  // --- the servers -----------------------------------------------------------------------------------------
  const stash = yield* FakeStash.start({})
  const plex = yield* FakePlex.start({ scanDelayMs: 500 })
  const section = plex.state.addSection({ title: "Scenes", type: "movie", locations: [plexRoot] })
  // The library was organised yesterday: only what happens during the demo is a change of this second.
  stash.state.advanceClock(-86_400_000)
  const seeded = seedLibrary(stash.state, { scenes: sceneCount, root: stashRoot })
  stash.state.advanceClock(86_400_000)
  const originalTitles = new Map<string, string>()
  for (const scene of seeded) {
    const files = scene.files.map((f) => f.path.replace(stashRoot, plexRoot))
    // What Plex shows before any sync: the file name as the title, no metadata.
    const title = Path.basename(files[0]!).replace(/\.[^.]+$/, "")
    plex.state.addItem({ sectionKey: section.key, files, title })
    originalTitles.set(files[0]!, title)
  }
  yield* say(
    `fake Stash ${stash.url}: ${stash.state.sceneCount} scenes (studios, performers, tags, groups, dates, ratings, covers)`
  )
  yield* say(`fake Plex  ${plex.url}: library "Scenes" with ${plex.state.items().length} items, titled by file name`)
  // Each Plex request takes a little while, as on a real server, so the run lasts long enough to interrupt.
  plex.faults.inject({ _tag: "Latency", ms: 10 })

  // --- the scheduler ---------------------------------------------------------------------------------------
  const port = yield* Effect.promise(() => freePort())
  const logFile = Path.join(dir, "scheduler.log")
  // The scheduler's executable as this process resolves it: compiled JavaScript, or the sources under a loader.
  const bin = new URL(import.meta.resolve("@plexsync/scheduler/bin"))
  const scheduler: SchedulerProcess = yield* Effect.acquireRelease(
    Effect.sync(() =>
      startScheduler({
        command: [process.execPath, ...process.execArgv, bin.pathname],
        logFile,
        env: {
          PLEXSYNC_DATA_DIR: Path.join(dir, "data"),
          PLEXSYNC_STASH_URL: stash.url,
          PLEXSYNC_PLEX_URL: plex.url,
          PLEXSYNC_PLEX_TOKEN: plex.token,
          PLEXSYNC_PATH_MAP: `${stashRoot}=>${plexRoot}`,
          PLEXSYNC_HTTP_ADDR: `127.0.0.1:${port}`,
          PLEXSYNC_LOG_LEVEL: "info",
          // Short intervals, so an outage and its recovery fit in a minute.
          PLEXSYNC_CONCURRENCY: "4",
          // The first refused connection opens the breaker, so every job caught by the outage is held (no
          // attempt spent, no backoff to sit out afterwards).
          PLEXSYNC_BREAKER_THRESHOLD: "1",
          PLEXSYNC_POLL_INTERVAL: "1s",
          PLEXSYNC_LEASE: "3s",
          PLEXSYNC_HOLD_LIMIT: "2s",
          PLEXSYNC_PROBE_MIN: "500ms",
          PLEXSYNC_PROBE_MAX: "2s",
          PLEXSYNC_RAMP_FROM: "20",
          PLEXSYNC_RAMP_TO: "200",
          PLEXSYNC_RAMP_OVER: "3s",
          PLEXSYNC_SHUTDOWN_GRACE: "3s"
        }
      })
    ),
    (s) => Effect.promise(() => s.stop())
  )
  yield* Effect.promise(() => scheduler.ready())
  yield* say(`plexsync-scheduler (pid ${scheduler.pid}) serving ${scheduler.baseUrl}/ ${dim(`log: ${logFile}`)}`)

  const status = Effect.tryPromise({
    try: () => scheduler.getJson<Status>("/status"),
    catch: (e) => (e instanceof Error ? e : new Error(String(e)))
  })
  const synced = () => plex.state.items().filter((item) => item.lockedFields.length > 0).length
  const progress = Effect.gen(function*() {
    const s = yield* status
    const dlq = s.dlq.total === 0
      ? "DLQ 0"
      : `DLQ ${s.dlq.total} (${Object.entries(s.dlq.byErrorTag).map(([t, n]) => `${t} ${n}`).join(", ")})`
    const plexState = s.breakers["plex"]?.state ?? "?"
    const breaker = plexState === "closed" ? green(plexState) : red(plexState)
    yield* say(
      `synced ${
        String(synced()).padStart(3)
      }/${sceneCount} · queue ${s.queue.queued} (due ${s.queue.due}, running ${s.queue.running}, held ${s.queue.held}) · ${dlq} · plex breaker ${breaker}`
    )
    return s
  })
  const until = <A, E>(what: string, check: Effect.Effect<Option.Option<A>, E>, timeoutMs: number, everyMs = 1000) =>
    Effect.gen(function*() {
      const deadline = Date.now() + timeoutMs
      let lastShown = 0
      // A status request that fails once (the machine is busy) is asked again; only the deadline ends the wait.
      let lastError: unknown = null
      while (Date.now() < deadline) {
        const found = yield* Effect.either(check)
        if (found._tag === "Right" && Option.isSome(found.right)) return found.right.value
        if (found._tag === "Left") lastError = found.left
        if (Date.now() - lastShown >= everyMs) {
          lastShown = Date.now()
          yield* Effect.ignore(progress)
        }
        yield* sleep(200)
      }
      return yield* Effect.fail(
        new Error(`timed out waiting for ${what}${lastError === null ? "" : ` (last error: ${String(lastError)})`}`)
      )
    })

  /** Waits for a status in which `pick` finds something, and returns what it found. */
  const untilStatus = <A>(
    what: string,
    pick: (s: Status) => A | undefined,
    timeoutMs: number,
    everyMs?: number
  ) => until(what, Effect.map(status, (s) => Option.fromNullable(pick(s))), timeoutMs, everyMs)

  // --- 1. sync the library ---------------------------------------------------------------------------------
  yield* step("The change feed finds every scene; the worker syncs them to Plex")
  yield* until(
    "a quarter of the library to sync",
    Effect.sync(() => synced() >= sceneCount / 4 ? Option.some(true) : Option.none()),
    40_000
  )
  yield* progress

  // --- 2. Plex goes away -----------------------------------------------------------------------------------
  yield* step("Plex goes down (the server stops listening: connections are refused)")
  yield* plex.faults.refuseConnections
  const outage = yield* untilStatus(
    "the breaker to open",
    (s) => s.breakers["plex"]?.state === "open" && s.currentOutage !== null ? s.currentOutage : undefined,
    20_000,
    500
  )
  yield* say(
    red(`✖ plex breaker OPEN: outage #${outage.id} recorded at ${outage.startedAt}; jobs are held, no attempt spent`)
  )
  // Long enough for held jobs to pass the (demo's) hold limit and reach the DLQ under the outage class.
  yield* untilStatus("held jobs to reach the DLQ", (s) => s.dlq.total > 0 ? s : undefined, 20_000, 1000)
  yield* progress
  yield* sleep(1500)
  yield* progress

  // --- 3. Plex comes back ----------------------------------------------------------------------------------
  yield* step("Plex is back")
  yield* plex.faults.acceptConnections
  const closed = yield* untilStatus(
    "the breaker to close",
    (s) => s.breakers["plex"]?.state === "closed" && s.lastOutage?.id === outage.id ? s.lastOutage : undefined,
    30_000,
    500
  )
  yield* say(
    green(
      `✔ plex breaker closed: outage #${outage.id} lasted ${
        (closed.durationMs / 1000).toFixed(1)
      }s, ${closed.jobsAffected} job(s) affected`
    )
  )
  const recovery = yield* untilStatus(
    "the automatic recovery",
    (s) =>
      s.lastRecovery !== null && s.lastRecovery.trigger === "automatic" && s.lastRecovery.window.outageId === outage.id
        ? s.lastRecovery
        : undefined,
    30_000,
    500
  )
  yield* say(
    green(
      `✔ automatic recovery of outage #${outage.id}: ${recovery.recovered} DLQ entr${
        recovery.recovered === 1 ? "y" : "ies"
      } re-queued` +
        ` (${recovery.skippedAlreadyQueued} already queued, ${recovery.skippedSceneMissing} gone, ${recovery.failed} failed)`
    )
  )

  // --- 4. a change in Stash, with no plugin ---------------------------------------------------------------
  const changedId = seeded[Math.floor(seeded.length / 2)]!.id
  const newTitle = "Renamed in Stash while plexsync runs"
  stash.state.updateScene(changedId, { title: newTitle, rating100: 90 })
  yield* step(`A scene is edited in Stash (scene ${changedId} renamed, rated 90) — no plugin, the change feed finds it`)

  // --- 5. drain ---------------------------------------------------------------------------------------------
  yield* step("The queue drains")
  const changedFile = seeded.find((s) => s.id === changedId)!.files[0]!.path.replace(stashRoot, plexRoot)
  yield* untilStatus(
    "the queue to drain",
    (s) =>
      s.queue.queued === 0 && s.queue.running === 0 && s.dlq.total === 0 &&
        plex.state.itemByFile(changedFile)?.title === newTitle
        ? s
        : undefined,
    45_000
  )
  yield* progress

  // --- 6. the verdict ---------------------------------------------------------------------------------------
  yield* step("Checking every Plex item against its Stash scene, field by field")
  const stashSide = yield* Verify.readStash.pipe(
    Effect.provide(StashClientLive.layer({ url: stash.url, apiKey: Option.none() })),
    Effect.provide(NodeHttpClient.layerUndici)
  )
  const verdict = Verify.verify(stashSide, (file) => plex.state.itemByFile(file), {
    pathMap,
    originalTitle: (file) => originalTitles.get(file)
  })
  const final = yield* status.pipe(Effect.retry({ times: 5, schedule: Schedule.spaced("300 millis") }))
  const outages = final.lastOutage !== null && final.lastOutage.id === outage.id && final.currentOutage === null
  yield* say(
    `${verdict.matching}/${verdict.scenes} items match (title, summary, studio, date, rating, genres, actors, collections, poster)`
  )
  yield* say(`outages recorded: ${outages ? `exactly one (#${outage.id}), closed` : red("not as expected")}`)
  for (const m of verdict.mismatches.slice(0, 10)) {
    yield* say(red(`  scene ${m.sceneId} ${m.field}: Stash wants ${m.want}, Plex has ${m.got}`))
  }
  if (verdict.mismatches.length > 10) yield* say(red(`  … and ${verdict.mismatches.length - 10} more`))

  const code = yield* Effect.promise(() => scheduler.stop())
  yield* say(`plexsync-scheduler stopped on SIGTERM (exit ${code})`)
  const pass = verdict.mismatches.length === 0 && verdict.scenes === sceneCount && outages && code === 0
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  yield* say(pass ? green(bold(`PASS — Plex matches Stash in ${seconds}s`)) : red(bold(`FAIL after ${seconds}s`)))
  return pass
})

const main = Effect.scoped(program).pipe(
  Effect.catchAll((error) =>
    say(red(`FAIL: ${error instanceof Error ? error.message : String(error)}`)).pipe(Effect.as(false))
  ),
  Effect.flatMap((pass) => Effect.sync(() => void (process.exitCode = pass ? 0 : 1)))
)

NodeRuntime.runMain(main, { disablePrettyLogger: true })
