/**
 * The idle scheduler (issue #18, part 4): its resident memory and how often it wakes when nothing happens.
 *
 *   npx tsx --conditions=@plexsync/source bench/idle.ts      (BENCH_IDLE_SECONDS=60, the default)
 *
 * The built scheduler (`apps/scheduler/build/esm/bin.js`, compiled first by scripts/launch.mjs when the sources
 * changed) runs against the fake Plex and Stash servers (in this process) with an empty library and its defaults.
 * After it answers `/healthz` and has settled for 10 s, it is watched for a minute: RSS from /proc every second
 * (the figure is the largest sample, split into anonymous memory and mapped files; V8's heap is read from its
 * `/metrics`), CPU ticks (utime + stime) and the voluntary context switches of its threads, each one a wake-up of a
 * sleeping thread (the main thread apart from V8's helper threads; involuntary ones, a running thread preempted,
 * count the machine's load and are shown apart). The baseline, measured the same way in the same run, is a bare
 * `node` process holding one far-off timer: what a Node process costs while doing nothing; next to it, a process
 * that loads the scheduler's modules and runs nothing (what its code costs), and the scheduler watched again with
 * its change-feed poll at an hour (what that periodic work costs).
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { ResultRow } from "./lib/harness.js"
import { machine, repoRoot, tempDir, writeResult } from "./lib/harness.js"

const SECONDS = Number(process.env["BENCH_IDLE_SECONDS"] ?? 60)
const SETTLE_MS = 10_000
/** Node flags for the scheduler (BENCH_IDLE_FLAGS, space-separated): to try V8 settings. */
const FLAGS = (process.env["BENCH_IDLE_FLAGS"] ?? "").split(" ").filter((flag) => flag !== "")
const RSS_TARGET_MB = 80
const WAKEUPS_TARGET = 1

const schedulerBin = path.join(repoRoot, "apps", "scheduler", "build", "esm", "bin.js")
const schedulerMain = path.join(repoRoot, "apps", "scheduler", "build", "esm", "Main.js")
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

interface Sample {
  readonly rssKb: number
  /** Anonymous memory (V8's heap, native allocations) and mapped files (node's own code, libraries). */
  readonly anonKb: number
  readonly fileKb: number
  readonly ticks: number
  /** Voluntary context switches (a thread that slept and was woken) of the main thread and of the others. */
  readonly mainWakeups: number
  readonly otherWakeups: number
  /** Involuntary ones: a running thread preempted, which on a shared machine counts the others' load. */
  readonly preempted: number
  readonly threads: number
}

const statusField = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0)

const sample = (pid: number): Sample => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  // Fields after the command name (which may hold spaces): utime and stime are the 14th and 15th.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  let mainWakeups = 0
  let otherWakeups = 0
  let preempted = 0
  const tasks = fs.readdirSync(`/proc/${pid}/task`)
  for (const task of tasks) {
    try {
      const text = fs.readFileSync(`/proc/${pid}/task/${task}/status`, "utf8")
      const woken = statusField(text, "voluntary_ctxt_switches")
      if (task === String(pid)) mainWakeups += woken
      else otherWakeups += woken
      preempted += statusField(text, "nonvoluntary_ctxt_switches")
    } catch {
      // The thread ended meanwhile.
    }
  }
  return {
    rssKb: statusField(status, "VmRSS"),
    anonKb: statusField(status, "RssAnon"),
    fileKb: statusField(status, "RssFile"),
    ticks: Number(fields[11]) + Number(fields[12]),
    mainWakeups,
    otherWakeups,
    preempted,
    threads: tasks.length
  }
}

interface Watched {
  readonly maxRssMb: number
  readonly meanRssMb: number
  /** At the largest RSS sample. */
  readonly anonMb: number
  readonly fileMb: number
  readonly wakeupsPerSec: number
  readonly mainWakeupsPerSec: number
  readonly otherWakeupsPerSec: number
  readonly preemptedPerSec: number
  readonly ticksPerMin: number
  readonly threads: number
}

/** Watches `pid` for SECONDS, sampling every second. */
const watch = async (pid: number): Promise<Watched> => {
  const first = sample(pid)
  const rss: Array<number> = []
  let last = first
  let largest = first
  for (let s = 0; s < SECONDS; s++) {
    await sleep(1000)
    last = sample(pid)
    rss.push(last.rssKb / 1024)
    if (last.rssKb >= largest.rssKb) largest = last
  }
  const perSec = (of: (x: Sample) => number) => (of(last) - of(first)) / SECONDS
  const main = perSec((x) => x.mainWakeups)
  const other = perSec((x) => x.otherWakeups)
  return {
    maxRssMb: Math.max(...rss),
    meanRssMb: rss.reduce((a, b) => a + b, 0) / rss.length,
    anonMb: largest.anonKb / 1024,
    fileMb: largest.fileKb / 1024,
    wakeupsPerSec: main + other,
    mainWakeupsPerSec: main,
    otherWakeupsPerSec: other,
    preemptedPerSec: perSec((x) => x.preempted),
    ticksPerMin: ((last.ticks - first.ticks) * 60) / SECONDS,
    threads: last.threads
  }
}

const main = async () => {
  const built = spawnSync(
    process.execPath,
    [path.join(repoRoot, "scripts", "launch.mjs"), "apps/cli/bin", "--version"],
    {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "inherit"]
    }
  )
  if (built.status !== 0 || !fs.existsSync(schedulerBin)) throw new Error("the scheduler does not build")

  const { startFakePlex } = await import("@plexsync/testing/FakePlex")
  const { FakeStashServer } = await import("@plexsync/testing/FakeStash")
  const { freePort } = await import("@plexsync/testing/SchedulerProcess")
  const stash = await FakeStashServer.start({ utcOffsetMinutes: 0 })
  const plex = await startFakePlex()
  plex.state.addSection({ key: "1", title: "Library", locations: ["/media/library"] })

  // Baseline: node doing nothing.
  const bare = spawn(process.execPath, ["-e", "setInterval(() => {}, 3_600_000)"], { stdio: "ignore" })
  await sleep(SETTLE_MS)
  const baseline = await watch(bare.pid!)
  bare.kill("SIGKILL")
  // What the scheduler's code costs before it does anything: its modules loaded, nothing started.
  const loaded = spawn(process.execPath, [
    "--input-type=module",
    "-e",
    `await import(${JSON.stringify(pathToFileURL(schedulerMain).href)}); setInterval(() => {}, 3_600_000)`
  ], { stdio: ["ignore", "ignore", "inherit"] })
  await sleep(SETTLE_MS)
  const modulesOnly = await watch(loaded.pid!)
  loaded.kill("SIGKILL")

  /** The scheduler (these settings over its defaults), started, settled and watched; then stopped. */
  const watchScheduler = async (settings: Readonly<Record<string, string>>) => {
    const dir = tempDir("plexsync-bench-idle-")
    const port = await freePort()
    const child = spawn(process.execPath, [...FLAGS, schedulerBin], {
      cwd: dir,
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: dir,
        PLEXSYNC_STASH_URL: stash.url,
        PLEXSYNC_PLEX_URL: plex.url,
        PLEXSYNC_PLEX_TOKEN: plex.token,
        PLEXSYNC_PATH_MAP: "/stash/library=>/media/library",
        PLEXSYNC_DATA_DIR: dir,
        PLEXSYNC_HTTP_ADDR: `127.0.0.1:${port}`,
        PLEXSYNC_RECONCILE_AT: "never",
        PLEXSYNC_LOG_LEVEL: "warning",
        ...settings
      },
      stdio: ["ignore", "ignore", "inherit"]
    })
    let healthy = false
    for (let i = 0; i < 60 && !healthy; i++) {
      await sleep(500)
      healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)
    }
    if (!healthy) throw new Error("the scheduler did not become healthy")
    await sleep(SETTLE_MS)
    const stashBefore = stash.requests.length
    const plexBefore = plex.requests.count()
    const watched = await watch(child.pid!)
    const stashDuring = stash.requests.length - stashBefore
    const pollsDuring = stash.requests.slice(stashBefore).filter((r) => r.operationName === "ScenesUpdatedAll").length
    const plexDuring = plex.requests.count() - plexBefore
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => "")
    const gaugeMb = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1] ?? NaN) / 1048576
    const heap = {
      totalMb: gaugeMb("nodejs_heap_size_total_bytes"),
      usedMb: gaugeMb("nodejs_heap_size_used_bytes"),
      externalMb: gaugeMb("nodejs_external_memory_bytes")
    }
    child.kill("SIGTERM")
    await new Promise((resolve) => child.on("close", resolve))
    fs.rmSync(dir, { recursive: true, force: true })
    return { watched, stashDuring, pollsDuring, plexDuring, heap }
  }
  const atDefaults = await watchScheduler({})
  const { heap, plexDuring, pollsDuring, stashDuring } = atDefaults
  const scheduler = atDefaults.watched
  // The same without the change feed's polls in the minute: what its periodic reading of Stash costs.
  const withoutPolls = (await watchScheduler({ PLEXSYNC_POLL_INTERVAL: "1h" })).watched
  await stash.close()
  await plex.closePromise()

  const mb = (x: number) => `${x.toFixed(1)} MB`
  const rate = (x: number) => `${x.toFixed(2)} /s`
  const nativeMb = scheduler.anonMb - heap.totalMb
  const rssLimit = `Of its ${mb(scheduler.maxRssMb)} (mean over the minute ${mb(scheduler.meanRssMb)}): ` +
    `${mb(scheduler.fileMb)} mapped files (node's own code and ` +
    `libraries; bare node ${mb(baseline.fileMb)}) and ${mb(scheduler.anonMb)} anonymous memory — V8's heap ` +
    `${mb(heap.totalMb)} (${mb(heap.usedMb)} in use, mostly the compiled code and objects of the modules loaded: ` +
    `effect, @effect/platform, @effect/sql, the HTTP API) and ${mb(nativeMb)} native (the allocator's arenas ` +
    `left by parsing and compiling those modules, SQLite's page cache, ${mb(heap.externalMb)} external buffers). ` +
    `The same modules loaded by a process that runs nothing hold ${mb(modulesOnly.maxRssMb)} ` +
    `(${mb(modulesOnly.anonMb)} anonymous): ${((modulesOnly.maxRssMb / scheduler.maxRssMb) * 100).toFixed(0)} % of ` +
    `the figure is loading the code, before any duty runs.`
  const pollCost = pollsDuring === 0 ? 0 : ((scheduler.wakeupsPerSec - withoutPolls.wakeupsPerSec) * SECONDS) /
    pollsDuring
  const wakeupsLimit = `The change feed's poll of Stash (PLEXSYNC_POLL_INTERVAL, 30 s by default) is most of it: ` +
    `the same scheduler with the poll at 1h wakes ${rate(withoutPolls.wakeupsPerSec)} (main thread ` +
    `${rate(withoutPolls.mainWakeupsPerSec)}, the worker lease's renewals), so each poll costs about ` +
    `${pollCost.toFixed(0)} wake-ups. At the defaults: ` +
    `${rate(scheduler.mainWakeupsPerSec)} on the main thread, for its periodic work: the worker ` +
    `lease renewed every 5 s (a third of PLEXSYNC_LEASE's 15 s default; one SQLite write each) and the change feed ` +
    `(PLEXSYNC_POLL_INTERVAL, 30 s: ${pollsDuring} polls, ${stashDuring} Stash requests and ${plexDuring} Plex ` +
    `requests in ${SECONDS} s); ${rate(scheduler.otherWakeupsPerSec)} on its ${scheduler.threads - 1} other ` +
    `threads, nearly all V8's helper threads, which each burst of JavaScript on the main thread wakes for garbage ` +
    `collection and compilation tasks (bare node ${rate(baseline.otherWakeupsPerSec)}; their number is node's ` +
    `--v8-pool-size, a command-line option a process cannot change for itself, and --single-threaded-gc crashes V8 ` +
    `when set at run time). Not counted: ${rate(scheduler.preemptedPerSec)} preemptions (a running thread ` +
    `descheduled: the machine's load).`
  const rows: Array<ResultRow> = [
    {
      figure: `idle scheduler${FLAGS.length === 0 ? "" : ` (${FLAGS.join(" ")})`}, resident memory (largest of ` +
        `${SECONDS} samples, 1 s apart)`,
      value: mb(scheduler.maxRssMb),
      baseline: `bare node ${mb(baseline.maxRssMb)}; its modules loaded, nothing running ${mb(modulesOnly.maxRssMb)}`,
      ratio: baseline.maxRssMb / scheduler.maxRssMb,
      target: `≤ ${RSS_TARGET_MB} MB`,
      pass: scheduler.maxRssMb <= RSS_TARGET_MB,
      ...(scheduler.maxRssMb <= RSS_TARGET_MB ? {} : { limit: rssLimit })
    },
    {
      figure: `idle scheduler, wake-ups per second (voluntary context switches of its ${scheduler.threads} threads)`,
      value: `${rate(scheduler.wakeupsPerSec)} (main thread ${rate(scheduler.mainWakeupsPerSec)}), ` +
        `${scheduler.ticksPerMin.toFixed(0)} CPU ticks a minute`,
      baseline: `bare node ${rate(baseline.wakeupsPerSec)}, ${baseline.ticksPerMin.toFixed(0)} ticks a minute; ` +
        `the scheduler with the change feed's poll at 1h ${rate(withoutPolls.wakeupsPerSec)}`,
      ratio: null,
      target: `≤ ${WAKEUPS_TARGET} /s`,
      pass: scheduler.wakeupsPerSec <= WAKEUPS_TARGET,
      ...(scheduler.wakeupsPerSec <= WAKEUPS_TARGET ? {} : { limit: wakeupsLimit })
    }
  ]
  console.log(
    JSON.stringify(
      { baseline, modulesOnly, scheduler, withoutPolls, heap, stashDuring, pollsDuring, plexDuring },
      null,
      2
    )
  )
  writeResult({ benchmark: "idle", at: new Date().toISOString(), machine: machine(), seconds: SECONDS, rows })
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
