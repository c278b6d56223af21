/**
 * `plexsync reconcile` of 50 000 Stash scenes against a 50 000-item Plex section, over real HTTP: the built
 * command line, as a user runs it (`pnpm plexsync reconcile`), against the fake servers (packages/testing
 * FakeStash, FakePlex), with a real SQLite store.
 *
 *   npx tsx --conditions=@plexsync/source bench/reconcile.ts [scenes]
 *
 * This process orchestrates; the fake servers run in a child (`--serve`), and each reconciliation is one run of
 * `node apps/cli/build/esm/bin.js reconcile --scope all --json` (compiled first by scripts/launch.mjs when the
 * sources changed), with V8's default heap, so the peak RSS reported is that command's alone. A preload
 * (lib/peak-rss.mjs) reads its peak RSS as it exits. The server child seeds a library in the state the worker
 * leaves after syncing every scene, plus known gaps: 100 scenes never synced, 100 changed in Stash since, 100
 * items edited in Plex, 50 files missing in Plex, 50 Plex items without a scene.
 * Runs:
 * - baseline: `plexsync status --json` on the same store, the memory of the command line doing no reconciling;
 * - steady (the everyday case): every gap must be found, exactly, and 300 scenes queued;
 * - cold (first run after installing: an empty store): every scene whose file is in Plex is queued;
 * - steady again with `node --heap-growing-percent=0`, V8's own heap growth instead of the command line's setting
 *   (packages/runtime/src/Heap.ts): reported, to show what that setting saves; not checked.
 * - the scheduler (`node apps/scheduler/build/esm/bin.js`) on the seeded store with fresh servers, reconciling
 *   every 20 s (scope all): its change feed catches up, the worker syncs, the scheduled reconciliation runs; measured
 *   until the reconciliation is recorded and nothing is due or running; again with V8's own heap growth (reported).
 * Checks: requests ≤ ⌈items ÷ page⌉ + sections + 3 (Plex) and ⌈scenes ÷ page⌉ + 3 (Stash), as counted by the
 * fake servers; peak RSS < 300 MB, of `plexsync reconcile` and of the scheduler. Results go to bench/results/reconcile.json.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { diffFields } from "@plexsync/domain/FieldDiff"
import { allFields, contentHash, wantedFields } from "@plexsync/domain/FieldMapping"
import { mapPath, parsePathMap } from "@plexsync/domain/PathMap"
import { blankPlexItem, PlexItem } from "@plexsync/domain/PlexClient"
import { StashClient } from "@plexsync/domain/StashClient"
import { ItemWrite, SceneSyncState, SyncState } from "@plexsync/domain/SyncState"
import * as Database from "@plexsync/sqlite/Database"
import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { Effect, Either, Layer, Option } from "effect"
import type { ChildProcess } from "node:child_process"
import { fork, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const numbers = process.argv.slice(2).filter((a) => /^\d+$/.test(a))
const SCENES = Number(numbers[0] ?? 50_000)
/** The page size `plexsync reconcile` reads both sides with. */
const PAGE = 1000
const SECTIONS = 1
const RSS_LIMIT_MB = 300

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, "..")
const pathMap = Either.getOrThrow(parsePathMap("/stash/library=>/media/library"))

/** Which scenes carry which gap (by scene number). */
const role = (n: number) =>
  n % 1000 === 1
    ? "missingInPlex"
    : n % 500 === 2
    ? "neverSynced"
    : n % 500 === 3
    ? "plexDiffers"
    : n % 500 === 4
    ? "stashChanged"
    : "synced"
const ORPHANS = Math.floor(SCENES / 1000)

interface Ready {
  readonly type: "ready"
  readonly stashUrl: string
  readonly plexUrl: string
  readonly plexToken: string
  readonly warmDb: string
  readonly plexItems: number
  readonly expected: Record<string, number>
  readonly seedMs: number
}

interface Counts {
  readonly type: "counts"
  readonly plex: number
  readonly plexByPath: Record<string, number>
  readonly stash: number
  readonly stashByOperation: Record<string, number>
}

// ---------------------------------------------------------------------------------------------------------
// Child: the fake servers, seeded

const serve = async () => {
  const t0 = performance.now()
  const dir = process.argv[process.argv.indexOf("--serve") + 1]!
  // Loaded here only, so the reconciling process never holds the fakes' code.
  const { startFakePlex } = await import("@plexsync/testing/FakePlex")
  const { FakeStashServer } = await import("@plexsync/testing/FakeStash")
  const { applyEdit } = await import("@plexsync/testing/SimPlex")
  const stash = await FakeStashServer.start({ utcOffsetMinutes: 60 })
  const plex = await startFakePlex()
  plex.state.addSection({ key: "1", title: "Library", locations: ["/media/library"] })

  const s = stash.state
  const studios = Array.from({ length: 100 }, (_, i) => s.addStudio({ name: `Studio ${i}` }))
  const tags = Array.from({ length: 500 }, (_, i) => s.addTag({ name: `Tag ${i}` }))
  const performers = Array.from({ length: 2000 }, (_, i) => s.addPerformer({ name: `Performer ${i}` }))
  const groups = Array.from({ length: 50 }, (_, i) => s.addGroup({ name: `Series ${i}` }))
  const details = "A scene description of a realistic length, with a few sentences about what happens and where. "
    .repeat(3)
  for (let n = 1; n <= SCENES; n++) {
    const studio = n % 11 === 0 ? null : studios[n % studios.length]!
    s.addScene({
      title: n % 17 === 0 ? null : `Scene ${n}: a title of some length`,
      details: n % 5 === 0 ? null : `${n}. ${details}`,
      date: n % 7 === 0 ? `20${10 + (n % 14)}` : `20${10 + (n % 14)}-0${1 + (n % 9)}-1${n % 10}`,
      rating100: n % 4 === 0 ? null : 1 + (n * 13) % 100,
      studioId: studio?.id ?? null,
      tagIds: Array.from({ length: n % 9 }, (_, i) => tags[(n * 7 + i * 31) % tags.length]!.id),
      performerIds: Array.from({ length: n % 5 }, (_, i) => performers[(n * 3 + i * 101) % performers.length]!.id),
      groups: n % 6 === 0 ? [{ groupId: groups[n % groups.length]!.id }] : [],
      files: [`/stash/library/${studio === null ? "unsorted" : `studio-${studio.id}`}/scene_${n}.mp4`],
      screenshot: null
    })
  }

  // Read the scenes back through the live client (exactly what reconciliation will decode), then put the Plex
  // items and the store in the state a sync by the worker leaves behind.
  const warmDb = path.join(dir, "warm.db")
  const seed = Effect.gen(function*() {
    const client = yield* StashClient
    const syncState = yield* SyncState
    const db = yield* Database.Database
    let ratingKey = 100_000
    for (let page = 1;; page++) {
      const answer = yield* client.listScenes({ page, perPage: 1000 })
      const states: Array<SceneSyncState> = []
      for (const scene of answer.items) {
        const n = Number(scene.id)
        const r = role(n)
        if (r === "missingInPlex") continue
        const file = mapPath(pathMap, scene.files[0]!).path
        const wanted = wantedFields(scene, allFields)
        const blank = blankPlexItem({
          ratingKey: String(ratingKey++),
          sectionKey: "1",
          title: `scene_${n}`,
          files: [file]
        })
        const diff = diffFields(wanted, blank, null, { preservePlexEdits: false })
        let synced = diff.edit === null ? blank : applyEdit(blank, diff.edit)
        if (diff.rating !== null) synced = new PlexItem({ ...synced, userRating: diff.rating.value })
        plex.state.addItem({
          ratingKey: synced.ratingKey,
          sectionKey: "1",
          file,
          title: synced.title,
          summary: synced.summary,
          studio: synced.studio,
          originallyAvailableAt: synced.originallyAvailableAt,
          userRating: synced.userRating,
          genres: synced.genres,
          actors: synced.actors,
          collections: synced.collections,
          lockedFields: synced.lockedFields
        })
        if (r === "neverSynced") continue
        states.push(
          new SceneSyncState({
            sceneId: scene.id,
            stashUpdatedAt: scene.updatedAt,
            contentHash: contentHash(wanted, { plexFile: file, preservePlexEdits: false }),
            ratingKey: synced.ratingKey,
            plexFile: file,
            imageHash: null,
            written: diff.written,
            syncedAt: Date.now()
          })
        )
        if (r === "plexDiffers") plex.state.updateItem(synced.ratingKey, { summary: "Edited by hand in Plex" })
        if (r === "stashChanged") s.updateScene(scene.id, { tagIds: [tags[n % tags.length]!.id] })
      }
      // What was written belongs to the item: each state with its item's write, as a sync records them.
      const record = (state: SceneSyncState) =>
        syncState.record(state, [
          new ItemWrite({
            ratingKey: state.ratingKey!,
            sceneId: state.sceneId,
            written: state.written,
            imageHash: null,
            writtenAt: state.syncedAt
          })
        ])
      yield* db.immediate(Effect.forEach(states, record, { discard: true })).pipe(
        Effect.orDie
      )
      if (page * 1000 >= answer.count) break
    }
    for (let i = 0; i < ORPHANS; i++) plex.state.addItem({ sectionKey: "1", file: `/media/library/gone/${i}.mp4` })
  })
  const layer = Layer.mergeAll(
    storeOnFile(warmDb, { quickCheck: false }),
    Layer.orDie(StashClientLive.layer({ url: stash.url, apiKey: Option.none() })).pipe(
      Layer.provide(NodeHttpClient.layer)
    )
  )
  await Effect.runPromise(seed.pipe(Effect.provide(layer), Effect.scoped))

  const expected = { neverSynced: 0, stashChanged: 0, plexDiffers: 0, missingInPlex: 0, orphanedInPlex: ORPHANS }
  for (let n = 1; n <= SCENES; n++) {
    const r = role(n)
    if (r !== "synced") expected[r]++
  }
  stash.resetRequests()
  plex.requests.reset()
  const ready: Ready = {
    type: "ready",
    stashUrl: stash.url,
    plexUrl: plex.url,
    plexToken: plex.token,
    warmDb,
    plexItems: plex.state.items().length,
    expected,
    seedMs: performance.now() - t0
  }
  process.send!(ready)
  process.on("message", async (message: { readonly type: string }) => {
    if (message.type === "counts") {
      const plexByPath: Record<string, number> = {}
      for (const r of plex.requests.log()) {
        const key = r.path.startsWith("/library/sections/") && r.path.endsWith("/all") ? "listing" : r.path
        plexByPath[key] = (plexByPath[key] ?? 0) + 1
      }
      const stashByOperation: Record<string, number> = {}
      for (const r of stash.requests) {
        const key = r.operationName ?? "?"
        stashByOperation[key] = (stashByOperation[key] ?? 0) + 1
      }
      const counts: Counts = {
        type: "counts",
        plex: plex.requests.count(),
        plexByPath,
        stash: stash.requests.length,
        stashByOperation
      }
      process.send!(counts)
      stash.resetRequests()
      plex.requests.reset()
    }
    if (message.type === "stop") {
      await stash.close()
      await plex.closePromise()
      process.exit(0)
    }
  })
}

// ---------------------------------------------------------------------------------------------------------
// The reconciling process: `plexsync reconcile`, as a user runs it

/** The built command line; `scripts/launch.mjs` compiles it first when the sources changed. */
const cliBin = path.join(repoRoot, "apps", "cli", "build", "esm", "bin.js")
const schedulerBin = path.join(repoRoot, "apps", "scheduler", "build", "esm", "bin.js")
/** Preloaded into the command line: writes its peak RSS to a file when it exits. */
const peakRssPreload = path.join(here, "lib", "peak-rss.mjs")

const ensureBuilt = () => {
  const built = spawnSync(
    process.execPath,
    [path.join(repoRoot, "scripts", "launch.mjs"), "apps/cli/bin", "--version"],
    {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "inherit"]
    }
  )
  if (built.status !== 0) throw new Error("the command line does not build")
}

/** A clean environment for plexsync against the fake servers, its store in `dataDir`, reporting its peak RSS. */
const programEnv = (ready: Ready, dataDir: string, rssFile: string) => ({
  PATH: process.env.PATH ?? "",
  HOME: dataDir,
  PLEXSYNC_STASH_URL: ready.stashUrl,
  PLEXSYNC_PLEX_URL: ready.plexUrl,
  PLEXSYNC_PLEX_TOKEN: ready.plexToken,
  PLEXSYNC_PATH_MAP: "/stash/library=>/media/library",
  PLEXSYNC_DATA_DIR: dataDir,
  BENCH_PEAK_RSS_FILE: rssFile
})

interface CliRun {
  readonly exitCode: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
  readonly maxRssMb: number
}

/** Runs the built `plexsync` with `args` against the fake servers and the store in `dataDir`. */
const runCli = (ready: Ready, dataDir: string, args: ReadonlyArray<string>, nodeFlags: ReadonlyArray<string> = []) =>
  new Promise<CliRun>((resolve, reject) => {
    const rssFile = path.join(dataDir, `peak-rss-${process.hrtime.bigint()}.json`)
    const t = performance.now()
    const child = spawn(process.execPath, [
      ...nodeFlags,
      "--import",
      pathToFileURL(peakRssPreload).href,
      cliBin,
      ...args
    ], {
      cwd: dataDir,
      env: programEnv(ready, dataDir, rssFile),
      stdio: ["ignore", "pipe", "pipe"]
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => err.push(b))
    child.on("error", reject)
    child.on("close", (exitCode) => {
      const ms = performance.now() - t
      try {
        const { maxRssKb } = JSON.parse(fs.readFileSync(rssFile, "utf8")) as { maxRssKb: number }
        resolve({
          exitCode,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
          ms,
          maxRssMb: maxRssKb / 1024
        })
      } catch (e) {
        reject(new Error(`plexsync ${args.join(" ")} left no peak RSS (exit ${exitCode}): ${String(e)}`))
      }
    })
  })

/** What `reconcile --json` prints (the fields read here). */
interface ReconcileJson {
  readonly scenesChecked: number
  readonly plexItems: number
  readonly gaps: Record<string, number>
  readonly queued: number
  readonly skipped: Record<string, number>
  readonly durationMs: number
  readonly requests: { readonly plex: number; readonly stash: number }
}

// ---------------------------------------------------------------------------------------------------------
// The orchestrator

const nextMessage = <A>(child: ChildProcess) =>
  new Promise<A>((resolve, reject) => {
    child.once("message", (m) => resolve(m as A))
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before answering`)))
  })

/** Starts the fake servers, seeded, in a child; they go when this process exits. */
const startServers = async (dir: string) => {
  fs.mkdirSync(dir, { recursive: true })
  const servers = fork(fileURLToPath(import.meta.url), ["--serve", dir, String(SCENES), String(PAGE)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: process.execArgv
  })
  process.on("exit", () => servers.kill())
  console.log(`Seeding ${SCENES} scenes and their Plex items in the fake servers…`)
  const ready = await nextMessage<Ready>(servers)
  console.log(`  seeded in ${(ready.seedMs / 1000).toFixed(1)} s: ${ready.plexItems} Plex items`)
  return { servers, ready }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** What the scheduler's `/status` shows of the fields read here. */
interface SchedulerStatus {
  readonly queue: { readonly queued: number; readonly due: number; readonly running: number }
  readonly lastReconcile: { readonly gaps: Record<string, number>; readonly queued: number } | null
}

/**
 * The scheduler as a user leaves it running, started on the seeded store with fresh servers: the change feed
 * catches up (no watermark yet), the worker syncs what it finds, and the scheduled reconciliation (scope all,
 * 20 s after start) runs alongside. Measured until the reconciliation is recorded and no job is due or running.
 */
const runScheduler = async (dir: string, nodeFlags: ReadonlyArray<string>) => {
  const { ready, servers } = await startServers(dir)
  const data = path.join(dir, "data")
  fs.mkdirSync(data)
  fs.copyFileSync(ready.warmDb, path.join(data, "plexsync.db"))
  const rssFile = path.join(dir, "peak-rss.json")
  const port = await freePort()
  const t = performance.now()
  const child = spawn(
    process.execPath,
    [...nodeFlags, "--import", pathToFileURL(peakRssPreload).href, schedulerBin],
    {
      cwd: data,
      env: {
        ...programEnv(ready, data, rssFile),
        PLEXSYNC_HTTP_ADDR: `127.0.0.1:${port}`,
        PLEXSYNC_RECONCILE_INTERVAL: "20s",
        PLEXSYNC_RECONCILE_SCOPE: "all",
        PLEXSYNC_LOG_LEVEL: "warning"
      },
      stdio: ["ignore", "ignore", "inherit"]
    }
  )
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
  let status: SchedulerStatus | undefined
  const deadline = Date.now() + 10 * 60_000
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    try {
      status = await (await fetch(`http://127.0.0.1:${port}/status`)).json() as SchedulerStatus
    } catch {
      continue // not listening yet
    }
    if (status.lastReconcile !== null && status.queue.due === 0 && status.queue.running === 0) break
  }
  const ms = performance.now() - t
  child.kill("SIGTERM")
  const exitCode = await exited
  servers.send({ type: "stop" })
  const { maxRssKb } = JSON.parse(fs.readFileSync(rssFile, "utf8")) as { maxRssKb: number }
  const done = status?.lastReconcile !== null && status?.lastReconcile !== undefined
  const name = nodeFlags.length === 0 ? "scheduler" : `scheduler, ${nodeFlags.join(" ")}`
  console.log(
    `${name}: ${done ? "reconciled and drained" : "DID NOT FINISH"} in ${(ms / 1000).toFixed(1)} s ` +
      `(exit ${exitCode}); reconciliation gaps ${JSON.stringify(status?.lastReconcile?.gaps)}; ` +
      `peak RSS ${(maxRssKb / 1024).toFixed(1)} MB`
  )
  return {
    name,
    finished: done,
    exitCode,
    ms,
    reconcileGaps: status?.lastReconcile?.gaps ?? null,
    maxRssMb: maxRssKb / 1024
  }
}

const main = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plexsync-bench-reconcile-"))
  // Whatever happens here, the temporary files go too.
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  console.log("Building the command line and the scheduler (when the sources changed)…")
  ensureBuilt()
  const { ready, servers } = await startServers(path.join(dir, "servers"))

  const dataDir = (name: string, seeded: boolean) => {
    const data = path.join(dir, name)
    fs.mkdirSync(data)
    if (seeded) fs.copyFileSync(ready.warmDb, path.join(data, "plexsync.db"))
    return data
  }

  // What the command line takes with no reconciling: the same binary, the same store, `status --json`.
  const baseline = await runCli(ready, dataDir("baseline", true), ["status", "--json"])
  if (baseline.exitCode !== 0) throw new Error(`plexsync status failed:\n${baseline.stderr}`)
  servers.send({ type: "counts" })
  await nextMessage<Counts>(servers)
  console.log(`baseline: plexsync status --json, peak RSS ${baseline.maxRssMb.toFixed(1)} MB`)

  const measure = async (name: string, data: string, nodeFlags: ReadonlyArray<string> = []) => {
    const run = await runCli(ready, data, ["reconcile", "--scope", "all", "--json"], nodeFlags)
    servers.send({ type: "counts" })
    const counts = await nextMessage<Counts>(servers)
    if (run.exitCode !== 0) throw new Error(`plexsync reconcile (${name}) exited ${run.exitCode}:\n${run.stderr}`)
    const r = JSON.parse(run.stdout) as ReconcileJson
    console.log(
      `${name}: ${r.scenesChecked} scenes vs ${r.plexItems} Plex items in ${(r.durationMs / 1000).toFixed(2)} s ` +
        `(the process: ${(run.ms / 1000).toFixed(2)} s); requests: Plex ${counts.plex} ` +
        `${JSON.stringify(counts.plexByPath)}, Stash ${counts.stash} ${JSON.stringify(counts.stashByOperation)}`
    )
    console.log(
      `  gaps ${JSON.stringify(r.gaps)}; queued ${r.queued}; skipped ${JSON.stringify(r.skipped)}; ` +
        `peak RSS ${run.maxRssMb.toFixed(1)} MB (${(run.maxRssMb - baseline.maxRssMb).toFixed(1)} MB over the baseline)`
    )
    return {
      name,
      ms: r.durationMs,
      processMs: run.ms,
      scenesChecked: r.scenesChecked,
      plexItems: r.plexItems,
      gaps: r.gaps,
      queued: r.queued,
      skipped: r.skipped,
      requests: {
        plex: counts.plex,
        plexByPath: counts.plexByPath,
        stash: counts.stash,
        stashByOperation: counts.stashByOperation
      },
      maxRssMb: run.maxRssMb
    }
  }

  const steady = await measure("steady", dataDir("steady", true))
  const cold = await measure("cold", dataDir("cold", false))
  // The command line sets V8's heap growth (packages/runtime/src/Heap.ts) unless node's command line does: this run
  // leaves V8's own growth heuristics in place, to show what the setting saves.
  const v8Growth = await measure("steady, V8's default heap growth", dataDir("steady-v8", true), [
    "--heap-growing-percent=0"
  ])
  servers.send({ type: "stop" })
  // The scheduler, each run with fresh servers: as it runs, then with V8's own heap growth for comparison.
  const scheduler = await runScheduler(path.join(dir, "scheduler"), [])
  const schedulerV8 = await runScheduler(path.join(dir, "scheduler-v8"), ["--heap-growing-percent=0"])

  const plexBudget = Math.ceil(ready.plexItems / PAGE) + SECTIONS + 3
  const stashBudget = Math.ceil(SCENES / PAGE) + 3
  const e = ready.expected
  const queuable = e.neverSynced! + e.stashChanged! + e.plexDiffers!
  const runs = [steady, cold]
  const most = (f: (run: typeof steady) => number) => Math.max(...runs.map(f))
  const maxRssMb = most((r) => r.maxRssMb)
  const checks = {
    steadyGapsExact: { value: steady.gaps, expected: e, pass: sameGaps(steady.gaps, e) },
    steadyQueued: { value: steady.queued, expected: queuable, pass: steady.queued === queuable },
    coldQueued: {
      value: cold.queued,
      expected: SCENES - e.missingInPlex!,
      pass: cold.queued === SCENES - e.missingInPlex!
    },
    plexRequests: {
      value: most((r) => r.requests.plex),
      ceiling: plexBudget,
      pass: most((r) => r.requests.plex) <= plexBudget
    },
    stashRequests: {
      value: most((r) => r.requests.stash),
      ceiling: stashBudget,
      pass: most((r) => r.requests.stash) <= stashBudget
    },
    maxRssMb: {
      value: maxRssMb,
      ceiling: RSS_LIMIT_MB,
      pass: maxRssMb < RSS_LIMIT_MB
    },
    schedulerReconciled: {
      value: scheduler.reconcileGaps,
      pass: scheduler.finished && scheduler.exitCode === 0
    },
    schedulerMaxRssMb: {
      value: scheduler.maxRssMb,
      ceiling: RSS_LIMIT_MB,
      pass: scheduler.maxRssMb < RSS_LIMIT_MB
    }
  }
  const out = {
    benchmark: "reconcile",
    servers: "HTTP fakes (FakeStash, FakePlex) in a child process",
    reconciler: "the built command line, `node apps/cli/build/esm/bin.js reconcile --scope all --json`",
    scenes: SCENES,
    plexItems: ready.plexItems,
    pageSize: PAGE,
    node: process.version,
    at: new Date().toISOString(),
    seedMs: ready.seedMs,
    runs,
    checks,
    maxRssMb,
    baselineMaxRssMb: baseline.maxRssMb,
    v8DefaultGrowth: { maxRssMb: v8Growth.maxRssMb, ms: v8Growth.ms },
    schedulerRuns: [scheduler, schedulerV8],
    loadAverage: os.loadavg()
  }
  fs.mkdirSync(path.join(here, "results"), { recursive: true })
  fs.writeFileSync(path.join(here, "results", "reconcile.json"), JSON.stringify(out, null, 2) + "\n")
  fs.rmSync(dir, { recursive: true, force: true })
  console.log(
    `request budget: Plex ≤ ${plexBudget} (⌈${ready.plexItems} ÷ ${PAGE}⌉ + ${SECTIONS} section + 3), ` +
      `Stash ≤ ${stashBudget} (⌈${SCENES} ÷ ${PAGE}⌉ + 3)`
  )
  console.log(
    `peak RSS of plexsync reconcile: ${maxRssMb.toFixed(1)} MB (limit ${RSS_LIMIT_MB} MB; ` +
      `${v8Growth.maxRssMb.toFixed(1)} MB with V8's default heap growth; ` +
      `plexsync status: ${baseline.maxRssMb.toFixed(1)} MB)`
  )
  console.log(
    `peak RSS of the scheduler (catch-up, sync, scheduled reconciliation): ${scheduler.maxRssMb.toFixed(1)} MB ` +
      `(${schedulerV8.maxRssMb.toFixed(1)} MB with V8's default heap growth)`
  )
  for (const [name, check] of Object.entries(checks)) console.log(`  ${check.pass ? "pass" : "FAIL"} ${name}`)
  console.log(`wrote bench/results/reconcile.json (load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")})`)
  process.exitCode = Object.values(checks).every((c) => c.pass) ? 0 : 1
}

const sameGaps = (a: Record<string, number>, b: Record<string, number>) =>
  Object.keys(b).every((k) => a[k] === b[k]) && Object.keys(a).every((k) => a[k] === b[k])

if (process.argv.includes("--serve")) void serve()
else void main()
