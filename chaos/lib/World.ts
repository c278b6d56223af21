/**
 * A world for the chaos cases: the fake Stash and the fake Plex on 127.0.0.1 in this process (the Plex one
 * keeps the ledger of every write), a seeded library in which every scene's file is an item in Plex, a database
 * file in a temporary directory, and the live clients and store as layers — or as environment variables for the
 * plexsync processes under test.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { SceneId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { parsePathMap } from "@plexsync/domain/PathMap"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { EngineSettings } from "@plexsync/domain/Worker"
import { defaultEngineSettings } from "@plexsync/domain/Worker"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import * as FakePlex from "@plexsync/testing/FakePlex"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { seedLibrary } from "@plexsync/testing/FakeStashSeed"
import type { FakeScene } from "@plexsync/testing/FakeStashState"
import { Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { full, openRaw, tempDir } from "./Chaos.js"

export const STASH_ROOT = "/data/videos"
export const PLEX_ROOT = "/media/library/videos"
export const PATH_MAP = `${STASH_ROOT}=>${PLEX_ROOT}`

export const plexPathOf = (stashPath: string) => PLEX_ROOT + stashPath.slice(STASH_ROOT.length)

export interface WorldOptions {
  readonly scenes: number
  /** Scenes without a cover: a sync is then one edit request and one rating request. Default true. */
  readonly noCovers?: boolean
}

export const makeWorld = (options: WorldOptions) =>
  Effect.gen(function*() {
    const stash = yield* FakeStash.start()
    const plex = yield* FakePlex.start()
    const seeded = seedLibrary(stash.state, { scenes: options.scenes, root: STASH_ROOT })
    if (options.noCovers ?? true) {
      for (const scene of seeded) stash.state.updateScene(scene.id, { screenshot: null })
    }
    const scenes: ReadonlyArray<FakeScene> = seeded.map((s) => stash.state.scene(s.id)!)
    plex.state.addSection({ key: "3", title: "Scenes", type: "movie", locations: [PLEX_ROOT] })
    /** ratingKey → scene id, to read the ledger by scene. */
    const sceneOfItem = new Map<string, string>()
    for (const scene of scenes) {
      const item = plex.state.addItem({ file: plexPathOf(scene.files[0]!.path), title: `file ${scene.id}` })
      sceneOfItem.set(item.ratingKey, scene.id)
    }
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => tempDir("world")),
      (d) => Effect.sync(() => fs.rmSync(d, { recursive: true, force: true }))
    )
    const dbFile = path.join(dir, "plexsync.db")
    const pathMap = Either.getOrThrow(parsePathMap(PATH_MAP))
    return {
      stash,
      plex,
      scenes,
      sceneIds: scenes.map((s) => s.id as SceneId),
      dir,
      dbFile,
      pathMap,
      sceneOfItem,
      /** The settings the engine runs with here (short probes, so outages are seen quickly). */
      engine: (overrides: Partial<EngineSettings> = {}): EngineSettings => ({
        ...defaultEngineSettings,
        pathMap,
        concurrency: 4,
        leaseMs: 5_000,
        probeMinMs: 200,
        probeMaxMs: 1_000,
        idlePollMs: 100,
        ...overrides
      }),
      /** The live store and clients, as the apps compose them (`plexTimeoutMs`: the Plex client's request limit). */
      layer: (clients: { readonly plexTimeoutMs?: number } = {}) =>
        Layer.mergeAll(
          storeOnFile(dbFile),
          Layer.mergeAll(
            PlexClientLive.layer({
              url: plex.url,
              token: Redacted.make(plex.token),
              clientIdentifier: "plexsync-chaos",
              ...(clients.plexTimeoutMs === undefined ? {} : { timeoutMs: clients.plexTimeoutMs })
            }),
            StashClientLive.layer({ url: stash.url, apiKey: Option.none() }).pipe(Layer.orDie)
          ).pipe(Layer.provide(NodeHttpClient.layerUndici))
        ),
      /** The environment of a plexsync process working on this world. */
      env: (extra: Record<string, string> = {}): Record<string, string> => ({
        PLEXSYNC_DATA_DIR: dir,
        PLEXSYNC_STASH_URL: stash.url,
        PLEXSYNC_PLEX_URL: plex.url,
        PLEXSYNC_PLEX_TOKEN: plex.token,
        PLEXSYNC_PATH_MAP: PATH_MAP,
        PLEXSYNC_LOG_LEVEL: "warning",
        ...extra
      })
    }
  })

export type World = Effect.Effect.Success<ReturnType<typeof makeWorld>>

/** Queues every scene of the world, through the store. */
export const enqueueAll = (world: World) =>
  Effect.gen(function*() {
    const queue = yield* SyncQueue
    yield* queue.enqueueMany(world.sceneIds.map((sceneId) => ({ sceneId, reason: "bulk" as const })))
  }).pipe(
    Effect.provide(storeOnFile(world.dbFile)),
    Effect.scoped
  )

/** What the database says, read directly. */
export const storeSnapshot = (dbFile: string, now = Date.now()) => {
  const db = openRaw(dbFile)
  try {
    const jobs = db.prepare("SELECT id, scene_id, state, lease_until, attempts FROM jobs").all() as Array<
      { id: number; scene_id: string; state: string; lease_until: number | null; attempts: number }
    >
    const dead = db.prepare("SELECT id, scene_id, error_tag, recovered_at FROM dead_letters").all() as Array<
      { id: number; scene_id: string; error_tag: string; recovered_at: number | null }
    >
    const synced = db.prepare("SELECT scene_id FROM sync_state").all().map((r) => String(r.scene_id))
    return {
      jobs,
      dead,
      synced: new Set(synced),
      /** Scenes whose job was running under a live lease at `now`. */
      leased: new Set(jobs.filter((j) => j.state === "running" && (j.lease_until ?? 0) > now).map((j) => j.scene_id))
    }
  } finally {
    db.close()
  }
}

/**
 * The metadata edits the fake Plex applied, by scene: an edit is a PUT carrying field values (the rating and
 * poster requests are parts of the same sync and not counted).
 */
export const editsByScene = (world: World) => {
  const edits = new Map<string, number>()
  for (const write of world.plex.ledger.entries()) {
    if (!write.applied || write.method !== "PUT" || write.ratingKey === null) continue
    if (!Object.keys(write.params).some((k) => k.endsWith(".value") || k.includes(".tag.tag"))) continue
    for (const key of write.ratingKey.split(",")) {
      const scene = world.sceneOfItem.get(key)
      if (scene !== undefined) edits.set(scene, (edits.get(scene) ?? 0) + 1)
    }
  }
  return edits
}

/** Waits (up to 20 s) until Plex has received edits for `scenes` scenes: the worker is writing. */
export const untilWriting = (world: World, scenes = 10) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && editsByScene(world).size < scenes; i++) yield* Effect.sleep(Duration.millis(100))
    return editsByScene(world).size >= scenes
  })

/** Waits (up to `ms`) until the target's latest outage has closed. */
export const untilOutageClosed = (target: "plex" | "stash", ms = 10_000) =>
  Effect.gen(function*() {
    const outages = yield* OutageHistory
    for (let i = 0; i < ms / 100 && (yield* outages.list({ limit: 1, target }))[0]?.endedAt == null; i++) {
      yield* Effect.sleep(Duration.millis(100))
    }
  })

/** The full variant lets the queue drain (jobs wait out their backoff); the quick one goes on at once. */
export const drainedIfFull = Effect.gen(function*() {
  const queue = yield* SyncQueue
  while (full) {
    const counts = yield* queue.counts
    if (counts.queued === 0 && counts.running === 0) break
    yield* Effect.sleep(Duration.millis(200))
  }
})

/**
 * Nothing lost after a worker stopped: none dead-lettered, none left leased, and every scene synced with an edit in
 * Plex — or, in the quick variant, still queued. The full variant also expects an empty queue.
 */
export const assertNothingLost = (world: World, what: string) => {
  const snapshot = storeSnapshot(world.dbFile)
  if (snapshot.dead.length > 0) throw new Error(`jobs dead-lettered for ${what}: ${snapshot.dead.length}`)
  if (!snapshot.jobs.every((j) => j.state === "queued")) throw new Error("a job was left leased")
  const edits = editsByScene(world)
  const queued = new Set(snapshot.jobs.map((j) => j.scene_id))
  for (const id of world.sceneIds) {
    if (full || !queued.has(id)) {
      if (!snapshot.synced.has(id)) throw new Error(`scene ${id} was never synced`)
      if ((edits.get(id) ?? 0) < 1) throw new Error(`scene ${id}: no edit reached Plex`)
    }
  }
  if (full && snapshot.jobs.length > 0) throw new Error(`${snapshot.jobs.length} jobs left in the queue`)
  return snapshot
}
