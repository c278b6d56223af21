/**
 * Reconciliation of 50 000 Stash scenes against a 50 000-item Plex section, over real HTTP: the live Stash and
 * Plex clients against the fake servers (packages/testing FakeStash, FakePlex), a real SQLite store.
 *
 *   npx tsx --conditions=@plexsync/source bench/reconcile.ts [scenes] [pageSize]
 *
 * Three processes: this one only orchestrates; the fake servers run in one child (`--serve`), reconciliation in
 * another (`--reconcile`), so the peak RSS reported is the reconciling process alone. The server child seeds a
 * library in the state the worker leaves after syncing every scene, plus known gaps: 100 scenes never synced,
 * 100 changed in Stash since, 100 items edited in Plex, 50 files missing in Plex, 50 Plex items without a scene.
 * Runs, each in a fresh reconciling process:
 * - steady (the everyday case): every gap must be found, exactly, and 300 scenes queued;
 * - cold (first run after installing: an empty store): every scene whose file is in Plex is queued.
 * Both run with the V8 heap capped (`--max-old-space-size`, 128 MB by default, `RECONCILE_HEAP_MB`), which is what
 * the RSS check holds; the steady run is repeated with V8's default heap sizing, whose peak RSS is reported
 * too (V8 lets garbage grow to several times the live heap before a full collection when memory is plentiful).
 * Checks: requests ≤ ⌈items ÷ page⌉ + sections + 3 (Plex) and ⌈scenes ÷ page⌉ + 3 (Stash), as counted by the
 * fake servers; peak RSS < 300 MB. Results go to bench/results/reconcile.json.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { diffFields } from "@plexsync/domain/FieldDiff"
import { allFields, contentHash, wantedFields } from "@plexsync/domain/FieldMapping"
import { mapPath, parsePathMap } from "@plexsync/domain/PathMap"
import { PlexClient, PlexItem } from "@plexsync/domain/PlexClient"
import type { ReconcileResult, ReconcileSettings } from "@plexsync/domain/Reconcile"
import { reconcile, ReconcileScope } from "@plexsync/domain/Reconcile"
import { StashClient } from "@plexsync/domain/StashClient"
import { SceneSyncState, SyncState } from "@plexsync/domain/SyncState"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as Database from "@plexsync/sqlite/Database"
import { StoreLive } from "@plexsync/sqlite/StoreLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { Effect, Either, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import type { ChildProcess } from "node:child_process"
import { fork } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const numbers = process.argv.slice(2).filter((a) => /^\d+$/.test(a))
const SCENES = Number(numbers[0] ?? 50_000)
const PAGE = Number(numbers[1] ?? 1000)
const HEAP_MB = Number(process.env.RECONCILE_HEAP_MB ?? 128)
const SECTIONS = 1
const RSS_LIMIT_MB = 300

const here = path.dirname(fileURLToPath(import.meta.url))
const pathMap = Either.getOrThrow(parsePathMap("/stash/library=>/media/library"))
const settings: ReconcileSettings = {
  fields: allFields.fields,
  preservePlexEdits: false,
  pathMap,
  libraries: [],
  strictMatching: true
}

/** Which scenes carry which gap (by scene number). */
const role = (n: number) =>
  n % 1000 === 1
    ? "missingInPlex"
    : n % 500 === 2
    ? "neverSynced"
    : n % 500 === 3
    ? "plexDiffers"
    : n % 500 === 4
    ? "stashChanged"
    : "synced"
const ORPHANS = Math.floor(SCENES / 1000)

interface Ready {
  readonly type: "ready"
  readonly stashUrl: string
  readonly plexUrl: string
  readonly plexToken: string
  readonly warmDb: string
  readonly plexItems: number
  readonly expected: Record<string, number>
  readonly seedMs: number
}

interface Counts {
  readonly type: "counts"
  readonly plex: number
  readonly plexByPath: Record<string, number>
  readonly stash: number
  readonly stashByOperation: Record<string, number>
}

// ---------------------------------------------------------------------------------------------------------
// Child: the fake servers, seeded

const serve = async () => {
  const t0 = performance.now()
  const dir = process.argv[process.argv.indexOf("--serve") + 1]!
  // Loaded here only, so the reconciling process never holds the fakes' code.
  const { startFakePlex } = await import("@plexsync/testing/FakePlex")
  const { FakeStashServer } = await import("@plexsync/testing/FakeStash")
  const { applyEdit } = await import("@plexsync/testing/SimPlex")
  const stash = await FakeStashServer.start({ utcOffsetMinutes: 60 })
  const plex = await startFakePlex()
  plex.state.addSection({ key: "1", title: "Library", locations: ["/media/library"] })

  const s = stash.state
  const studios = Array.from({ length: 100 }, (_, i) => s.addStudio({ name: `Studio ${i}` }))
  const tags = Array.from({ length: 500 }, (_, i) => s.addTag({ name: `Tag ${i}` }))
  const performers = Array.from({ length: 2000 }, (_, i) => s.addPerformer({ name: `Performer ${i}` }))
  const groups = Array.from({ length: 50 }, (_, i) => s.addGroup({ name: `Series ${i}` }))
  const details = "A scene description of a realistic length, with a few sentences about what happens and where. "
    .repeat(3)
  for (let n = 1; n <= SCENES; n++) {
    const studio = n % 11 === 0 ? null : studios[n % studios.length]!
    s.addScene({
      title: n % 17 === 0 ? null : `Scene ${n}: a title of some length`,
      details: n % 5 === 0 ? null : `${n}. ${details}`,
      date: n % 7 === 0 ? `20${10 + (n % 14)}` : `20${10 + (n % 14)}-0${1 + (n % 9)}-1${n % 10}`,
      rating100: n % 4 === 0 ? null : 1 + (n * 13) % 100,
      studioId: studio?.id ?? null,
      tagIds: Array.from({ length: n % 9 }, (_, i) => tags[(n * 7 + i * 31) % tags.length]!.id),
      performerIds: Array.from({ length: n % 5 }, (_, i) => performers[(n * 3 + i * 101) % performers.length]!.id),
      groups: n % 6 === 0 ? [{ groupId: groups[n % groups.length]!.id }] : [],
      files: [`/stash/library/${studio === null ? "unsorted" : `studio-${studio.id}`}/scene_${n}.mp4`],
      screenshot: null
    })
  }

  // Read the scenes back through the live client (exactly what reconciliation will decode), then put the Plex
  // items and the store in the state a sync by the worker leaves behind.
  const warmDb = path.join(dir, "warm.db")
  const seed = Effect.gen(function*() {
    const client = yield* StashClient
    const syncState = yield* SyncState
    const db = yield* Database.Database
    let ratingKey = 100_000
    for (let page = 1;; page++) {
      const answer = yield* client.listScenes({ page, perPage: 1000 })
      const states: Array<SceneSyncState> = []
      for (const scene of answer.items) {
        const n = Number(scene.id)
        const r = role(n)
        if (r === "missingInPlex") continue
        const file = mapPath(pathMap, scene.files[0]!).path
        const wanted = wantedFields(scene, allFields)
        const blank = new PlexItem({
          ratingKey: String(ratingKey++),
          sectionKey: "1",
          title: `scene_${n}`,
          summary: null,
          studio: null,
          originallyAvailableAt: null,
          userRating: null,
          thumb: null,
          genres: [],
          actors: [],
          collections: [],
          files: [file],
          lockedFields: []
        })
        const diff = diffFields(wanted, blank, null, { preservePlexEdits: false })
        let synced = diff.edit === null ? blank : applyEdit(blank, diff.edit)
        if (diff.rating !== null) synced = new PlexItem({ ...synced, userRating: diff.rating.value })
        plex.state.addItem({
          ratingKey: synced.ratingKey,
          sectionKey: "1",
          file,
          title: synced.title,
          summary: synced.summary,
          studio: synced.studio,
          originallyAvailableAt: synced.originallyAvailableAt,
          userRating: synced.userRating,
          genres: synced.genres,
          actors: synced.actors,
          collections: synced.collections,
          lockedFields: synced.lockedFields
        })
        if (r === "neverSynced") continue
        states.push(
          new SceneSyncState({
            sceneId: scene.id,
            stashUpdatedAt: scene.updatedAt,
            contentHash: contentHash(wanted, { plexFile: file, preservePlexEdits: false }),
            ratingKey: synced.ratingKey,
            plexFile: file,
            imageHash: null,
            written: diff.written,
            syncedAt: Date.now()
          })
        )
        if (r === "plexDiffers") plex.state.updateItem(synced.ratingKey, { summary: "Edited by hand in Plex" })
        if (r === "stashChanged") s.updateScene(scene.id, { tagIds: [tags[n % tags.length]!.id] })
      }
      yield* db.immediate(Effect.forEach(states, (state) => syncState.put(state), { discard: true })).pipe(
        Effect.orDie
      )
      if (page * 1000 >= answer.count) break
    }
    for (let i = 0; i < ORPHANS; i++) plex.state.addItem({ sectionKey: "1", file: `/media/library/gone/${i}.mp4` })
  })
  const layer = Layer.mergeAll(
    StoreLive.pipe(Layer.provideMerge(Database.layer({ filename: warmDb, quickCheck: false }))),
    Layer.orDie(StashClientLive.layer({ url: stash.url, apiKey: Option.none() })).pipe(
      Layer.provide(NodeHttpClient.layer)
    )
  )
  await Effect.runPromise(seed.pipe(Effect.provide(layer), Effect.scoped))

  const expected = { neverSynced: 0, stashChanged: 0, plexDiffers: 0, missingInPlex: 0, orphanedInPlex: ORPHANS }
  for (let n = 1; n <= SCENES; n++) {
    const r = role(n)
    if (r !== "synced") expected[r]++
  }
  stash.resetRequests()
  plex.requests.reset()
  const ready: Ready = {
    type: "ready",
    stashUrl: stash.url,
    plexUrl: plex.url,
    plexToken: plex.token,
    warmDb,
    plexItems: plex.state.items().length,
    expected,
    seedMs: performance.now() - t0
  }
  process.send!(ready)
  process.on("message", async (message: { readonly type: string }) => {
    if (message.type === "counts") {
      const plexByPath: Record<string, number> = {}
      for (const r of plex.requests.log()) {
        const key = r.path.startsWith("/library/sections/") && r.path.endsWith("/all") ? "listing" : r.path
        plexByPath[key] = (plexByPath[key] ?? 0) + 1
      }
      const stashByOperation: Record<string, number> = {}
      for (const r of stash.requests) {
        const key = r.operationName ?? "?"
        stashByOperation[key] = (stashByOperation[key] ?? 0) + 1
      }
      const counts: Counts = {
        type: "counts",
        plex: plex.requests.count(),
        plexByPath,
        stash: stash.requests.length,
        stashByOperation
      }
      process.send!(counts)
      stash.resetRequests()
      plex.requests.reset()
    }
    if (message.type === "stop") {
      await stash.close()
      await plex.closePromise()
      process.exit(0)
    }
  })
}

// ---------------------------------------------------------------------------------------------------------
// Child: the reconciling process

interface RunRequest {
  readonly type: "run"
  readonly name: string
  readonly db: string
  readonly ready: Ready
}

interface RunResult {
  readonly type: "result"
  readonly name: string
  readonly ms: number
  readonly msWaitingOnPlex: number
  readonly msWaitingOnStash: number
  readonly result: ReconcileResult
  readonly liveHeapMb: { readonly indexBuilt: number; readonly end: number }
  readonly maxRssMb: number
  /** RSS once everything is loaded, before the run: the runtime, the loader and the code. */
  readonly rssAtStartMb: number
}

const gc = (globalThis as { gc?: () => void }).gc

const liveHeapMb = () => {
  gc?.()
  return process.memoryUsage().heapUsed / 2 ** 20
}

const reconcileChild = () => {
  process.once("message", async (request: RunRequest) => {
    const { ready } = request
    const rssAtStartMb = process.memoryUsage().rss / 2 ** 20
    const waited = { plex: 0, stash: 0 }
    const timed = <A, E>(key: "plex" | "stash", effect: Effect.Effect<A, E>) =>
      Effect.suspend(() => {
        const t = performance.now()
        return Effect.ensuring(effect, Effect.sync(() => void (waited[key] += performance.now() - t)))
      })
    const clients = Layer.mergeAll(
      Layer.effect(
        PlexClient,
        Effect.map(
          PlexClientLive.make({
            url: ready.plexUrl,
            token: Redacted.make(ready.plexToken),
            clientIdentifier: "plexsync-bench"
          }),
          (c) => ({ ...c, listSection: (key, page) => timed("plex", c.listSection(key, page)) })
        )
      ),
      Layer.effect(
        StashClient,
        Effect.map(
          Effect.orDie(StashClientLive.make({ url: ready.stashUrl, apiKey: Option.none() })),
          (c) => ({ ...c, listScenes: (options) => timed("stash", c.listScenes(options)) })
        )
      )
    ).pipe(Layer.provide(NodeHttpClient.layer))
    const layer = Layer.mergeAll(
      StoreLive.pipe(Layer.provideMerge(Database.layer({ filename: request.db, quickCheck: false }))),
      clients
    )
    const live = { indexBuilt: 0, end: 0 }
    const t = performance.now()
    const result = await Effect.runPromise(
      reconcile(settings, {
        scope: ReconcileScope.all,
        plexPageSize: PAGE,
        stashPageSize: PAGE,
        onProgress: (p) =>
          Effect.sync(() => {
            // Measured once, when the Plex index is complete: the index plus everything loaded.
            if (p.phase === "plex" && p.read >= p.total) live.indexBuilt = liveHeapMb()
          })
      }).pipe(Effect.provide(layer), Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning))
    )
    const ms = performance.now() - t
    live.end = liveHeapMb()
    const answer: RunResult = {
      type: "result",
      name: request.name,
      ms,
      msWaitingOnPlex: waited.plex,
      msWaitingOnStash: waited.stash,
      result,
      liveHeapMb: live,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      rssAtStartMb
    }
    process.send!(answer, () => process.exit(0))
  })
}

// ---------------------------------------------------------------------------------------------------------
// The orchestrator

const nextMessage = <A>(child: ChildProcess) =>
  new Promise<A>((resolve, reject) => {
    child.once("message", (m) => resolve(m as A))
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before answering`)))
  })

/** The tsx loader flags this process runs with, for the children (without any heap flag). */
const loaderArgs = process.execArgv.filter((a) => !a.startsWith("--max-old-space-size"))

const main = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plexsync-bench-reconcile-"))
  const self = fileURLToPath(import.meta.url)
  const servers = fork(self, ["--serve", dir, String(SCENES), String(PAGE)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: loaderArgs
  })
  console.log(`Seeding ${SCENES} scenes and their Plex items in the fake servers…`)
  const ready = await nextMessage<Ready>(servers)
  console.log(`  seeded in ${(ready.seedMs / 1000).toFixed(1)} s: ${ready.plexItems} Plex items`)

  const measure = async (name: string, db: string, heapMb: number | null) => {
    const child = fork(self, ["--reconcile", String(SCENES), String(PAGE)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: [...loaderArgs, "--expose-gc", ...(heapMb === null ? [] : [`--max-old-space-size=${heapMb}`])]
    })
    const answered = nextMessage<RunResult>(child)
    child.send({ type: "run", name, db, ready } satisfies RunRequest)
    const run = await answered
    servers.send({ type: "counts" })
    const counts = await nextMessage<Counts>(servers)
    const r = run.result
    console.log(
      `${name}: ${r.scenesChecked} scenes vs ${r.plexItems} Plex items in ${(run.ms / 1000).toFixed(2)} s ` +
        `(in Plex requests ${(run.msWaitingOnPlex / 1000).toFixed(2)} s, in Stash requests ` +
        `${(run.msWaitingOnStash / 1000).toFixed(2)} s, overlapping the comparison); requests: Plex ${counts.plex} ` +
        `${JSON.stringify(counts.plexByPath)}, Stash ${counts.stash} ${JSON.stringify(counts.stashByOperation)}`
    )
    console.log(
      `  gaps ${JSON.stringify(r.gaps)}; queued ${r.queued}; skipped ${JSON.stringify(r.skipped)}; ` +
        `peak RSS ${run.maxRssMb.toFixed(1)} MB (heap ${heapMb === null ? "V8 default" : `capped at ${heapMb} MB`}; ` +
        `${run.rssAtStartMb.toFixed(1)} MB before the run), ` +
        `live heap with the index built ${run.liveHeapMb.indexBuilt.toFixed(1)} MB`
    )
    return {
      name,
      heap: heapMb === null ? "V8 default" : `--max-old-space-size=${heapMb}`,
      ms: run.ms,
      msInPlexRequests: run.msWaitingOnPlex,
      msInStashRequests: run.msWaitingOnStash,
      scenesChecked: r.scenesChecked,
      plexItems: r.plexItems,
      gaps: r.gaps,
      queued: r.queued,
      skipped: r.skipped,
      requests: {
        plex: counts.plex,
        plexByPath: counts.plexByPath,
        stash: counts.stash,
        stashByOperation: counts.stashByOperation
      },
      maxRssMb: run.maxRssMb,
      rssAtStartMb: run.rssAtStartMb,
      liveHeapMb: run.liveHeapMb
    }
  }

  const copy = (name: string) => {
    const file = path.join(dir, name)
    fs.copyFileSync(ready.warmDb, file)
    return file
  }
  const steady = await measure("steady", copy("steady.db"), HEAP_MB)
  const cold = await measure("cold", path.join(dir, "cold.db"), HEAP_MB)
  const steadyDefault = await measure("steady, default heap", copy("steady-default.db"), null)
  servers.send({ type: "stop" })

  const plexBudget = Math.ceil(ready.plexItems / PAGE) + SECTIONS + 3
  const stashBudget = Math.ceil(SCENES / PAGE) + 3
  const e = ready.expected
  const queuable = e.neverSynced! + e.stashChanged! + e.plexDiffers!
  const runs = [steady, cold, steadyDefault]
  const most = (f: (run: typeof steady) => number, which = runs) => Math.max(...which.map(f))
  const maxRssMb = most((r) => r.maxRssMb, [steady, cold])
  const checks = {
    steadyGapsExact: { value: steady.gaps, expected: e, pass: sameGaps(steady.gaps, e) },
    steadyQueued: { value: steady.queued, expected: queuable, pass: steady.queued === queuable },
    coldQueued: {
      value: cold.queued,
      expected: SCENES - e.missingInPlex!,
      pass: cold.queued === SCENES - e.missingInPlex!
    },
    plexRequests: {
      value: most((r) => r.requests.plex),
      ceiling: plexBudget,
      pass: most((r) => r.requests.plex) <= plexBudget
    },
    stashRequests: {
      value: most((r) => r.requests.stash),
      ceiling: stashBudget,
      pass: most((r) => r.requests.stash) <= stashBudget
    },
    maxRssMb: {
      value: maxRssMb,
      ceiling: RSS_LIMIT_MB,
      heap: `--max-old-space-size=${HEAP_MB}`,
      pass: maxRssMb < RSS_LIMIT_MB
    }
  }
  const out = {
    benchmark: "reconcile",
    servers: "HTTP fakes (FakeStash, FakePlex) in a child process; live clients; SQLite store; tsx",
    scenes: SCENES,
    plexItems: ready.plexItems,
    pageSize: PAGE,
    node: process.version,
    at: new Date().toISOString(),
    seedMs: ready.seedMs,
    runs,
    checks,
    maxRssMb,
    maxRssMbDefaultHeap: steadyDefault.maxRssMb,
    loadAverage: os.loadavg()
  }
  fs.mkdirSync(path.join(here, "results"), { recursive: true })
  fs.writeFileSync(path.join(here, "results", "reconcile.json"), JSON.stringify(out, null, 2) + "\n")
  fs.rmSync(dir, { recursive: true, force: true })
  console.log(
    `request budget: Plex ≤ ${plexBudget} (⌈${ready.plexItems} ÷ ${PAGE}⌉ + ${SECTIONS} section + 3), ` +
      `Stash ≤ ${stashBudget} (⌈${SCENES} ÷ ${PAGE}⌉ + 3)`
  )
  console.log(
    `peak RSS of the reconciling process: ${maxRssMb.toFixed(1)} MB with the heap capped at ${HEAP_MB} MB ` +
      `(limit ${RSS_LIMIT_MB} MB); ${steadyDefault.maxRssMb.toFixed(1)} MB with V8's default heap sizing`
  )
  for (const [name, check] of Object.entries(checks)) console.log(`  ${check.pass ? "pass" : "FAIL"} ${name}`)
  console.log(`wrote bench/results/reconcile.json (load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")})`)
  process.exitCode = Object.values(checks).every((c) => c.pass) ? 0 : 1
}

const sameGaps = (a: Record<string, number>, b: Record<string, number>) =>
  Object.keys(b).every((k) => a[k] === b[k]) && Object.keys(a).every((k) => a[k] === b[k])

if (process.argv.includes("--serve")) void serve()
else if (process.argv.includes("--reconcile")) reconcileChild()
else void main()
