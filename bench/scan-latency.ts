/**
 * Scan → Plex latency: new scenes whose files Plex has not scanned yet, synced by the scheduler's worker (`run`).
 * The worker asks Plex to scan each file's folder; the fake Plex brings the files in `SCAN_DELAY_MS` later. Measured
 * per scene: from the end of the scan that brought its file in to its title written in Plex — with Plex's event
 * stream (the jobs become due when the scan ends) and without it (they wait out their PlexNotFound backoff), in the
 * same run. Target: ≤ 2 s with the stream.
 *
 *   npx tsx --conditions=@plexsync/source bench/scan-latency.ts [scenes] [scanDelayMs]
 *
 * Results go to bench/results/scan-latency.json.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { defaultEngineSettings, makeWorker } from "@plexsync/domain/Worker"
import * as PlexEventsLive from "@plexsync/plex/PlexEventsLive"
import { Deferred, Duration, Effect, Fiber, Layer, Logger, LogLevel, Redacted } from "effect"
import { fakeWorld, pathMap, plexFileOf } from "./lib/fakeWorld.js"
import type { ResultRow } from "./lib/harness.js"
import { machine, median, writeResult } from "./lib/harness.js"

const SCENES = Number(process.argv[2] ?? (process.env["BENCH_QUICK"] === "1" ? 4 : 12))
const SCAN_DELAY_MS = Number(process.argv[3] ?? 1_500)
const TARGET_MS = 2_000

/** Each scene's latency (ms) from the end of its scan to its title in Plex. */
const round = (withStream: boolean) =>
  Effect.gen(function*() {
    const world = yield* fakeWorld({ scenes: SCENES, pending: true, scanDelayMs: SCAN_DELAY_MS })
    const events = withStream
      ? yield* Layer.build(
        PlexEventsLive.layer({
          url: world.plex.url,
          token: Redacted.make(world.plex.token),
          clientIdentifier: "plexsync-bench"
        }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      )
      : null
    if (events !== null) {
      while (world.plex.events.listeners() === 0) yield* Effect.sleep(Duration.millis(10))
    }
    const make = makeWorker({ ...defaultEngineSettings, pathMap }).pipe(Effect.provide(world.context))
    const worker = yield* (events === null ? make : Effect.provide(make, events))
    const stop = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(worker.run({ stop: Deferred.await(stop) }))
    yield* world.enqueueAll
    const files = world.scenes.map((scene) => plexFileOf(scene.files[0]!.path))
    const counts = Effect.flatMap(SyncQueue, (q) => q.counts).pipe(Effect.provide(world.context))
    yield* Effect.sleep(Duration.millis(200))
    while (true) {
      const now = yield* counts
      if (now.queued === 0 && now.running === 0) break
      yield* Effect.sleep(Duration.millis(50))
    }
    yield* Deferred.succeed(stop, undefined)
    yield* Fiber.join(fiber)
    const scans = world.plex.state.scans()
    return files.map((file) => {
      const item = world.plex.state.itemByFile(file)!
      const scan = scans.find((s) => s.path === null || file.startsWith(`${s.path}/`))!
      const written = world.plex.ledger.forItem(item.ratingKey).find((w) => w.applied)!
      return written.at - (scan.at + SCAN_DELAY_MS)
    })
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const without = yield* round(false)
  console.log(`without the event stream: median ${median(without).toFixed(0)} ms, max ${Math.max(...without)} ms`)
  const withStream = yield* round(true)
  console.log(`with the event stream: median ${median(withStream).toFixed(0)} ms, max ${Math.max(...withStream)} ms`)
  const worst = Math.max(...withStream)
  const rows: Array<ResultRow> = [
    {
      figure: `scan → Plex, with Plex's event stream (median; worst ${worst} ms)`,
      value: `${median(withStream).toFixed(0)} ms`,
      baseline: `${median(without).toFixed(0)} ms without the stream`,
      ratio: median(without) / Math.max(1, median(withStream)),
      target: `worst ≤ ${TARGET_MS} ms`,
      pass: worst <= TARGET_MS
    }
  ]
  writeResult({
    benchmark: "scan-latency",
    at: new Date().toISOString(),
    machine: machine(),
    scenes: SCENES,
    scanDelayMs: SCAN_DELAY_MS,
    rows,
    withStreamMs: withStream,
    withoutStreamMs: without
  })
  return rows.every((r) => r.pass)
})

const passed = await Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Error)))
process.exitCode = passed ? 0 : 1
