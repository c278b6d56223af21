/**
 * A tag used by 20 000 scenes is renamed in Stash: one poll of the related-object change feed (RelatedFeed, what the
 * scheduler's change feed runs after the scenes) against the fake Stash over real HTTP, with the live SQLite store on
 * a file in a temporary directory, must queue every one of those scenes.
 *
 *   npx tsx --conditions=@plexsync/source bench/related.ts [scenes] [rounds]
 *
 * Each round: a fresh store; a first poll (the feed starts at Stash's newest change and learns the ids: not
 * measured); the tag renamed a few seconds later on the fake Stash's clock; then the measured poll. Counted: the
 * GraphQL requests the fake Stash received during the poll (by operation), the store's transactions (`BEGIN
 * IMMEDIATE`) and operations, the `enqueueMany` pages, and the jobs in the database afterwards (all `tag-changed`).
 *
 * Baselines, measured in the same round on the same fake Stash and a fresh store each, in a rotating order:
 * - fetch: the scene ids of the tag read straight through `StashClient.scenesWithRelated`, keyset pages of 1000;
 * - enqueue: the same number of scene jobs put straight into `SyncQueue.enqueueMany`, pages of 1000.
 * Ratios (higher is better, medians of the per-round ratios): queueing time inside the poll against the enqueue
 * baseline, and the whole poll against fetch + enqueue (what the poll cannot do without).
 *
 * Checks: jobs queued = scenes; Stash requests ≤ ⌈scenes ÷ 1000⌉ + 2 per kind + 1 (the listing + count of each of
 * the four kinds, and the one question of which list field groups are under); enqueue transactions = ⌈scenes ÷
 * 1000⌉; ratios ≥ 0.7×. Results go to bench/results/related.json.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { SceneId } from "@plexsync/domain/Ids"
import type { Page } from "@plexsync/domain/StashClient"
import { StashClient } from "@plexsync/domain/StashClient"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as Database from "@plexsync/sqlite/Database"
import * as KnownObjectsSqlite from "@plexsync/sqlite/KnownObjectsSqlite"
import { StoreLive } from "@plexsync/sqlite/StoreLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { FakeStashServer } from "@plexsync/testing/FakeStash"
import { Effect, Layer, Logger, LogLevel, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as RelatedFeed from "../apps/scheduler/src/RelatedFeed.js"
import type { ResultRow } from "./lib/harness.js"
import { fmtInt, fmtRatio, machine, median, writeResult } from "./lib/harness.js"

const quick = process.env["BENCH_QUICK"] === "1"
const numbers = process.argv.slice(2).filter((a) => /^\d+$/.test(a))
const SCENES = Number(numbers[0] ?? (quick ? 2_000 : 20_000))
const ROUNDS = Number(numbers[1] ?? (quick ? 1 : 5))
/** Scenes that do not use the tag (they use another one): the filter has something to leave out. */
const OTHERS = Math.ceil(SCENES / 10)
const PAGE = RelatedFeed.scenePageSize
const KINDS = 4
const REQUEST_LIMIT = Math.ceil(SCENES / PAGE) + 2 * KINDS + 1
const RATIO_FLOOR = 0.7

// -------------------------------------------------------------------------------------------------------------
// The library: tag 1 on SCENES scenes, tag 2 on OTHERS more, a performer, a studio and a group.

const stash = await FakeStashServer.start({ utcOffsetMinutes: 60 })
const seedStarted = performance.now()
const state = stash.state
state.advanceClock(-2 * 3_600_000)
const hot = state.addTag({ name: "Everywhere" })
const cold = state.addTag({ name: "Elsewhere" })
const performer = state.addPerformer({ name: "Alex Doe" })
const studio = state.addStudio({ name: "Harbour Pictures" })
const group = state.addGroup({ name: "Coastal Series" })
let hotCount = 0
let coldCount = 0
for (let n = 1; hotCount + coldCount < SCENES + OTHERS; n++) {
  // Every eleventh scene uses the other tag, so the tag's scenes are not one contiguous id range.
  const uses = coldCount >= OTHERS || (n % 11 !== 0 && hotCount < SCENES)
  if (uses) hotCount++
  else coldCount++
  state.addScene({
    title: `Scene ${n}`,
    tagIds: [uses ? hot.id : cold.id],
    performerIds: n % 100 === 0 ? [performer.id] : [],
    studioId: n % 50 === 0 ? studio.id : null,
    groups: n % 500 === 0 ? [{ groupId: group.id }] : [],
    files: [`/data/videos/scene_${n}.mp4`],
    screenshot: null
  })
}
state.advanceClock(2 * 3_600_000)
const hotScenes = state.scenes().filter((scene) => scene.tagIds.includes(hot.id)).map((scene) => scene.id as SceneId)
if (hotScenes.length !== SCENES) throw new Error(`seeded ${hotScenes.length} scenes with the tag, wanted ${SCENES}`)
const seedMs = performance.now() - seedStarted

// -------------------------------------------------------------------------------------------------------------
// A store that counts: `Database` wrapped, so every service built on it (the queue, sync state, settings, known
// objects) is counted.

interface StoreCounts {
  transactions: number
  operations: number
  enqueuePages: number
  enqueueMs: number
}

const countingStore = (filename: string, counts: StoreCounts) => {
  const counting = Layer.effect(
    Database.Database,
    Effect.map(Database.Database, (db): Database.DatabaseService => ({
      ...db,
      immediate: (effect) => Effect.suspend(() => (counts.transactions++, db.immediate(effect))),
      operation: (effect) => Effect.suspend(() => (counts.operations++, db.operation(effect)))
    }))
  )
  const base = Database.layer({ filename, quickCheck: false })
  const services = Layer.mergeAll(StoreLive, KnownObjectsSqlite.layer).pipe(
    Layer.provide(counting),
    Layer.provide(base)
  )
  // The queue's enqueueMany, timed and counted as pages (what "queueing time" means below).
  const timedQueue = Layer.effect(
    SyncQueue,
    Effect.map(SyncQueue, (queue) => ({
      ...queue,
      enqueueMany: (inputs: Parameters<typeof queue.enqueueMany>[0]) =>
        Effect.suspend(() => {
          const started = performance.now()
          counts.enqueuePages++
          return queue.enqueueMany(inputs).pipe(Effect.ensuring(Effect.sync(() => {
            counts.enqueueMs += performance.now() - started
          })))
        })
    }))
  )
  return Layer.merge(services, timedQueue.pipe(Layer.provide(services))).pipe(Layer.provideMerge(base))
}

const stashLayer = StashClientLive.layer({ url: stash.url, apiKey: Option.none() }).pipe(
  Layer.provide(NodeHttpClient.layerUndici)
)

const zero = (): StoreCounts => ({ transactions: 0, operations: 0, enqueuePages: 0, enqueueMs: 0 })

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "plexsync-bench-related-"))

const requestsSince = (mark: number) => {
  const byOperation: Record<string, number> = {}
  for (const request of stash.requests.slice(mark)) {
    const name = request.operationName ?? request.path
    byOperation[name] = (byOperation[name] ?? 0) + 1
  }
  return { total: stash.requests.length - mark, byOperation }
}

const run = <A, E>(effect: Effect.Effect<A, E, any>, layer: Layer.Layer<any, any, never>): Promise<A> =>
  Effect.runPromise(
    effect.pipe(
      Effect.provide(layer),
      Logger.withMinimumLogLevel(LogLevel.Warning),
      Effect.scoped
    ) as Effect.Effect<A, E, never>
  )

interface FeedRound {
  readonly pollMs: number
  readonly queued: number
  readonly jobs: Record<string, number>
  readonly requests: ReturnType<typeof requestsSince>
  readonly store: StoreCounts
}

/** A fresh store, the first poll, the tag renamed, the measured poll. */
const feedRound = async (round: number): Promise<FeedRound> => {
  const dir = tempDir()
  const counts = zero()
  try {
    return await run(
      Effect.gen(function*() {
        const feed = yield* RelatedFeed.make({ overlapMs: 3_600_000, perPage: 500 })
        yield* feed.poll
        // A later second on Stash's clock than anything the first poll saw.
        state.advanceClock(3_000)
        state.renameTag(hot.id, `Everywhere ${round}`)
        const mark = stash.requests.length
        Object.assign(counts, zero())
        const started = performance.now()
        const results = yield* feed.poll
        const pollMs = performance.now() - started
        const requests = requestsSince(mark)
        const store = { ...counts }
        const db = yield* Database.Database
        const rows = yield* db.sql<{ readonly reason: string; readonly n: number }>`
          SELECT reason, COUNT(*) AS n FROM jobs GROUP BY reason`.pipe(Effect.orDie)
        const jobs = Object.fromEntries(rows.map((row) => [row.reason, row.n]))
        const queued = results.reduce((sum, result) => sum + result.queued, 0)
        return { pollMs, queued, jobs, requests, store } satisfies FeedRound
      }),
      Layer.mergeAll(countingStore(path.join(dir, "plexsync.db"), counts), stashLayer)
    )
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The scene ids of the tag, straight from the client: what the feed cannot do without on the Stash side. */
const fetchBaseline = () =>
  run(
    Effect.gen(function*() {
      const client = yield* StashClient
      const started = performance.now()
      let afterId: SceneId | null = null
      let read = 0
      for (;;) {
        const page: Page<SceneId> = yield* client.scenesWithRelated({
          kind: "tag",
          ids: [hot.id],
          afterId,
          perPage: PAGE
        })
        read += page.items.length
        const last: SceneId | undefined = page.items[page.items.length - 1]
        if (last === undefined || page.items.length < PAGE) break
        afterId = last
      }
      if (read !== SCENES) throw new Error(`the fetch baseline read ${read} scenes`)
      return performance.now() - started
    }),
    stashLayer
  )

/** The same number of jobs straight into the queue, pages of 1000, on a fresh store. */
const enqueueBaseline = async () => {
  const dir = tempDir()
  const counts = zero()
  try {
    return await run(
      Effect.gen(function*() {
        const queue = yield* SyncQueue
        const started = performance.now()
        for (let i = 0; i < hotScenes.length; i += PAGE) {
          yield* queue.enqueueMany(
            hotScenes.slice(i, i + PAGE).map((sceneId) => ({ sceneId, reason: "tag-changed" as const }))
          )
        }
        return performance.now() - started
      }),
      countingStore(path.join(dir, "plexsync.db"), counts)
    )
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// -------------------------------------------------------------------------------------------------------------

console.error(
  `related: ${fmtInt(SCENES)} scenes use one tag (${fmtInt(OTHERS)} others do not; seeded in ${
    seedMs.toFixed(0)
  } ms), ${ROUNDS} round(s)`
)
// Warm-up: the first HTTP connection, graphql's schema, SQLite's statement caches.
await fetchBaseline()
await enqueueBaseline()

const feeds: Array<FeedRound> = []
const fetches: Array<number> = []
const enqueues: Array<number> = []
const queueRatios: Array<number> = []
const pollRatios: Array<number> = []
for (let round = 1; round <= ROUNDS; round++) {
  const steps = [
    async () => void feeds.push(await feedRound(round)),
    async () => void fetches.push(await fetchBaseline()),
    async () => void enqueues.push(await enqueueBaseline())
  ]
  // Rotating order: the machine's drift falls on each in turn.
  for (let i = 0; i < steps.length; i++) await steps[(i + round) % steps.length]!()
  const feed = feeds[feeds.length - 1]!
  const fetch = fetches[fetches.length - 1]!
  const enqueue = enqueues[enqueues.length - 1]!
  queueRatios.push(enqueue / feed.store.enqueueMs)
  pollRatios.push((fetch + enqueue) / feed.pollMs)
  console.error(
    `  round ${round}: poll ${feed.pollMs.toFixed(0)} ms (queueing ${feed.store.enqueueMs.toFixed(0)} ms), ` +
      `fetch ${fetch.toFixed(0)} ms, enqueue ${enqueue.toFixed(0)} ms; ${feed.requests.total} Stash requests, ` +
      `${feed.store.transactions} transactions, ${feed.store.enqueuePages} pages, ${feed.queued} queued`
  )
}
await stash.close()

const last = feeds[feeds.length - 1]!
const everyRound = <A>(f: (round: FeedRound) => A) => feeds.map(f)
const requests = Math.max(...everyRound((r) => r.requests.total))
const transactions = Math.max(...everyRound((r) => r.store.transactions))
const pages = Math.max(...everyRound((r) => r.store.enqueuePages))
const jobsOk = feeds.every((r) =>
  r.queued === SCENES && r.jobs["tag-changed"] === SCENES && Object.keys(r.jobs).length === 1
)
const wantedPages = Math.ceil(SCENES / PAGE)
const queueRatio = median(queueRatios)
const pollRatio = median(pollRatios)
const pollMs = median(feeds.map((r) => r.pollMs))
const queueMs = median(feeds.map((r) => r.store.enqueueMs))
const fetchMs = median(fetches)
const enqueueMs = median(enqueues)

const rows: Array<ResultRow> = [
  {
    figure: `jobs queued by one poll after renaming a tag on ${fmtInt(SCENES)} scenes`,
    value: `${fmtInt(last.queued)} (${JSON.stringify(last.jobs)})`,
    baseline: "–",
    ratio: null,
    target: `= ${fmtInt(SCENES)}, every one tag-changed, every round`,
    pass: jobsOk
  },
  {
    figure: "Stash requests of that poll",
    value: `${requests} (${Object.entries(last.requests.byOperation).map(([op, n]) => `${op} ${n}`).join(", ")})`,
    baseline: "–",
    ratio: null,
    target: `≤ ${REQUEST_LIMIT} (⌈${SCENES} ÷ ${PAGE}⌉ + 2 per kind + 1)`,
    pass: requests <= REQUEST_LIMIT
  },
  {
    figure: "store transactions of that poll (enqueue pages)",
    value: `${transactions} (${pages} enqueue pages; ${last.store.operations} store operations)`,
    baseline: "–",
    ratio: null,
    target: `enqueue pages = ${wantedPages}; transactions ≤ ${wantedPages + 3}`,
    pass: pages === wantedPages && transactions <= wantedPages + 3
  },
  {
    figure: "queueing time inside that poll",
    value: `${queueMs.toFixed(0)} ms`,
    baseline: `SyncQueue.enqueueMany, pages of ${PAGE}: ${enqueueMs.toFixed(0)} ms`,
    ratio: queueRatio,
    target: `≥ ${RATIO_FLOOR}×`,
    pass: queueRatio >= RATIO_FLOOR,
    limit: "the enqueue statement itself: the feed's pages are the baseline's"
  },
  {
    figure: "that poll, whole",
    value: `${pollMs.toFixed(0)} ms`,
    baseline: `fetch ${fetchMs.toFixed(0)} ms + enqueue ${enqueueMs.toFixed(0)} ms`,
    ratio: pollRatio,
    target: `≥ ${RATIO_FLOOR}×`,
    pass: pollRatio >= RATIO_FLOOR,
    limit: "fetching and queueing alternate (one page at a time), as the baseline's sum assumes"
  }
]

const file = writeResult({
  benchmark: "related",
  at: new Date().toISOString(),
  machine: machine(),
  scenes: SCENES,
  others: OTHERS,
  rounds: ROUNDS,
  quick,
  medians: { pollMs, queueMs, fetchMs, enqueueMs, queueRatio, pollRatio },
  perRound: feeds.map((r, i) => ({
    pollMs: r.pollMs,
    queueMs: r.store.enqueueMs,
    fetchMs: fetches[i],
    enqueueMs: enqueues[i],
    requests: r.requests,
    transactions: r.store.transactions,
    operations: r.store.operations,
    enqueuePages: r.store.enqueuePages,
    queued: r.queued,
    jobs: r.jobs
  })),
  rows
})
for (const row of rows) {
  console.log(
    `${row.pass ? "pass" : "MISS"}  ${row.figure}: ${row.value}; baseline ${row.baseline}; ratio ${
      fmtRatio(row.ratio)
    }; target ${row.target}`
  )
}
console.log(`results: ${path.relative(process.cwd(), file)}`)
if (rows.some((row) => !row.pass)) process.exitCode = 1
