/**
 * Adaptive concurrency: the worker against a fake Plex whose latency rises with load (20 ms an answer up to 4
 * requests in flight, 8 ms more for each one beyond, 503 above 24 in flight), next to the best fixed concurrency
 * found by sweeping in the same run. Target: ≥ 0.9× the swept best's jobs a second, and no error burst (no more
 * jobs put back for errors than the swept best had).
 *
 * Each run works through a backlog larger than it can finish for `seconds` (the adaptive limit's slow start is a
 * small part of it), then stops claiming and lets its jobs settle; its rate is the jobs synced over that time. The
 * runs of a round go one after the other in an order that rotates between rounds, and the figures are medians over
 * rounds: the fake servers and the worker share one process on a shared machine, so a single run's rate drifts with
 * the machine's load. The best fixed concurrency is the one with the highest median; the ratio is the median of the
 * per-round ratios against it. The adaptive runs sample the limit every 100 ms: its trajectory is in the results.
 *
 *   npx tsx --conditions=@plexsync/source bench/adaptive-concurrency.ts [seconds] [rounds] [ceiling] [fixed…]
 *
 * Results go to bench/results/adaptive-concurrency.json.
 */
import { concurrencyLimit } from "@plexsync/domain/AdaptiveLimit"
import { defaultEngineSettings, makeWorker } from "@plexsync/domain/Worker"
import { Duration, Effect, Fiber, Logger, LogLevel, Metric } from "effect"
import * as os from "node:os"
import { fakeWorld, pathMap } from "./lib/fakeWorld.js"
import type { ResultRow } from "./lib/harness.js"
import { machine, median, writeResult } from "./lib/harness.js"

const quick = process.env["BENCH_QUICK"] === "1"
const SECONDS = Number(process.argv[2] ?? (quick ? 5 : 15))
const ROUNDS = Number(process.argv[3] ?? (quick ? 1 : 3))
const CEILING = Number(process.argv[4] ?? 24)
const FIXED = process.argv.length > 5 ? process.argv.slice(5).map(Number) : [2, 4, 6, 8, 16, 24]
/** More scenes than any run finishes in its time (the best runs did about 20 jobs a second). */
const BACKLOG = Math.ceil(SECONDS * 40)
const SAMPLE_MS = 100
const SERVER = { baseMs: 20, capacity: 4, perExtraMs: 8, overloadAt: 24 }
const TARGET = 0.9

type Mode = "fixed" | "adaptive"

interface Run {
  readonly mode: Mode
  readonly concurrency: number
  readonly round: number
  readonly seconds: number
  readonly synced: number
  readonly jobsPerSec: number
  /** Jobs put back or dead-lettered because a request failed. */
  readonly errors: number
  /** The adaptive limit every `SAMPLE_MS` ms. */
  readonly limits?: ReadonlyArray<number>
}

const run = (mode: Mode, concurrency: number, round: number) =>
  Effect.gen(function*() {
    const world = yield* fakeWorld({ scenes: BACKLOG })
    world.plex.faults.inject({ _tag: "LoadLatency", ...SERVER })
    const worker = yield* makeWorker({ ...defaultEngineSettings, concurrency, concurrencyMode: mode, pathMap }).pipe(
      Effect.provide(world.context)
    )
    yield* world.enqueueAll
    const limits: Array<number> = []
    const sampler = mode === "adaptive"
      ? yield* Effect.fork(Effect.forever(
        Effect.zipRight(
          Effect.map(Metric.value(concurrencyLimit), (state) => limits.push(state.value)),
          Effect.sleep(Duration.millis(SAMPLE_MS))
        )
      ))
      : null
    const started = performance.now()
    const summary = yield* worker.drain({ wait: true, stop: Effect.sleep(Duration.seconds(SECONDS)) })
    const seconds = (performance.now() - started) / 1000
    if (sampler !== null) yield* Fiber.interrupt(sampler)
    const result: Run = {
      mode,
      concurrency,
      round,
      seconds,
      synced: summary.synced,
      jobsPerSec: summary.synced / seconds,
      errors: summary.retried + summary.held + summary.deadLettered,
      ...(sampler === null ? {} : { limits })
    }
    console.log(
      `round ${round + 1} ${mode} ${concurrency}: ${result.jobsPerSec.toFixed(1)} jobs/s, ${result.errors} job(s) ` +
        `put back for errors`
    )
    return result
  }).pipe(Effect.scoped)

/** Where the adaptive limit was over its runs, against the best fixed concurrency. */
const trajectory = (runs: ReadonlyArray<Run>, best: number) => {
  const all = runs.flatMap((r) => r.limits ?? [])
  const reached = runs.map((r) => (r.limits ?? []).findIndex((l) => l >= best))
  return {
    meanLimit: all.reduce((a, b) => a + b, 0) / Math.max(1, all.length),
    medianLimit: median(all),
    /** Seconds from the start until the limit first reached the best fixed concurrency (median over runs). */
    reachSeconds: median(reached.filter((i) => i >= 0).map((i) => (i * SAMPLE_MS) / 1000)),
    shareAbove: all.filter((l) => l > best).length / Math.max(1, all.length),
    shareBelow: all.filter((l) => l < best).length / Math.max(1, all.length),
    highest: Math.max(...all)
  }
}

const loadBefore = os.loadavg()[0]!

const program = Effect.gen(function*() {
  const configs: ReadonlyArray<readonly [Mode, number]> = [
    ...FIXED.map((c) => ["fixed", c] as const),
    ["adaptive", CEILING] as const
  ]
  const runs: Array<Run> = []
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < configs.length; i++) {
      const [mode, concurrency] = configs[(i + round) % configs.length]!
      runs.push(yield* run(mode, concurrency, round))
    }
  }
  const of = (mode: Mode, concurrency: number) => runs.filter((r) => r.mode === mode && r.concurrency === concurrency)
  const fixedMedians = FIXED.map((c) => ({
    concurrency: c,
    jobsPerSec: median(of("fixed", c).map((r) => r.jobsPerSec))
  }))
  const best = fixedMedians.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a))
  const adaptive = of("adaptive", CEILING)
  const bestRuns = of("fixed", best.concurrency)
  const ratios = adaptive.map((a) => a.jobsPerSec / bestRuns.find((b) => b.round === a.round)!.jobsPerSec)
  const ratio = median(ratios)
  const adaptiveRate = median(adaptive.map((r) => r.jobsPerSec))
  const adaptiveErrors = median(adaptive.map((r) => r.errors))
  const bestErrors = median(bestRuns.map((r) => r.errors))
  const path = trajectory(adaptive, best.concurrency)
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`
  const rows: Array<ResultRow> = [
    {
      figure:
        `adaptive (ceiling ${CEILING}) vs best fixed concurrency (${best.concurrency}), jobs/s (median of ${ROUNDS} ` +
        `rounds of ${SECONDS} s)`,
      value: adaptiveRate.toFixed(1),
      baseline: best.jobsPerSec.toFixed(1),
      ratio,
      target: `≥ ${TARGET}×`,
      pass: ratio >= TARGET,
      ...(ratio >= TARGET ? {} : {
        limit:
          `The limit averaged ${path.meanLimit.toFixed(1)} (median ${path.medianLimit}, highest ${path.highest}) ` +
          `against the best fixed ${best.concurrency}: ${pct(path.shareBelow)} of the time below it, ${
            pct(path.shareAbove)
          } above; it first reached ${best.concurrency} after ${path.reachSeconds.toFixed(1)} s. Fixed ` +
          `concurrencies in this run: ${
            fixedMedians.map((f) => `${f.concurrency}: ${f.jobsPerSec.toFixed(1)}`).join(", ")
          } jobs/s (the per-round ratios: ${ratios.map((r) => r.toFixed(2)).join(", ")}). The worker and both fake ` +
          `servers share one process, and the machine's load average was ${loadBefore.toFixed(1)} before the run ` +
          `and ${os.loadavg()[0]!.toFixed(1)} after (${os.cpus().length} cores): the latency the limiter reads ` +
          `includes the wait for a core, and the fixed runs' spread shows how much of each rate is the machine's.`
      })
    },
    {
      figure: "jobs put back for errors (adaptive vs best fixed, median over rounds)",
      value: String(adaptiveErrors),
      baseline: String(bestErrors),
      ratio: null,
      target: "no burst (≤ best fixed)",
      pass: adaptiveErrors <= bestErrors
    }
  ]
  console.log(
    `\nfixed: ${fixedMedians.map((f) => `${f.concurrency} → ${f.jobsPerSec.toFixed(1)}`).join(", ")} jobs/s` +
      `\nadaptive ${adaptiveRate.toFixed(1)} jobs/s vs best fixed (${best.concurrency}) ${
        best.jobsPerSec.toFixed(1)
      }: ` +
      `${ratio.toFixed(2)}× (rounds ${ratios.map((r) => r.toFixed(2)).join(", ")}; target ≥ ${TARGET}), errors ` +
      `${adaptiveErrors} vs ${bestErrors}` +
      `\nlimit: mean ${path.meanLimit.toFixed(1)}, median ${path.medianLimit}, highest ${path.highest}; reached ` +
      `${best.concurrency} after ${path.reachSeconds.toFixed(1)} s; ${pct(path.shareBelow)} of the time below it, ` +
      `${pct(path.shareAbove)} above`
  )
  writeResult({
    benchmark: "adaptive-concurrency",
    at: new Date().toISOString(),
    machine: machine(),
    seconds: SECONDS,
    rounds: ROUNDS,
    server: SERVER,
    rows,
    fixed: fixedMedians,
    trajectory: path,
    runs
  })
  return rows.every((r) => r.pass)
})

const passed = await Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Error)))
process.exitCode = passed ? 0 : 1
