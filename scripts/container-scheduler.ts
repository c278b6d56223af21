/**
 * Part of scripts/container-test.sh: runs `plexsync-scheduler` from the image (`podman run --network=host …`)
 * against a fake Stash and a fake Plex started here on loopback, the way a user runs the container: the database
 * in a mounted /data, the webhook secret from a mounted file (PLEXSYNC_WEBHOOK_SECRET_FILE), listening on
 * 0.0.0.0. It waits until every scene is in Plex and matches Stash, checks the HEALTHCHECK, SIGTERMs the container
 * and expects exit 0, then reads the mounted database with a one-shot `plexsync status --json`. Exit 0 when all of
 * that holds; 1 with the reason otherwise.
 *
 *   tsx --conditions=@plexsync/source scripts/container-scheduler.ts IMAGE -- PODMAN_ARGS…
 *
 * PODMAN_ARGS are the global podman options the script passes (runtime, cgroup manager); `--ulimit`s are added
 * to `run`.
 */
import { freePort, startScheduler } from "../packages/testing/src/SchedulerProcess.js"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { rootVersion, schedulerEnv, startLibrary, verifyLibrary, waitFor } from "../apps/scheduler/test/e2e.js"

const [image, separator, ...podmanGlobals] = process.argv.slice(2)
if (image === undefined || separator !== "--") {
  process.stderr.write("usage: container-scheduler.ts IMAGE -- PODMAN_GLOBAL_OPTIONS…\n")
  process.exit(2)
}
const limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
const podman = (args: ReadonlyArray<string>) => ["podman", ...podmanGlobals, ...args]
const say = (text: string) => process.stdout.write(`  ${text}\n`)

const scenes = 12
const secret = "container-webhook-SECRET"
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-container-"))
const data = Path.join(dir, "data")
Fs.mkdirSync(data)
// The image runs as uid 10001: the mounted directory must be its to write.
Fs.chownSync(data, 10001, 10001)
const secretFile = Path.join(dir, "webhook_secret")
Fs.writeFileSync(secretFile, `${secret}\n`, { mode: 0o644 })
const name = `plexsync-test-${process.pid}`

const library = await startLibrary({ scenes, stashClockOffsetMs: -3_600_000 })
let failed: string | undefined
try {
  const port = await freePort()
  const env = {
    ...schedulerEnv(library, "/data", port, { PLEXSYNC_HTTP_ADDR: `0.0.0.0:${port}` }),
    PLEXSYNC_WEBHOOK_SECRET_FILE: "/run/secrets/webhook_secret"
  }
  // The image's own PLEXSYNC_DATA_DIR is /data already; the variables are passed by name (`-e NAME`).
  const logFile = Path.join(dir, "scheduler.log")
  const scheduler = startScheduler({
    command: podman([
      "run",
      "--rm",
      "--name",
      name,
      "--network=host",
      // The image's HEALTHCHECK stays, run below by hand: no timer (podman would ask systemd for one).
      "--health-interval",
      "disable",
      ...limits,
      "-v",
      `${data}:/data`,
      "-v",
      `${secretFile}:/run/secrets/webhook_secret:ro`,
      ...Object.keys(env).flatMap((variable) => ["-e", variable]),
      image
    ]),
    env,
    logFile
  })
  try {
    await scheduler.ready(120_000)
    say(`the scheduler serves ${scheduler.baseUrl} from the container (secret from a mounted file)`)
    const status = await scheduler.getJson<{ readonly version: string }>("/status")
    if (status.version !== rootVersion) throw new Error(`/status says version ${status.version}, not ${rootVersion}`)

    const unauthorised = await fetch(`${scheduler.baseUrl}/hooks/stash`, { method: "POST", body: "{}" })
    if (unauthorised.status !== 401) throw new Error(`POST /hooks/stash without the secret: HTTP ${unauthorised.status}`)

    await waitFor("every scene to reach Plex and match Stash", async () => {
      const verdict = await verifyLibrary(library)
      return verdict.matching === scenes && verdict.mismatches.length === 0 ? verdict : undefined
    }, 120_000)
    say(`${scenes} scenes synced, every Plex item matches its Stash scene`)

    const health = spawnSync(podman(["healthcheck", "run", name])[0]!, podman(["healthcheck", "run", name]).slice(1), {
      encoding: "utf8"
    })
    if (health.status !== 0) throw new Error(`podman healthcheck run: exit ${health.status} ${health.stderr.trim()}`)
    say("HEALTHCHECK: healthy")

    const code = await scheduler.stop(60_000)
    if (code !== 0) throw new Error(`the container exited ${code} on SIGTERM, not 0`)
    say("SIGTERM: the scheduler finished and the container exited 0")
  } catch (error) {
    await scheduler.kill()
    spawnSync("podman", [...podmanGlobals, "rm", "-f", name], { stdio: "ignore" })
    const log = Fs.existsSync(logFile) ? Fs.readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-15).join("\n") : ""
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nlast log lines:\n${log}`)
  }

  // One-shot command on the same mounted data: the database the scheduler left.
  const status = spawnSync(
    "podman",
    [...podmanGlobals, "run", "--rm", "--network=host", "--no-healthcheck", ...limits, "-v", `${data}:/data`, image, "plexsync", "status", "--json"],
    { encoding: "utf8" }
  )
  if (status.status !== 0) throw new Error(`plexsync status --json in the container: exit ${status.status}\n${status.stderr}`)
  const document = JSON.parse(status.stdout) as { readonly version: string; readonly queue: { readonly queued: number } }
  if (document.version !== rootVersion || document.queue.queued !== 0) {
    throw new Error(`plexsync status --json on the mounted /data: ${status.stdout}`)
  }
  if (!Fs.existsSync(Path.join(data, "plexsync.db"))) throw new Error("no plexsync.db in the mounted directory")
  say("plexsync status --json reads the mounted database: queue empty, same version")
} catch (error) {
  failed = error instanceof Error ? error.message : String(error)
} finally {
  await library.close()
  Fs.rmSync(dir, { recursive: true, force: true })
}
if (failed !== undefined) {
  process.stderr.write(`container scheduler check failed: ${failed}\n`)
  process.exit(1)
}
