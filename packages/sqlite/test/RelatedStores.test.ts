import { assert, describe, it } from "@effect/vitest"
import { KnownObjects } from "@plexsync/domain/RelatedObjects"
import type { SceneSyncState } from "@plexsync/domain/SyncState"
import { SyncState } from "@plexsync/domain/SyncState"
import { syncedState } from "@plexsync/testing/SyncStates"
import { Effect, Layer, Option } from "effect"
import * as KnownObjectsSqlite from "../src/KnownObjectsSqlite.js"
import { freshStore, scene } from "./support.js"

const state = (n: number, related?: SceneSyncState["related"]) =>
  syncedState({ id: scene(n), updatedAt: "2026-01-01T00:00:00Z" }, related === undefined ? {} : { related })

const related = (tag: Array<string>, studio: Array<string> = []) => ({ tag, performer: [], studio, group: [] })

const store = KnownObjectsSqlite.layer.pipe(Layer.provideMerge(freshStore()))

describe("related objects in the store", () => {
  it.scoped("sync state remembers each scene's related ids and finds the scenes of given objects", () =>
    Effect.gen(function*() {
      const syncState = yield* SyncState
      yield* syncState.put(state(1, related(["10", "11"], ["5"])))
      yield* syncState.put(state(2, related(["11"])))
      yield* syncState.put(state(3))
      assert.deepStrictEqual(Option.getOrThrow(yield* syncState.get(scene(1))).related, related(["10", "11"], ["5"]))
      assert.isUndefined(Option.getOrThrow(yield* syncState.get(scene(3))).related)
      assert.deepStrictEqual([...(yield* syncState.scenesRelatedTo("tag", ["11"]))].sort(), [scene(1), scene(2)])
      assert.deepStrictEqual(yield* syncState.scenesRelatedTo("studio", ["5"]), [scene(1)])
      // A newer sync replaces the links; a put without related ids keeps them; remove drops them.
      yield* syncState.put(state(1, related(["12"])))
      assert.deepStrictEqual(yield* syncState.scenesRelatedTo("tag", ["10", "11"]), [scene(2)])
      yield* syncState.put(state(2))
      assert.deepStrictEqual(yield* syncState.scenesRelatedTo("tag", ["11"]), [scene(2)])
      yield* syncState.remove(scene(2))
      assert.deepStrictEqual(yield* syncState.scenesRelatedTo("tag", ["11"]), [])
      // A state recorded without related ids (before plexsync kept them) is found until the scene syncs again.
      assert.deepStrictEqual(yield* syncState.scenesWithUnknownRelated, [scene(3)])
      yield* syncState.put(state(3, related([])))
      assert.deepStrictEqual(yield* syncState.scenesWithUnknownRelated, [])
    }).pipe(Effect.provide(store)))

  it.scoped("known objects keep their count with every change", () =>
    Effect.gen(function*() {
      const known = yield* KnownObjects
      assert.isTrue(Option.isNone(yield* known.count("tag")))
      yield* known.record("tag", [{ id: "1", updatedAt: null }, { id: "2", updatedAt: "t1" }])
      assert.deepStrictEqual(yield* known.count("tag"), Option.some(2))
      yield* known.record("tag", [{ id: "2", updatedAt: null }, { id: "3", updatedAt: "t3" }])
      assert.deepStrictEqual(yield* known.count("tag"), Option.some(3))
      const versions = yield* known.versions("tag", ["1", "2", "3", "4"])
      assert.deepStrictEqual([...versions.entries()].sort(), [["1", null], ["2", "t1"], ["3", "t3"]])
      yield* known.forget("tag", ["1", "9"])
      assert.deepStrictEqual(yield* known.count("tag"), Option.some(2))
      assert.deepStrictEqual([...(yield* known.ids("tag"))].sort(), ["2", "3"])
      assert.isTrue(Option.isNone(yield* known.count("studio")))
    }).pipe(Effect.provide(store)))
})
