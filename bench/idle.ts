/**
 * The idle scheduler (issue #18, part 4): its resident memory and how often it wakes when nothing happens.
 *
 *   npx tsx --conditions=@plexsync/source bench/idle.ts      (BENCH_IDLE_SECONDS=60, the default)
 *
 * The built scheduler (`apps/scheduler/build/esm/bin.js`, compiled first by scripts/launch.mjs when the sources
 * changed) runs against the fake Plex and Stash servers (in this process) with an empty library and its defaults.
 * After it answers `/healthz` and has settled for 10 s, it is watched for a minute: RSS from /proc every second
 * (the figure is the largest sample), CPU ticks (utime + stime) and the context switches of its threads, each
 * one a wake-up of a sleeping thread. The baseline, measured the same way in the same run, is a bare `node`
 * process holding one far-off timer: what a Node process costs while doing nothing.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ResultRow } from "./lib/harness.js"
import { machine, repoRoot, tempDir, writeResult } from "./lib/harness.js"

const SECONDS = Number(process.env["BENCH_IDLE_SECONDS"] ?? 60)
const SETTLE_MS = 10_000
/** Node flags for the scheduler (BENCH_IDLE_FLAGS, space-separated): to try V8 settings. */
const FLAGS = (process.env["BENCH_IDLE_FLAGS"] ?? "").split(" ").filter((flag) => flag !== "")
const RSS_TARGET_MB = 80
const WAKEUPS_TARGET = 1

const schedulerBin = path.join(repoRoot, "apps", "scheduler", "build", "esm", "bin.js")
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

interface Sample {
  readonly rssKb: number
  readonly ticks: number
  /** Voluntary + involuntary context switches over all threads. */
  readonly switches: number
  readonly threads: number
}

const statusField = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0)

const sample = (pid: number): Sample => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  // Fields after the command name (which may hold spaces): utime and stime are the 14th and 15th.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  let switches = 0
  const tasks = fs.readdirSync(`/proc/${pid}/task`)
  for (const task of tasks) {
    try {
      const text = fs.readFileSync(`/proc/${pid}/task/${task}/status`, "utf8")
      switches += statusField(text, "voluntary_ctxt_switches") + statusField(text, "nonvoluntary_ctxt_switches")
    } catch {
      // The thread ended meanwhile.
    }
  }
  return {
    rssKb: statusField(status, "VmRSS"),
    ticks: Number(fields[11]) + Number(fields[12]),
    switches,
    threads: tasks.length
  }
}

interface Watched {
  readonly maxRssMb: number
  readonly meanRssMb: number
  readonly wakeupsPerSec: number
  readonly ticksPerMin: number
  readonly threads: number
}

/** Watches `pid` for SECONDS, sampling every second. */
const watch = async (pid: number): Promise<Watched> => {
  const first = sample(pid)
  const rss: Array<number> = []
  let last = first
  for (let s = 0; s < SECONDS; s++) {
    await sleep(1000)
    last = sample(pid)
    rss.push(last.rssKb / 1024)
  }
  return {
    maxRssMb: Math.max(...rss),
    meanRssMb: rss.reduce((a, b) => a + b, 0) / rss.length,
    wakeupsPerSec: (last.switches - first.switches) / SECONDS,
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
  const dir = tempDir("plexsync-bench-idle-")
  const port = await freePort()

  // Baseline: node doing nothing.
  const bare = spawn(process.execPath, ["-e", "setInterval(() => {}, 3_600_000)"], { stdio: "ignore" })
  await sleep(SETTLE_MS)
  const baseline = await watch(bare.pid!)
  bare.kill("SIGKILL")

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
      PLEXSYNC_LOG_LEVEL: "warning"
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
  const scheduler = await watch(child.pid!)
  const stashDuring = stash.requests.length - stashBefore
  const plexDuring = plex.requests.count() - plexBefore
  child.kill("SIGTERM")
  await new Promise((resolve) => child.on("close", resolve))
  await stash.close()
  await plex.closePromise()
  fs.rmSync(dir, { recursive: true, force: true })

  const mb = (x: number) => `${x.toFixed(1)} MB`
  const rows: Array<ResultRow> = [
    {
      figure: `idle scheduler${FLAGS.length === 0 ? "" : ` (${FLAGS.join(" ")})`}, resident memory (largest of ` +
        `${SECONDS} samples, 1 s apart)`,
      value: mb(scheduler.maxRssMb),
      baseline: `bare node ${mb(baseline.maxRssMb)}`,
      ratio: baseline.maxRssMb / scheduler.maxRssMb,
      target: `≤ ${RSS_TARGET_MB} MB`,
      pass: scheduler.maxRssMb <= RSS_TARGET_MB
    },
    {
      figure: `idle scheduler, wake-ups per second (context switches of its ${scheduler.threads} threads)`,
      value: `${scheduler.wakeupsPerSec.toFixed(2)} /s, ${scheduler.ticksPerMin.toFixed(0)} CPU ticks a minute`,
      baseline: `bare node ${baseline.wakeupsPerSec.toFixed(2)} /s, ${baseline.ticksPerMin.toFixed(0)} ticks a minute`,
      ratio: null,
      target: `≤ ${WAKEUPS_TARGET} /s`,
      pass: scheduler.wakeupsPerSec <= WAKEUPS_TARGET,
      ...(scheduler.wakeupsPerSec <= WAKEUPS_TARGET ? {} : {
        limit: `While idle it sent ${stashDuring} requests to Stash and ${plexDuring} to Plex in ${SECONDS} s.`
      })
    }
  ]
  console.log(JSON.stringify({ baseline, scheduler, stashDuring, plexDuring }, null, 2))
  writeResult({ benchmark: "idle", at: new Date().toISOString(), machine: machine(), seconds: SECONDS, rows })
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
