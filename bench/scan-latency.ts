/**
 * Scan → Plex latency: new scenes whose files Plex has not scanned yet, synced by the scheduler's worker (`run`).
 * The worker asks Plex to scan each file's folder; the fake Plex brings the files in `SCAN_DELAY_MS` later. Measured
 * per scene: from the end of the scan that brought its file in to its title written in Plex — with Plex's event
 * stream (the jobs become due when the scan ends) and without it (they wait out their PlexNotFound backoff), in the
 * same run. Target: ≤ 2 s with the stream.
 *
 * Each scene's path is printed and kept in the results: from the end of its scan, when the worker read the change
 * from the stream, when its job was made due, when its last run was claimed and when its title was written (and how
 * many times it ran). The queue's claims and makeDue calls and the stream's changes are timed through wrappers.
 *
 *   npx tsx --conditions=@plexsync/source bench/scan-latency.ts [scenes] [scanDelayMs]
 *
 * Results go to bench/results/scan-latency.json.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { PlexEventsService } from "@plexsync/domain/PlexEvents"
import { PlexEvents } from "@plexsync/domain/PlexEvents"
import type { SyncQueueService } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { defaultEngineSettings, makeWorker } from "@plexsync/domain/Worker"
import * as PlexEventsLive from "@plexsync/plex/PlexEventsLive"
import { Context, Deferred, Duration, Effect, Fiber, Layer, Logger, LogLevel, Redacted, Stream } from "effect"
import { fakeWorld, pathMap, plexFileOf } from "./lib/fakeWorld.js"
import type { ResultRow } from "./lib/harness.js"
import { machine, median, writeResult } from "./lib/harness.js"

const SCENES = Number(process.argv[2] ?? (process.env["BENCH_QUICK"] === "1" ? 4 : 12))
const SCAN_DELAY_MS = Number(process.argv[3] ?? 1_500)
const TARGET_MS = 2_000

interface Trace {
  /** Wall-clock ms of each claim, by scene. */
  readonly claims: Map<string, Array<number>>
  /** When jobs were made due, by scene (`*`: every PlexNotFound job). */
  readonly due: Map<string, Array<number>>
  /** When the worker read a library change from the stream. */
  readonly changes: Array<number>
}

const makeTrace = (): Trace => ({ claims: new Map(), due: new Map(), changes: [] })

const push = (map: Map<string, Array<number>>, key: string, at: number) => {
  const list = map.get(key) ?? []
  list.push(at)
  map.set(key, list)
}

/** The queue with its claims and makeDue calls timed. */
const traced = (queue: SyncQueueService, trace: Trace): SyncQueueService => ({
  ...queue,
  claim: (options) =>
    Effect.tap(queue.claim(options), (claimed) =>
      Effect.sync(() => {
        for (const c of claimed) push(trace.claims, c.job.sceneId, Date.now())
      })),
  makeDue: (options) =>
    Effect.tap(queue.makeDue(options), () =>
      Effect.sync(() => {
        for (const scene of options.sceneIds ?? ["*"]) push(trace.due, scene, Date.now())
      }))
})

const tracedEvents = (events: PlexEventsService, trace: Trace): PlexEventsService => ({
  ...events,
  changes: Stream.tap(events.changes, (change) =>
    Effect.sync(() => {
      if (change._tag !== "ScanStarted") trace.changes.push(Date.now())
    }))
})

/** One scene's path from the end of the scan that brought its file in (ms after it; null: not seen). */
interface SceneTrace {
  readonly sceneId: string
  readonly ms: number
  readonly runs: number
  readonly event: number | null
  readonly due: number | null
  readonly claimed: number | null
  readonly written: number
  readonly firstClaimBefore: number | null
  readonly scanAskedBefore: number
}

const relative = (at: number | null, from: number) => at === null ? null : at - from

/** Each scene's latency (ms) from the end of its scan to its title in Plex, and where it went. */
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
    // Timestamps of each step, from the worker's side: the store's calls and the stream's changes, wrapped.
    const trace = makeTrace()
    const queue = Context.get(world.context, SyncQueue)
    const context = Context.add(world.context, SyncQueue, traced(queue, trace))
    const make = makeWorker({ ...defaultEngineSettings, pathMap }).pipe(Effect.provide(context))
    const worker = yield* (events === null
      ? make
      : Effect.provide(
        make,
        Context.add(events, PlexEvents, tracedEvents(Context.get(events, PlexEvents), trace))
      ))
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
    return world.scenes.map((scene, i): SceneTrace => {
      const file = files[i]!
      const item = world.plex.state.itemByFile(file)!
      const scan = scans.find((s) => s.path === null || file.startsWith(`${s.path}/`))!
      const written = world.plex.ledger.forItem(item.ratingKey).find((w) => w.applied)!
      const ended = scan.at + SCAN_DELAY_MS
      const sceneId = String(scene.id)
      const after = (times: ReadonlyArray<number> | undefined) => times?.find((t) => t >= ended) ?? null
      const claims = trace.claims.get(sceneId) ?? []
      const lastClaim = claims.at(-1) ?? null
      const firstClaim = claims[0] ?? null
      return {
        sceneId,
        ms: written.at - ended,
        runs: claims.length,
        // From the end of the scan: its change read from the stream, the job made due, its last run claimed,
        // that run's first failure before it (a second miss), and the title written.
        event: relative(trace.changes.find((t) => t >= ended) ?? null, ended),
        due: relative(after(trace.due.get(sceneId)) ?? after(trace.due.get("*")), ended),
        claimed: relative(lastClaim, ended),
        written: written.at - ended,
        // Before the scan ended: when the scene's first run was claimed and when its scan was asked.
        firstClaimBefore: firstClaim === null ? null : ended - firstClaim,
        scanAskedBefore: ended - scan.at
      }
    })
  }).pipe(Effect.scoped)

const show = (v: number | null) => v === null ? "–" : String(v)

const printBreakdown = (traces: ReadonlyArray<SceneTrace>) => {
  console.log("  scene  runs  asked  1st run  | event  due  claimed  written   (ms before | after the scan's end)")
  for (const t of traces) {
    console.log(
      `  ${t.sceneId.padStart(5)}  ${String(t.runs).padStart(4)}  ${String(t.scanAskedBefore).padStart(5)}  ${
        show(t.firstClaimBefore).padStart(7)
      }  | ${show(t.event).padStart(5)}  ${show(t.due).padStart(4)}  ${show(t.claimed).padStart(7)}  ${
        String(t.written).padStart(7)
      }`
    )
  }
}

/** For a missed target: the steps of the slowest scene, and the median of each step over every scene. */
const whereItWent = (traces: ReadonlyArray<SceneTrace>) => {
  const t = traces.reduce((a, b) => (b.ms > a.ms ? b : a))
  const step = (pick: (t: SceneTrace) => number | null) => {
    const xs = traces.flatMap((x) => {
      const v = pick(x)
      return v === null ? [] : [v]
    })
    return `${median(xs).toFixed(0)} ms`
  }
  const claimedTogether =
    traces.filter((x) => x.due !== null && t.due !== null && Math.abs(x.due - t.due) <= 100).length
  return `The slowest scene (${t.sceneId}, ${t.ms} ms): its scan's end was read from the stream after ` +
    `${show(t.event)} ms, its job made due at ${show(t.due)} ms, claimed at ${
      show(t.claimed)
    } ms (${claimedTogether} ` +
    `jobs became due within 100 ms of it, for the worker's ${defaultEngineSettings.concurrency} slots at most), and ` +
    `its run wrote the title at ${t.written} ms; it ran ${t.runs} times in all. Medians over the ${traces.length} ` +
    `scenes: stream ${step((x) => x.event)}, due ${step((x) => x.due)}, claimed ${step((x) => x.claimed)}, run ` +
    `${step((x) => x.claimed === null ? null : x.written - x.claimed)}. The worker and both fake servers share one ` +
    `process: on a loaded machine each run waits for a core.`
}

const program = Effect.gen(function*() {
  const withoutTraces = yield* round(false)
  const without = withoutTraces.map((t) => t.ms)
  console.log(`without the event stream: median ${median(without).toFixed(0)} ms, max ${Math.max(...without)} ms`)
  printBreakdown(withoutTraces)
  const traces = yield* round(true)
  const withStream = traces.map((t) => t.ms)
  console.log(`with the event stream: median ${median(withStream).toFixed(0)} ms, max ${Math.max(...withStream)} ms`)
  printBreakdown(traces)
  const worst = Math.max(...withStream)
  const rows: Array<ResultRow> = [
    {
      figure: `scan → Plex, with Plex's event stream (median; worst ${worst} ms)`,
      value: `${median(withStream).toFixed(0)} ms`,
      baseline: `${median(without).toFixed(0)} ms without the stream`,
      ratio: median(without) / Math.max(1, median(withStream)),
      target: `worst ≤ ${TARGET_MS} ms`,
      pass: worst <= TARGET_MS,
      ...(worst <= TARGET_MS ? {} : { limit: whereItWent(traces) })
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
    withoutStreamMs: without,
    withStream: traces,
    withoutStream: withoutTraces
  })
  return rows.every((r) => r.pass)
})

const passed = await Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Error)))
process.exitCode = passed ? 0 : 1
