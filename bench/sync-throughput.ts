/**
 * Sync throughput: the worker against the fake Plex and fake Stash over real HTTP on loopback, every request
 * delayed by a fixed latency, next to the bound that latency allows:
 *
 *   bound = concurrency ÷ (latency × requests per job)
 *
 * (as if a job's requests ran one after the other; `concurrency` jobs run at once). Requests per job are counted
 * at the fake servers during the run. A job overlaps what does not depend on each other — the Stash cover download
 * with the Plex lookup, and the edit, rating and poster writes — so its critical path is shorter than its request
 * count, and a ratio near or above 1 is possible. The fake Stash and the fake Plex each run in their own process,
 * as the real servers do, so their work does not slow the worker's event loop. Target: ≥ 0.7× the bound.
 *
 *   npx tsx --conditions=@plexsync/source bench/sync-throughput.ts [scenes] [latencyMs] [rounds] [concurrency…]
 *
 * Results go to bench/results/sync-throughput.json.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { SceneId } from "@plexsync/domain/Ids"
import { Target } from "@plexsync/domain/Ids"
import { parsePathMap } from "@plexsync/domain/PathMap"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { defaultEngineSettings, makeWorker } from "@plexsync/domain/Worker"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import * as FakePlex from "@plexsync/testing/FakePlex"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { seedLibrary } from "@plexsync/testing/FakeStashSeed"
import { FakeStashState } from "@plexsync/testing/FakeStashState"
import * as TestStore from "@plexsync/testing/TestStore"
import { Effect, Either, Layer, Logger, LogLevel, Option, Redacted, Schema } from "effect"
import { type ChildProcess, fork } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const SCENES = Number(process.argv[2] ?? 200)
const LATENCY_MS = Number(process.argv[3] ?? 20)
const ROUNDS = Number(process.argv[4] ?? 3)
const CONCURRENCIES = process.argv.length > 5 ? process.argv.slice(5).map(Number) : [4, 8]
const TARGET = 0.7
const STASH_ROOT = "/data/videos"
const PLEX_ROOT = "/media/videos"

const here = path.dirname(fileURLToPath(import.meta.url))

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

interface Round {
  readonly concurrency: number
  readonly jobs: number
  readonly seconds: number
  readonly jobsPerSec: number
  readonly plexRequests: number
  readonly stashRequests: number
  readonly requestsPerJob: number
  readonly bound: number
  readonly ratio: number
}

// ---------------------------------------------------------------------------------------------------------
// The servers run in their own process (as Plex and Stash do in real life), so their CPU does not slow the
// worker's event loop.

/** Which fake server a child process runs. */
type Role = Target
type ToServer = { readonly _tag: "reset" } | { readonly _tag: "counts" } | { readonly _tag: "close" }
type FromServer =
  | { readonly _tag: "ready"; readonly url: string; readonly token: string }
  | { readonly _tag: "counts"; readonly requests: number; readonly synced: number }
  | { readonly _tag: "reset" }

const plexFileOf = (stashPath: string) => PLEX_ROOT + stashPath.slice(STASH_ROOT.length)

/** One fake server in this (child) process; the library is seeded the same way in both. */
const serverProcess = async (role: Role) => {
  const send = (message: FromServer) => process.send!(message)
  const latencyMs = Number(process.env["SYNC_BENCH_LATENCY_MS"])
  const count = Number(process.env["SYNC_BENCH_SCENES"])
  const stash = role === "stash" ? await FakeStash.startFakeStash() : null
  const scenes = seedLibrary(stash?.state ?? new FakeStashState(), { scenes: count, root: STASH_ROOT })
  const plex = role === "plex" ? await FakePlex.startFakePlex() : null
  if (plex !== null) {
    plex.state.addSection({ key: "1", title: "Scenes", type: "movie", locations: [PLEX_ROOT] })
    for (const scene of scenes) plex.state.addItem({ file: plexFileOf(scene.files[0]!.path) })
    plex.faults.inject({ _tag: "Latency", ms: latencyMs })
  }
  if (stash !== null) stash.faults.latencyMs = latencyMs
  process.on("message", (message: ToServer) => {
    switch (message._tag) {
      case "reset":
        plex?.requests.reset()
        stash?.resetRequests()
        send({ _tag: "reset" })
        break
      case "counts": {
        // A Plex item counts as synced when it shows its scene's title (or the scene has none) and a poster.
        const synced = plex === null ? 0 : scenes.filter((scene) => {
          const item = plex.state.itemByFile(plexFileOf(scene.files[0]!.path))
          return item !== undefined && (scene.title === null || item.title === scene.title) &&
            (scene.screenshot === null || item.poster !== null)
        }).length
        send({ _tag: "counts", requests: plex?.requests.count() ?? stash!.requests.length, synced })
        break
      }
      case "close":
        void (plex?.closePromise() ?? stash!.close()).then(() => process.exit(0))
        break
    }
  })
  send({ _tag: "ready", url: plex?.url ?? stash!.url, token: plex?.token ?? "" })
}

interface Server {
  readonly child: ChildProcess
  readonly url: string
  readonly token: string
}

/** Starts one fake server in its own process for one round; stopped with the scope. */
const startServer = (role: Role) =>
  Effect.acquireRelease(
    Effect.async<Server>((resume) => {
      const child = fork(fileURLToPath(import.meta.url), [], {
        // The child loads this TypeScript file too: the same loader and export condition as this process.
        execArgv: process.execArgv,
        env: {
          ...process.env,
          SYNC_BENCH_ROLE: role,
          SYNC_BENCH_LATENCY_MS: String(LATENCY_MS),
          SYNC_BENCH_SCENES: String(SCENES)
        },
        stdio: ["ignore", "inherit", "inherit", "ipc"]
      })
      child.once("message", (message: FromServer) => {
        if (message._tag === "ready") resume(Effect.succeed({ child, url: message.url, token: message.token }))
      })
      child.once("error", (error) => resume(Effect.die(error)))
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        child.once("exit", () => resume(Effect.void))
        child.send({ _tag: "close" } satisfies ToServer)
      })
  )

const ask = <T extends FromServer["_tag"]>(server: Server, message: ToServer, answer: T) =>
  Effect.async<Extract<FromServer, { _tag: T }>>((resume) => {
    const listener = (reply: FromServer) => {
      if (reply._tag !== answer) return
      server.child.off("message", listener)
      resume(Effect.succeed(reply as Extract<FromServer, { _tag: T }>))
    }
    server.child.on("message", listener)
    server.child.send(message)
  })

/** One measured run: fresh servers, a fresh database, SCENES changed scenes synced by one worker. */
const round = (concurrency: number) =>
  Effect.gen(function*() {
    const [stash, plex] = yield* Effect.all([startServer("stash"), startServer("plex")], { concurrency: 2 })
    const layer = Layer.mergeAll(
      TestStore.layer({ prefix: "plexsync-bench-sync-" }),
      Layer.mergeAll(
        PlexClientLive.layer({ url: plex.url, token: Redacted.make(plex.token), clientIdentifier: "plexsync-bench" }),
        StashClientLive.layer({ url: stash.url, apiKey: Option.none() }).pipe(Layer.orDie)
      ).pipe(Layer.provide(NodeHttpClient.layerUndici))
    )
    const context = yield* Layer.build(layer)
    const pathMap = Either.getOrThrow(parsePathMap(`${STASH_ROOT}=>${PLEX_ROOT}`))
    const worker = yield* makeWorker({ ...defaultEngineSettings, concurrency, pathMap }).pipe(
      Effect.provide(context)
    )
    // Stash numbers the seeded scenes 1…N.
    yield* Effect.flatMap(SyncQueue, (q) =>
      q.enqueueMany(
        Array.from({ length: SCENES }, (_, i) => ({ sceneId: String(i + 1) as SceneId, reason: "bulk" as const }))
      )).pipe(Effect.provide(context))

    yield* ask(stash, { _tag: "reset" }, "reset")
    yield* ask(plex, { _tag: "reset" }, "reset")
    const started = performance.now()
    const summary = yield* worker.drain()
    const seconds = (performance.now() - started) / 1000
    const plexCounts = yield* ask(plex, { _tag: "counts" }, "counts")
    const stashCounts = yield* ask(stash, { _tag: "counts" }, "counts")
    if (summary.synced !== SCENES || plexCounts.synced !== SCENES) {
      return yield* Effect.dieMessage(
        `expected ${SCENES} synced, got ${JSON.stringify(summary)} (${plexCounts.synced} items in Plex)`
      )
    }
    const counts = { plex: plexCounts.requests, stash: stashCounts.requests }
    const requestsPerJob = (counts.plex + counts.stash) / SCENES
    const jobsPerSec = SCENES / seconds
    const bound = concurrency / ((LATENCY_MS / 1000) * requestsPerJob)
    return {
      concurrency,
      jobs: SCENES,
      seconds,
      jobsPerSec,
      plexRequests: counts.plex,
      stashRequests: counts.stash,
      requestsPerJob,
      bound,
      ratio: jobsPerSec / bound
    } satisfies Round
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const results: Record<string, Array<Round>> = {}
  for (let r = 0; r < ROUNDS; r++) {
    for (const concurrency of CONCURRENCIES) {
      const result = yield* round(concurrency)
      ;(results[concurrency] ??= []).push(result)
      console.log(
        `c=${concurrency} round ${r + 1}: ${result.jobsPerSec.toFixed(1)} jobs/s, bound ` +
          `${result.bound.toFixed(1)} (${result.requestsPerJob.toFixed(2)} requests/job × ${LATENCY_MS} ms), ` +
          `ratio ${result.ratio.toFixed(2)}`
      )
    }
  }
  const summary = CONCURRENCIES.map((concurrency) => {
    const rounds = results[concurrency]!
    const ratio = median(rounds.map((x) => x.ratio))
    return {
      concurrency,
      jobsPerSec: median(rounds.map((x) => x.jobsPerSec)),
      bound: median(rounds.map((x) => x.bound)),
      requestsPerJob: median(rounds.map((x) => x.requestsPerJob)),
      ratio,
      target: TARGET,
      pass: ratio >= TARGET
    }
  })
  console.log("")
  console.log("concurrency  jobs/s  bound  requests/job  ratio  (target ≥ 0.7)")
  for (const s of summary) {
    console.log(
      `${String(s.concurrency).padStart(11)}  ${s.jobsPerSec.toFixed(1).padStart(6)}  ${
        s.bound.toFixed(1).padStart(5)
      }  ${s.requestsPerJob.toFixed(2).padStart(12)}  ${s.ratio.toFixed(2).padStart(5)}  ${s.pass ? "pass" : "FAIL"}`
    )
  }
  const out = {
    benchmark: "sync-throughput",
    scenes: SCENES,
    latencyMs: LATENCY_MS,
    rounds: ROUNDS,
    node: process.version,
    at: new Date().toISOString(),
    summary,
    runs: results
  }
  fs.mkdirSync(path.join(here, "results"), { recursive: true })
  fs.writeFileSync(path.join(here, "results", "sync-throughput.json"), JSON.stringify(out, null, 2) + "\n")
  return summary.every((s) => s.pass)
})

const role = process.env["SYNC_BENCH_ROLE"]
if (Schema.is(Target)(role)) {
  await serverProcess(role)
} else {
  const passed = await Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning)))
  process.exitCode = passed ? 0 : 1
}
