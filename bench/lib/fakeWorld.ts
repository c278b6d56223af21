/**
 * A worker against the fake Plex and fake Stash in this process, over real HTTP on loopback: the servers, the
 * clients and a fresh store, for benchmarks that compare the worker with itself under different settings.
 */
import { NodeHttpClient } from "@effect/platform-node"
import type { SceneId } from "@plexsync/domain/Ids"
import { parsePathMap } from "@plexsync/domain/PathMap"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import * as FakePlex from "@plexsync/testing/FakePlex"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { seedLibrary } from "@plexsync/testing/FakeStashSeed"
import * as TestStore from "@plexsync/testing/TestStore"
import { Effect, Either, Layer, Option, Redacted } from "effect"

export const stashRoot = "/data/videos"
export const plexRoot = "/media/videos"
export const pathMap = Either.getOrThrow(parsePathMap(`${stashRoot}=>${plexRoot}`))
export const plexFileOf = (stashPath: string) => plexRoot + stashPath.slice(stashRoot.length)

/**
 * Fake servers seeded with `scenes` scenes (Plex holds each file, or waits for a scan of it when `pending`), the
 * store and both clients; closed with the scope.
 */
export const fakeWorld = (
  options: { readonly scenes: number; readonly pending?: boolean; readonly scanDelayMs?: number }
) =>
  Effect.gen(function*() {
    const stash = yield* Effect.acquireRelease(
      Effect.promise(() => FakeStash.startFakeStash()),
      (s) => Effect.promise(() => s.close())
    )
    const plex = yield* Effect.acquireRelease(
      Effect.promise(() => FakePlex.startFakePlex({ scanDelayMs: options.scanDelayMs ?? 2_000 })),
      (p) => Effect.promise(() => p.closePromise())
    )
    const scenes = seedLibrary(stash.state, { scenes: options.scenes, root: stashRoot })
    const section = plex.state.addSection({ key: "1", title: "Scenes", type: "movie", locations: [plexRoot] })
    for (const scene of scenes) {
      const item = { sectionKey: section.key, file: plexFileOf(scene.files[0]!.path) }
      if (options.pending === true) plex.state.addPendingItem(item)
      else plex.state.addItem(item)
    }
    const context = yield* Layer.build(Layer.mergeAll(
      TestStore.layer({ prefix: "plexsync-bench-" }),
      Layer.mergeAll(
        PlexClientLive.layer({ url: plex.url, token: Redacted.make(plex.token), clientIdentifier: "plexsync-bench" }),
        StashClientLive.layer({ url: stash.url, apiKey: Option.none() }).pipe(Layer.orDie)
      ).pipe(Layer.provide(NodeHttpClient.layerUndici))
    ))
    // Stash numbers the seeded scenes 1…N.
    const enqueueAll = Effect.flatMap(SyncQueue, (q) =>
      q.enqueueMany(
        Array.from(
          { length: options.scenes },
          (_, i) => ({ sceneId: String(i + 1) as SceneId, reason: "bulk" as const })
        )
      )).pipe(Effect.provide(context))
    return { stash, plex, scenes, context, enqueueAll }
  })
