/**
 * Adaptive concurrency: the worker against a fake Plex whose latency rises with load (20 ms an answer up to 4
 * requests in flight, 8 ms more for each one beyond, 503 above 24 in flight), next to the best fixed concurrency
 * found by sweeping in the same run. Target: ≥ 0.9× the swept best's jobs a second, and no error burst (no more
 * jobs put back for errors than the swept best had).
 *
 *   npx tsx --conditions=@plexsync/source bench/adaptive-concurrency.ts [scenes] [ceiling] [fixed…]
 *
 * Results go to bench/results/adaptive-concurrency.json.
 */
import { defaultEngineSettings, makeWorker } from "@plexsync/domain/Worker"
import { Effect, Logger, LogLevel } from "effect"
import { fakeWorld, pathMap } from "./lib/fakeWorld.js"
import type { ResultRow } from "./lib/harness.js"
import { machine, writeResult } from "./lib/harness.js"

const SCENES = Number(process.argv[2] ?? (process.env["BENCH_QUICK"] === "1" ? 60 : 200))
const CEILING = Number(process.argv[3] ?? 24)
const FIXED = process.argv.length > 4 ? process.argv.slice(4).map(Number) : [2, 4, 6, 8, 16, 24]
const TARGET = 0.9

interface Round {
  readonly mode: string
  readonly concurrency: number
  readonly seconds: number
  readonly jobsPerSec: number
  /** Jobs put back or dead-lettered because a request failed. */
  readonly errors: number
}

const round = (mode: "fixed" | "adaptive", concurrency: number) =>
  Effect.gen(function*() {
    const world = yield* fakeWorld({ scenes: SCENES })
    world.plex.faults.inject({ _tag: "LoadLatency", baseMs: 20, capacity: 4, perExtraMs: 8, overloadAt: 24 })
    const worker = yield* makeWorker({ ...defaultEngineSettings, concurrency, concurrencyMode: mode, pathMap }).pipe(
      Effect.provide(world.context)
    )
    yield* world.enqueueAll
    const started = performance.now()
    const summary = yield* worker.drain({ wait: true })
    const seconds = (performance.now() - started) / 1000
    if (summary.synced !== SCENES) {
      return yield* Effect.dieMessage(`expected ${SCENES} synced: ${JSON.stringify(summary)}`)
    }
    const result: Round = {
      mode,
      concurrency,
      seconds,
      jobsPerSec: SCENES / seconds,
      errors: summary.retried + summary.held + summary.deadLettered
    }
    console.log(
      `${mode} ${concurrency}: ${result.jobsPerSec.toFixed(1)} jobs/s, ${result.errors} job(s) put back for errors`
    )
    return result
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const fixed: Array<Round> = []
  for (const concurrency of FIXED) fixed.push(yield* round("fixed", concurrency))
  const adaptive = yield* round("adaptive", CEILING)
  const best = fixed.reduce((a, b) => (b.jobsPerSec > a.jobsPerSec ? b : a))
  const ratio = adaptive.jobsPerSec / best.jobsPerSec
  const rows: Array<ResultRow> = [
    {
      figure: `adaptive (ceiling ${CEILING}) vs best fixed concurrency (${best.concurrency}), jobs/s`,
      value: adaptive.jobsPerSec.toFixed(1),
      baseline: best.jobsPerSec.toFixed(1),
      ratio,
      target: `≥ ${TARGET}×`,
      pass: ratio >= TARGET,
      ...(ratio >= TARGET ? {} : { limit: "the limiter's probing above the knee and its slow start" })
    },
    {
      figure: "jobs put back for errors (adaptive vs best fixed)",
      value: String(adaptive.errors),
      baseline: String(best.errors),
      ratio: null,
      target: "no burst (≤ best fixed)",
      pass: adaptive.errors <= best.errors
    }
  ]
  console.log(
    `\nadaptive ${adaptive.jobsPerSec.toFixed(1)} jobs/s vs best fixed (${best.concurrency}) ` +
      `${best.jobsPerSec.toFixed(1)}: ${
        ratio.toFixed(2)
      }× (target ≥ ${TARGET}), errors ${adaptive.errors} vs ${best.errors}`
  )
  writeResult({
    benchmark: "adaptive-concurrency",
    at: new Date().toISOString(),
    machine: machine(),
    scenes: SCENES,
    server: { baseMs: 20, capacity: 4, perExtraMs: 8, overloadAt: 24 },
    rows,
    fixed,
    adaptive
  })
  return rows.every((r) => r.pass)
})

const passed = await Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Error)))
process.exitCode = passed ? 0 : 1
