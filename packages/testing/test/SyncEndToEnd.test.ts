import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { SceneId } from "@plexsync/domain/Ids"
import { parsePathMap } from "@plexsync/domain/PathMap"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { defaultEngineSettings, makeWorker } from "@plexsync/domain/Worker"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { Effect, Either, Layer, Option, Redacted } from "effect"
import * as crypto from "node:crypto"
import * as FakePlex from "../src/FakePlex.js"
import * as FakeStash from "../src/FakeStash.js"
import { seedLibrary } from "../src/FakeStashSeed.js"
import type { FakeScene, FakeStashState } from "../src/FakeStashState.js"
import * as TestStore from "../src/TestStore.js"

/**
 * End to end: scenes from the fake Stash synced into the fake Plex over real HTTP on loopback, with the live
 * clients, the SQLite store and the worker; then every Plex item is checked field by field against its scene,
 * by rules written out here rather than by the engine's own mapping code.
 */

const SCENES = 200
const STASH_ROOT = "/data/videos"
const PLEX_ROOT = "/media/library/videos"

const plexPathOf = (stashPath: string) => PLEX_ROOT + stashPath.slice(STASH_ROOT.length)

const setup = Effect.gen(function*() {
  const stash = yield* FakeStash.start()
  const plex = yield* FakePlex.start()
  const scenes = seedLibrary(stash.state, { scenes: SCENES, root: STASH_ROOT })
  plex.state.addSection({ key: "3", title: "Scenes", type: "movie", locations: [PLEX_ROOT] })
  plex.state.addSection({ key: "4", title: "Elsewhere", type: "movie", locations: ["/media/other"] })
  for (const scene of scenes) {
    plex.state.addItem({ file: plexPathOf(scene.files[0]!.path), title: `file ${scene.id}` })
  }
  const store = TestStore.layer({ prefix: "plexsync-e2e-" })
  const clients = Layer.mergeAll(
    PlexClientLive.layer({ url: plex.url, token: Redacted.make(plex.token), clientIdentifier: "plexsync-e2e" }),
    StashClientLive.layer({ url: stash.url, apiKey: Option.none() }).pipe(Layer.orDie)
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  const context = yield* Layer.build(Layer.mergeAll(store, clients))
  return { stash, plex, scenes, context }
})

const dateOf = (date: string | null) =>
  date === null ? null : date.length === 4 ? `${date}-01-01` : date.length === 7 ? `${date}-01` : date

const sorted = (names: Iterable<string>) => [...names].sort()

const assertItemMatches = (state: FakeStashState, scene: FakeScene, item: FakePlex.FakePlexItem) => {
  const label = `scene ${scene.id}`
  assert.strictEqual(item.title, scene.title ?? `file ${scene.id}`, `${label}: title (kept when Stash has none)`)
  assert.strictEqual(item.summary, scene.details, `${label}: summary`)
  const studio = scene.studioId === null ? null : state.studio(scene.studioId)!.name
  assert.strictEqual(item.studio, studio, `${label}: studio`)
  assert.strictEqual(item.originallyAvailableAt, dateOf(scene.date), `${label}: date`)
  assert.strictEqual(item.userRating, scene.rating100 === null ? null : scene.rating100 / 10, `${label}: rating`)
  assert.deepStrictEqual(sorted(item.genres), sorted(scene.tagIds.map((id) => state.tag(id)!.name)), `${label}: genres`)
  assert.deepStrictEqual(
    sorted(item.actors),
    sorted(scene.performerIds.map((id) => state.performer(id)!.name)),
    `${label}: actors`
  )
  const collections = [...(studio === null ? [] : [studio]), ...scene.groups.map((g) => state.group(g.groupId)!.name)]
  assert.deepStrictEqual(sorted(item.collections), sorted(collections), `${label}: collections`)
  const cover = scene.screenshot
  if (cover === null) assert.isNull(item.poster, `${label}: no cover, no poster`)
  else {
    const sha = crypto.createHash("sha256").update(cover.bytes).digest("hex")
    assert.strictEqual(item.poster?.sha256, sha, `${label}: poster is the Stash cover`)
  }
  // Every field written is locked, so an agent refresh cannot undo it.
  const locks: Array<string> = []
  if (scene.title !== null) locks.push("title")
  if (scene.tagIds.length > 0) locks.push("genre")
  if (scene.performerIds.length > 0) locks.push("actor")
  if (collections.length > 0) locks.push("collection")
  for (const lock of locks) assert.include(item.lockedFields, lock, `${label}: ${lock} locked`)
}

describe("sync end to end over HTTP", () => {
  it.scopedLive(
    `syncs ${SCENES} scenes from the fake Stash into the fake Plex, field by field`,
    () =>
      Effect.gen(function*() {
        const { context, plex, scenes, stash } = yield* setup
        const pathMap = Either.getOrThrow(parsePathMap(`${STASH_ROOT}=>${PLEX_ROOT}`))
        const worker = yield* makeWorker({ ...defaultEngineSettings, pathMap, concurrency: 4 }).pipe(
          Effect.provide(context)
        )
        const queue = Effect.provide(SyncQueue, context)
        yield* Effect.flatMap(
          queue,
          (q) => q.enqueueMany(scenes.map((s) => ({ sceneId: s.id as SceneId, reason: "bulk" as const })))
        )

        const summary = yield* worker.drain()
        assert.strictEqual(summary.synced, SCENES)
        assert.strictEqual(summary.deadLettered + summary.retried + summary.dropped, 0)
        assert.isNull(summary.stoppedBy)
        for (const scene of scenes) {
          const item = plex.state.itemByFile(plexPathOf(scene.files[0]!.path))
          assert.isDefined(item, `scene ${scene.id} has its Plex item`)
          assertItemMatches(stash.state, scene, item!)
        }
        // One edit per scene at most, each a single request.
        const edits = plex.ledger.entries().filter((w) => w.method === "PUT" && w.path.endsWith("/all"))
        assert.isAtMost(edits.length, SCENES)

        // Unchanged scenes: a second pass writes nothing and asks Plex nothing.
        const writesBefore = plex.ledger.entries().length
        const requestsBefore = plex.requests.count()
        yield* Effect.flatMap(
          queue,
          (q) => q.enqueueMany(scenes.map((s) => ({ sceneId: s.id as SceneId, reason: "hook" as const })))
        )
        const again = yield* worker.drain()
        assert.strictEqual(again.unchanged, SCENES)
        assert.strictEqual(plex.ledger.entries().length, writesBefore)
        assert.strictEqual(plex.requests.count(), requestsBefore)

        // A change in Stash reaches Plex, and only that change is sent.
        const changed = scenes[7]!
        stash.state.updateScene(changed.id, { title: "A new title", tagIds: [] })
        yield* Effect.flatMap(queue, (q) => q.enqueue({ sceneId: changed.id as SceneId, reason: "hook" }))
        plex.ledger.clear()
        const third = yield* worker.drain()
        assert.strictEqual(third.synced, 1)
        const item = plex.state.itemByFile(plexPathOf(changed.files[0]!.path))!
        assertItemMatches(stash.state, stash.state.scene(changed.id)!, item)
        const sent = plex.ledger.entries().filter((w) => w.method === "PUT" && w.path.endsWith("/all"))
        assert.strictEqual(sent.length, 1)
        assert.strictEqual(sent[0]!.params["title.value"], "A new title")
        assert.isUndefined(sent[0]!.params["summary.value"], "unchanged fields are not sent")
      }),
    { timeout: 120_000 }
  )
})
