import { assert } from "@effect/vitest"
import type { SceneId } from "@plexsync/domain/Ids"
import type { PlexItem } from "@plexsync/domain/PlexClient"
import { StashScene } from "@plexsync/domain/StashScene"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { SyncQueueService } from "@plexsync/domain/SyncQueue"
import { defaultEngineSettings, type EngineSettings, makeWorker } from "@plexsync/domain/Worker"
import * as Database from "@plexsync/sqlite/Database"
import { StoreLive } from "@plexsync/sqlite/StoreLive"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import * as TestStore from "@plexsync/testing/TestStore"
import type { Fiber } from "effect"
import { Chunk, Context, Duration, Effect, Layer, Option, TestClock } from "effect"
import * as path from "node:path"

/** The world of a worker test: a real SQLite store in a temp dir, simulated Stash and Plex. */

const tempDir = TestStore.tempDir("plexsync-worker-")

/** A scene with varied, realistic metadata (partial dates, missing ratings, several tags). */
export const richScene = (id: number): StashScene => {
  const dates = [
    `20${10 + (id % 14)}`,
    `20${10 + (id % 14)}-0${1 + (id % 9)}`,
    `20${10 + (id % 14)}-1${id % 3}-2${id % 8}`
  ]
  return SimStash.sampleScene(id, {
    title: id % 17 === 0 ? null : `Scene ${id}: a title`,
    details: id % 5 === 0 ? null : `Details of scene ${id}.`,
    date: id % 11 === 0 ? null : dates[id % 3]!,
    rating100: id % 7 === 0 ? null : 10 + (id * 7) % 91,
    studio: id % 13 === 0 ? null : { id: String(id % 4), name: `Studio ${id % 4}` },
    performers: Array.from({ length: id % 4 }, (_, i) => ({ id: String(i), name: `Performer ${(id + i) % 20}` })),
    tags: Array.from({ length: 1 + (id % 5) }, (_, i) => ({ id: String(i), name: `Tag ${(id * 3 + i) % 40}` })),
    groups: id % 6 === 0 ? [{ id: "1", name: `Group ${id % 3}` }] : []
  })
}

export const plexItemFor = (id: number) => SimPlex.sampleItem(1000 + id, `/data/scenes/${id}.mp4`)

export const sceneIdOf = (id: number) => String(id) as SceneId

export interface WorldOptions {
  readonly scenes?: ReadonlyArray<number>
  /** Scenes whose file Plex has (default: all). */
  readonly plexItems?: ReadonlyArray<number>
  /** Replace the queue's `release` (e.g. a crash that never gets to release). */
  readonly release?: SyncQueueService["release"]
  /** Wrap the queue's `renew` (e.g. a database that fails a renewal now and then). */
  readonly renew?: (renew: SyncQueueService["renew"]) => SyncQueueService["renew"]
  readonly logLimit?: number
}

export class DbFile extends Context.Tag("test/DbFile")<DbFile, string>() {}

/** The live SQLite store alone, on a file in a temp dir. */
export const store = () =>
  Layer.unwrapScoped(
    Effect.map(tempDir, (dir) =>
      StoreLive.pipe(
        Layer.provideMerge(Database.layer({ filename: path.join(dir, "plexsync.db"), quickCheck: false }))
      ))
  )

export const world = (options: WorldOptions = {}) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const dir = yield* tempDir
    const filename = path.join(dir, "plexsync.db")
    const ids = options.scenes ?? Array.from({ length: 20 }, (_, i) => i + 1)
    const store = StoreLive.pipe(Layer.provideMerge(Database.layer({ filename, quickCheck: false })))
    const { release, renew } = options
    const queue = release === undefined && renew === undefined ? Layer.empty : Layer.effect(
      SyncQueue,
      Effect.map(SyncQueue, (q) => ({
        ...q,
        ...(release === undefined ? {} : { release }),
        ...(renew === undefined ? {} : { renew: renew(q.renew) })
      }))
    ).pipe(Layer.provide(store))
    const logLimit = options.logLimit ?? 100_000
    return Layer.mergeAll(
      Layer.provideMerge(queue, store),
      SimStash.layer({ scenes: ids.map(richScene), logLimit }),
      SimPlex.layer({ items: (options.plexItems ?? ids).map(plexItemFor), logLimit }),
      Layer.succeed(DbFile, filename)
    )
  }))

export const settings = (overrides: Partial<EngineSettings> = {}): EngineSettings => ({
  ...defaultEngineSettings,
  ...overrides
})

export const worker = (overrides: Partial<EngineSettings> = {}) => makeWorker(settings(overrides))

export const enqueue = (ids: ReadonlyArray<number>, reason: "hook" | "bulk" | "reconcile" = "bulk") =>
  Effect.flatMap(SyncQueue, (q) => q.enqueueMany(ids.map((id) => ({ sceneId: sceneIdOf(id), reason }))))

/**
 * Lets the clock jump from one pending sleep to the next (at most `step` at a time), so an hour of simulated
 * outage runs in a few hundred steps.
 */
const advance = (step: Duration.Duration) =>
  Effect.gen(function*() {
    const now = yield* TestClock.currentTimeMillis
    const sleeps = yield* TestClock.sleeps()
    const next = Chunk.reduce(sleeps, Infinity, (min, at) => Math.min(min, at))
    const limit = now + Duration.toMillis(step)
    yield* TestClock.setTime(next > now && next < limit ? next : limit)
  })

const settle = Effect.gen(function*() {
  for (let y = 0; y < 10; y++) yield* Effect.yieldNow()
})

/** Advances the test clock until the fiber is done, and returns its result. */
export const runToEnd = <A, E>(
  fiber: Fiber.RuntimeFiber<A, E>,
  options: { readonly step?: Duration.DurationInput; readonly maxSteps?: number } = {}
) =>
  Effect.gen(function*() {
    const step = Duration.decode(options.step ?? "1 minute")
    const maxSteps = options.maxSteps ?? 200_000
    for (let i = 0; i < maxSteps; i++) {
      yield* settle
      if (Option.isSome(yield* fiber.poll)) break
      yield* advance(step)
    }
    return yield* fiber.await.pipe(Effect.flatten)
  })

/** Advances the clock until `condition` holds. */
export const advanceUntil = (
  condition: Effect.Effect<boolean, any, any>,
  options: { readonly step?: Duration.DurationInput; readonly maxSteps?: number } = {}
) =>
  Effect.gen(function*() {
    const step = Duration.decode(options.step ?? "1 minute")
    for (let i = 0; i < (options.maxSteps ?? 200_000); i++) {
      yield* settle
      if (yield* condition) return
      yield* advance(step)
    }
    assert.fail("the condition never held")
  })

/** Checks a Plex item field by field against its Stash scene, independently of the engine's mapping code. */
export const assertItemMatchesScene = (item: PlexItem, scene: StashScene) => {
  const label = `scene ${scene.id}`
  if (scene.title !== null) assert.strictEqual(item.title, scene.title, `${label} title`)
  else assert.strictEqual(item.title, `${scene.id}`, `${label}: a scene without a title leaves Plex's`)
  assert.strictEqual(item.summary, scene.details, `${label} summary`)
  assert.strictEqual(item.studio, scene.studio?.name ?? null, `${label} studio`)
  const date = scene.date === null
    ? null
    : scene.date.length === 4
    ? `${scene.date}-01-01`
    : scene.date.length === 7
    ? `${scene.date}-01`
    : scene.date
  assert.strictEqual(item.originallyAvailableAt, date, `${label} date`)
  assert.strictEqual(item.userRating, scene.rating100 === null ? null : scene.rating100 / 10, `${label} rating`)
  const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()
  assert.deepStrictEqual(sorted(item.genres), sorted(scene.tags.map((t) => t.name)), `${label} genres`)
  assert.deepStrictEqual(sorted(item.actors), sorted(scene.performers.map((p) => p.name)), `${label} actors`)
  assert.deepStrictEqual(
    sorted(item.collections),
    sorted([...(scene.studio ? [scene.studio.name] : []), ...scene.groups.map((g) => g.name)]),
    `${label} collections`
  )
}

/** Every scene's Plex item matches the scene. */
export const assertAllSynced = (ids: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const stash = yield* SimStash.SimStash
    const plex = yield* SimPlex.SimPlex
    for (const id of ids) {
      const scene = Option.getOrThrow(yield* stash.scene(String(id)))
      const item = Option.getOrThrow(yield* plex.item(String(1000 + id)))
      assertItemMatchesScene(item, scene)
    }
  })

export const makeStashScene = (fields: ConstructorParameters<typeof StashScene>[0]) => new StashScene(fields)
