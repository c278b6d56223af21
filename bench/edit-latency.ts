/**
 * Edit → Plex latency (issue #18, part 1): a scene's title edited in Stash, then announced to the running scheduler
 * the two ways Stash's plugins do, and the time until the title write reaches Plex.
 *
 *   npx tsx --conditions=@plexsync/source bench/edit-latency.ts      (BENCH_EDITS=30 per path, the default)
 *
 * The built scheduler (`apps/scheduler/build/esm/bin.js`, compiled first by scripts/launch.mjs when the sources
 * changed) runs at its defaults against the fake Stash and the fake Plex (in this process; Plex answers in a few
 * ms). After its first sync of the library, each edit changes one scene's title in the fake Stash and then
 *   (a) runs the built `plexsync hook` with the hook event on stdin, as Stash's plugin does: measured from that
 *       process's exit (the job is in the database then) to the fake Plex receiving the title write;
 *   (b) POSTs the same event to the scheduler's `/hooks/stash`, as the forwarder plugin does: measured from the
 *       answer to the title write.
 * Each edit waits for its write before the next. There is no setting that turns the wake-ups off, so the baseline
 * in the same run is the fake Plex's own round trip for one such title write, sent from this process.
 * Target: median ≤ 250 ms for both paths.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ResultRow } from "./lib/harness.js"
import { machine, median, repoRoot, tempDir, writeResult } from "./lib/harness.js"

const EDITS = Number(process.env["BENCH_EDITS"] ?? (process.env["BENCH_QUICK"] === "1" ? 5 : 30))
const SCENES = 10
/** The scheduler's log level (BENCH_EDIT_LOG_LEVEL), its log on stdout; none: warnings only, not shown. */
const LOG_LEVEL = process.env["BENCH_EDIT_LOG_LEVEL"]
const TARGET_MS = 250
const WRITE_TIMEOUT_MS = 60_000
const stashRoot = "/data/videos"
const plexRoot = "/media/videos"

const schedulerBin = path.join(repoRoot, "apps", "scheduler", "build", "esm", "bin.js")
const cliBin = path.join(repoRoot, "apps", "cli", "build", "esm", "bin.js")
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A Scene.Update.Post hook event, as Stash hands it to the plugin (and the forwarder POSTs it). */
const sceneEvent = (sceneId: string, title: string) =>
  JSON.stringify({
    server_connection: { Scheme: "http", Port: 9999, SessionCookie: null },
    args: {
      mode: "hook",
      hookContext: {
        id: Number(sceneId),
        type: "Scene.Update.Post",
        input: { id: sceneId, title },
        inputFields: ["title", "id"]
      }
    }
  })

/** Runs `plexsync hook` with `input` on stdin; resolves at its exit (Date.now()). */
const runHook = (env: Record<string, string>, input: string) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, "hook"], { env, stdio: ["pipe", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => void (output += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => void (output += chunk.toString("utf8")))
    child.once("error", reject)
    child.once("exit", (code) => {
      const at = Date.now()
      if (code === 0 && output.includes("\"output\"")) resolve(at)
      else reject(new Error(`plexsync hook exited ${code}: ${output}`))
    })
    child.stdin.end(input)
  })

const main = async () => {
  const built = spawnSync(
    process.execPath,
    [path.join(repoRoot, "scripts", "launch.mjs"), "apps/cli/bin", "--version"],
    { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] }
  )
  if (built.status !== 0 || !fs.existsSync(schedulerBin)) throw new Error("the scheduler does not build")

  const { startFakePlex } = await import("@plexsync/testing/FakePlex")
  const { FakeStashServer } = await import("@plexsync/testing/FakeStash")
  const { seedLibrary } = await import("@plexsync/testing/FakeStashSeed")
  const { freePort } = await import("@plexsync/testing/SchedulerProcess")
  const stash = await FakeStashServer.start({ utcOffsetMinutes: 0 })
  const plex = await startFakePlex()
  const seeded = seedLibrary(stash.state, { scenes: SCENES, root: stashRoot })
  const section = plex.state.addSection({ title: "Scenes", type: "movie", locations: [plexRoot] })
  const fileOf = new Map<string, string>()
  for (const scene of seeded) {
    const files = scene.files.map((f) => f.path.replace(stashRoot, plexRoot))
    plex.state.addItem({ sectionKey: section.key, files, title: path.basename(files[0]!) })
    fileOf.set(scene.id, files[0]!)
  }
  const itemOf = (sceneId: string) => plex.state.itemByFile(fileOf.get(sceneId)!)!
  const dir = tempDir("plexsync-bench-edit-")
  const port = await freePort()
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "",
    HOME: dir,
    PLEXSYNC_STASH_URL: stash.url,
    PLEXSYNC_PLEX_URL: plex.url,
    PLEXSYNC_PLEX_TOKEN: plex.token,
    PLEXSYNC_PATH_MAP: `${stashRoot}=>${plexRoot}`,
    PLEXSYNC_DATA_DIR: dir,
    PLEXSYNC_HTTP_ADDR: `127.0.0.1:${port}`,
    PLEXSYNC_RECONCILE_AT: "never",
    PLEXSYNC_LOG_LEVEL: LOG_LEVEL ?? "warning"
  }
  const child = spawn(process.execPath, [schedulerBin], {
    cwd: dir,
    env,
    stdio: ["ignore", LOG_LEVEL === undefined ? "ignore" : "inherit", "inherit"]
  })
  const base = `http://127.0.0.1:${port}`
  let healthy = false
  for (let i = 0; i < 120 && !healthy; i++) {
    await sleep(500)
    healthy = await fetch(`${base}/healthz`).then((r) => r.ok, () => false)
  }
  if (!healthy) throw new Error("the scheduler did not become healthy")

  /** Resolves with the time (the fake Plex's clock: Date.now()) the item of `sceneId` received `title`. */
  const titleWritten = async (sceneId: string, title: string, since: number) => {
    const ratingKey = itemOf(sceneId).ratingKey
    const deadline = Date.now() + WRITE_TIMEOUT_MS
    while (Date.now() < deadline) {
      const write = plex.ledger.forItem(ratingKey).find((w) =>
        w.applied && w.at >= since && Object.values(w.params).includes(title)
      )
      if (write !== undefined) return write
      await sleep(2)
    }
    throw new Error(`the title "${title}" of scene ${sceneId} did not reach Plex within ${WRITE_TIMEOUT_MS} ms`)
  }

  // The first poll queues every scene (never synced); the edits start once Plex has them all.
  const synced = () => seeded.every((scene) => plex.ledger.forItem(itemOf(scene.id).ratingKey).some((w) => w.applied))
  for (let waited = 0; !synced(); waited += 100) {
    if (waited > WRITE_TIMEOUT_MS) throw new Error("the first sync did not reach Plex")
    await sleep(100)
  }
  await sleep(2_000)
  // The first hook with this configuration validates it on the slow path: not measured.
  await runHook(env, sceneEvent(seeded[0]!.id, seeded[0]!.title ?? ""))

  const edit = async (way: "hook" | "post", i: number) => {
    const sceneId = seeded[i % seeded.length]!.id
    const title = `Edited through ${way} ${i}`
    const before = Date.now()
    stash.state.updateScene(sceneId, { title })
    let answered: number
    if (way === "hook") {
      answered = await runHook(env, sceneEvent(sceneId, title))
    } else {
      const response = await fetch(`${base}/hooks/stash`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: sceneEvent(sceneId, title)
      })
      await response.text()
      answered = Date.now()
      if (response.status !== 202) throw new Error(`POST /hooks/stash answered ${response.status}`)
    }
    if (LOG_LEVEL !== undefined) console.log(`${new Date(answered).toISOString()} ${way} answered for scene ${sceneId}`)
    const write = await titleWritten(sceneId, title, before)
    await sleep(100)
    // Plex may have the title before the hook process has finished exiting: that counts as no wait.
    return { ms: Math.max(0, write.at - answered), write }
  }

  const hook: Array<number> = []
  const post: Array<number> = []
  let lastWrite: { readonly path: string; readonly query: string; readonly method: string } | null = null
  for (let i = 0; i < EDITS; i++) {
    const a = await edit("hook", 2 * i)
    hook.push(a.ms)
    const b = await edit("post", 2 * i + 1)
    post.push(b.ms)
    lastWrite = b.write
  }

  // Baseline: the fake Plex's round trip for one title write, the request the scheduler sent, from here.
  const roundTrips: Array<number> = []
  for (let i = 0; i < EDITS && lastWrite !== null; i++) {
    const query = lastWrite.query.replace("X-Plex-Token=<redacted>", `X-Plex-Token=${plex.token}`)
    const start = performance.now()
    const response = await fetch(`${plex.url}${lastWrite.path}?${query}`, {
      method: lastWrite.method,
      headers: { Accept: "application/json" }
    })
    await response.arrayBuffer()
    roundTrips.push(performance.now() - start)
  }

  child.kill("SIGTERM")
  await new Promise((resolve) => child.on("close", resolve))
  await stash.close()
  await plex.closePromise()
  fs.rmSync(dir, { recursive: true, force: true })

  const roundTrip = median(roundTrips)
  const row = (way: string, xs: ReadonlyArray<number>): ResultRow => ({
    figure: `edit → Plex through ${way} (median of ${xs.length} edits; worst ${Math.max(...xs).toFixed(0)} ms)`,
    value: `${median(xs).toFixed(0)} ms`,
    baseline: `the fake Plex's round trip for one title write ${roundTrip.toFixed(1)} ms (no setting turns the ` +
      `wake-ups off)`,
    ratio: roundTrip / Math.max(1, median(xs)),
    target: `median ≤ ${TARGET_MS} ms`,
    pass: median(xs) <= TARGET_MS
  })
  const rows = [
    row("`plexsync hook` (from its exit)", hook),
    row("`POST /hooks/stash` (from its answer)", post)
  ]
  console.log(JSON.stringify({ hook, post, roundTrips }, null, 2))
  writeResult({
    benchmark: "edit-latency",
    at: new Date().toISOString(),
    machine: machine(),
    edits: EDITS,
    rows,
    hookMs: hook,
    postMs: post,
    plexRoundTripMs: roundTrips
  })
}

main().then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
