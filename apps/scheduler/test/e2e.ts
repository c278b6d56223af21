import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { PathMapping } from "@plexsync/domain/PathMap"
import type { PathMap } from "@plexsync/domain/PathMap"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import type { FakePlexServer } from "@plexsync/testing/FakePlex"
import { startFakePlex } from "@plexsync/testing/FakePlex"
import { FakeStashServer } from "@plexsync/testing/FakeStash"
import { seedLibrary } from "@plexsync/testing/FakeStashSeed"
import type { SchedulerProcess } from "@plexsync/testing/SchedulerProcess"
import { freePort, startScheduler } from "@plexsync/testing/SchedulerProcess"
import * as Verify from "@plexsync/testing/Verify"
import { Effect, Option } from "effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { statusDocument } from "../src/StatusDocument.js"

/** End-to-end helpers: the fake servers in this process, the scheduler as a child process. */

export const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

/** The version both programs report: the root package.json's. */
export const rootVersion: string = (JSON.parse(Fs.readFileSync(Path.join(repoRoot, "package.json"), "utf8")) as {
  readonly version: string
}).version

export const stashRoot = "/data/videos"
export const plexRoot = "/media/videos"
export const pathMap: PathMap = [new PathMapping({ stashPrefix: stashRoot, plexPrefix: plexRoot })]

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it returns a value; fails naming `what` (and the last value seen) after `timeoutMs`. */
export const waitFor = async <A>(
  what: string,
  check: () => Promise<A | undefined> | A | undefined,
  timeoutMs = 30_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown = null
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (e) {
      lastError = e
    }
    await sleep(100)
  }
  throw new Error(
    `timed out after ${timeoutMs}ms waiting for ${what}${lastError === null ? "" : ` (${String(lastError)})`}`
  )
}

export const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-e2e-"))

export interface Library {
  readonly stash: FakeStashServer
  readonly plex: FakePlexServer & { readonly closePromise: () => Promise<void> }
  readonly sceneIds: ReadonlyArray<string>
  /** Plex file of a scene's primary file. */
  readonly plexFile: (sceneId: string) => string
  readonly item: (sceneId: string) => ReturnType<FakePlexServer["state"]["itemByFile"]>
  readonly originalTitle: (plexFile: string) => string | undefined
  readonly close: () => Promise<void>
}

/** A seeded fake Stash and a fake Plex holding one item per scene (titled by file name, no metadata yet). */
export const startLibrary = async (
  options: {
    readonly scenes: number
    /** The scenes are seeded this far from now (on Stash's clock). */
    readonly stashClockOffsetMs?: number
    /** The fake Stash's own options (its UTC offset, its clock). */
    readonly stash?: Parameters<typeof FakeStashServer.start>[0]
  }
): Promise<Library> => {
  const stash = await FakeStashServer.start(options.stash ?? {})
  if (options.stashClockOffsetMs !== undefined) stash.state.advanceClock(options.stashClockOffsetMs)
  const seeded = seedLibrary(stash.state, { scenes: options.scenes, root: stashRoot })
  if (options.stashClockOffsetMs !== undefined) stash.state.advanceClock(-options.stashClockOffsetMs)
  const plex = await startFakePlex({ scanDelayMs: 200 })
  const section = plex.state.addSection({ title: "Scenes", type: "movie", locations: [plexRoot] })
  const titles = new Map<string, string>()
  const files = new Map<string, string>()
  for (const scene of seeded) {
    const mapped = scene.files.map((f) => f.path.replace(stashRoot, plexRoot))
    const title = Path.basename(mapped[0]!).replace(/\.[^.]+$/, "")
    plex.state.addItem({ sectionKey: section.key, files: mapped, title })
    titles.set(mapped[0]!, title)
    files.set(scene.id, mapped[0]!)
  }
  return {
    stash,
    plex,
    sceneIds: seeded.map((s) => s.id),
    plexFile: (id) => files.get(id)!,
    item: (id) => plex.state.itemByFile(files.get(id)!),
    originalTitle: (file) => titles.get(file),
    close: async () => {
      await plex.closePromise()
      await stash.close()
    }
  }
}

/** The scheduler's settings for a library, short intervals; `overrides` win. */
export const schedulerEnv = (
  library: Library,
  dataDir: string,
  port: number,
  overrides: Readonly<Record<string, string>> = {}
): Record<string, string> => ({
  PLEXSYNC_DATA_DIR: dataDir,
  PLEXSYNC_STASH_URL: library.stash.url,
  PLEXSYNC_PLEX_URL: library.plex.url,
  PLEXSYNC_PLEX_TOKEN: library.plex.token,
  PLEXSYNC_PATH_MAP: `${stashRoot}=>${plexRoot}`,
  PLEXSYNC_HTTP_ADDR: `127.0.0.1:${port}`,
  PLEXSYNC_LOG_LEVEL: "info",
  PLEXSYNC_POLL_INTERVAL: "500ms",
  PLEXSYNC_LEASE: "3s",
  PLEXSYNC_PROBE_MIN: "300ms",
  PLEXSYNC_PROBE_MAX: "1s",
  PLEXSYNC_RAMP_FROM: "100",
  PLEXSYNC_RAMP_TO: "500",
  PLEXSYNC_RAMP_OVER: "1s",
  PLEXSYNC_SHUTDOWN_GRACE: "5s",
  ...overrides
})

/**
 * How to start the scheduler, as the tests' global setup built it. Imported when needed: scripts outside vitest
 * (scripts/container-scheduler.ts) use this module's library helpers, and vitest cannot be loaded there.
 */
const schedulerCommand = async (): Promise<ReadonlyArray<string>> => (await import("vitest")).inject("schedulerCommand")

/** Starts the built `plexsync-scheduler` (as `pnpm scheduler` does) and waits until it serves. */
export const launch = async (env: Record<string, string>, logFile: string): Promise<SchedulerProcess> => {
  const scheduler = startScheduler({
    command: await schedulerCommand(),
    cwd: repoRoot,
    env,
    logFile
  })
  try {
    await scheduler.ready(60_000)
  } catch (e) {
    await scheduler.kill()
    throw e
  }
  return scheduler
}

/** Runs the scheduler to its exit (for usage and configuration errors): its exit code and output. */
export const runToExit = async (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const [command, ...prefix] = await schedulerCommand()
  return new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>(
    (resolve, reject) => {
      const child = spawn(command!, [...prefix, ...args], {
        cwd: repoRoot,
        env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString("utf8")))
      child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString("utf8")))
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
      child.once("error", reject)
      child.once("exit", (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr })
      })
    }
  )
}

export { freePort }

/** Every scene in the fake Stash (read through the real client) against the fake Plex's items. */
export const verifyLibrary = (library: Library) =>
  Effect.runPromise(
    Verify.readStash.pipe(
      Effect.provide(StashClientLive.layer({ url: library.stash.url, apiKey: Option.none() })),
      Effect.provide(NodeHttpClient.layerUndici)
    )
  ).then((stash) =>
    Verify.verify(stash, (file) => library.plex.state.itemByFile(file), {
      pathMap,
      originalTitle: library.originalTitle
    })
  )

/** The last lines of a log, for a failure message. */
export const logTail = (logFile: string, lines = 30) =>
  Fs.existsSync(logFile) ? Fs.readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n") : ""

/**
 * Runs a test's `body` against a scheduler: a failure carries the tail of the scheduler's log; afterwards the
 * scheduler is killed (if it still runs), the fake servers closed and the test's directory removed.
 */
export const withCleanup = async (
  resources: {
    readonly dir: string
    readonly logFile: string
    readonly scheduler: () => SchedulerProcess | undefined
    readonly library: () => Library | undefined
  },
  body: () => Promise<void>,
  logLines = 40
): Promise<void> => {
  try {
    await body()
  } catch (e) {
    throw new Error(`${String(e)}\n--- scheduler log ---\n${logTail(resources.logFile, logLines)}`)
  } finally {
    await resources.scheduler()?.kill()
    await resources.library()?.close()
    Fs.rmSync(resources.dir, { recursive: true, force: true })
  }
}

/**
 * Runs `body` against a fresh seeded library of `scenes` in a new test directory, under `withCleanup`: `body` starts
 * the scheduler with `start` (its data directory in the test directory, `overrides` to `schedulerEnv`), and that
 * scheduler is killed afterwards.
 */
export const withLibrary = async (
  scenes: number,
  body: (context: {
    readonly library: Library
    readonly dir: string
    readonly logFile: string
    readonly start: (overrides?: Readonly<Record<string, string>>) => Promise<SchedulerProcess>
  }) => Promise<void>,
  logLines = 40
): Promise<void> => {
  let library: Library | undefined
  let scheduler: SchedulerProcess | undefined
  const dir = tempDir()
  const logFile = Path.join(dir, "scheduler.log")
  await withCleanup({ dir, logFile, scheduler: () => scheduler, library: () => library }, async () => {
    const lib = await startLibrary({ scenes })
    library = lib
    const start = async (overrides: Readonly<Record<string, string>> = {}) => {
      const started = await launch(schedulerEnv(lib, Path.join(dir, "data"), await freePort(), overrides), logFile)
      scheduler = started
      return started
    }
    await body({ library: lib, dir, logFile, start })
  }, logLines)
}

/** The scheduler's `GET /status` document, as its JSON reads. */
export type StatusJson = ReturnType<typeof statusDocument>
