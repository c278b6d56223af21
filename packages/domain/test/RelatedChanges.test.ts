import { assert, describe, it } from "@effect/vitest"
import { StashUnavailable } from "@plexsync/domain/Errors"
import { ObjectEvents } from "@plexsync/domain/ObjectEvents"
import { drainObjectEvents, groupEvents } from "@plexsync/domain/RelatedChanges"
import { KnownObjects, relatedIdsOf } from "@plexsync/domain/RelatedObjects"
import type { StashScene } from "@plexsync/domain/StashScene"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { SyncState } from "@plexsync/domain/SyncState"
import * as SimStash from "@plexsync/testing/SimStash"
import { syncedState } from "@plexsync/testing/SyncStates"
import * as TestStore from "@plexsync/testing/TestStore"
import { Effect, Layer } from "effect"

const tag = (n: number) => ({ id: `${n}`, name: `Tag ${n}` })

/** 12 scenes: scene i has tag (i mod 3) + 1; performer 1 on scenes 1–4; studio 1 on scenes 1–6; group 1 on 12. */
const scenes: Array<StashScene> = Array.from({ length: 12 }, (_, index) => {
  const i = index + 1
  return SimStash.sampleScene(i, {
    tags: [tag((i % 3) + 1)],
    performers: i <= 4 ? [{ id: "1", name: "Alex" }] : [],
    studio: i <= 6 ? { id: "1", name: "Harbour" } : null,
    groups: i === 12 ? [{ id: "1", name: "Series" }] : []
  })
})
const ids = (predicate: (scene: StashScene) => boolean) => scenes.filter(predicate).map((s) => s.id)
const withTag = (id: string) => ids((s) => s.tags.some((t) => t.id === id))

const world = () => Layer.mergeAll(SimStash.layer({ scenes }), TestStore.layer())

/** Every scene recorded as synced with what it refers to now (what a deletion's scenes are found from). */
const recordSynced = Effect.gen(function*() {
  const syncState = yield* SyncState
  for (const scene of scenes) {
    yield* syncState.put(
      syncedState(scene, { related: relatedIdsOf(scene) })
    )
  }
})

const queued = Effect.gen(function*() {
  const jobs = yield* (yield* SyncQueue).list({ limit: 1000 })
  return jobs.map((job) => `${job.sceneId} ${job.reason}`).sort()
})
const expect = (sceneIds: ReadonlyArray<string>, reason: string) => sceneIds.map((id) => `${id} ${reason}`).sort()

describe("drainObjectEvents", () => {
  it.scoped("queues the scenes of each recorded event, then removes the events", () =>
    Effect.gen(function*() {
      yield* recordSynced
      const events = yield* ObjectEvents
      yield* events.record({ kind: "tag", objectId: "2", change: "changed" })
      yield* events.record({ kind: "tag", objectId: "2", change: "changed" })
      yield* events.record({ kind: "studio", objectId: "1", change: "deleted" })

      const result = yield* drainObjectEvents()
      assert.deepStrictEqual(result, { expanded: 3, queued: withTag("2").length + 6, unreadable: 0 })
      const scenesOfStudio = ids((s) => s.studio?.id === "1")
      // One job per scene: scenes both using tag 2 and the studio coalesce into their first job.
      const jobs = yield* queued
      assert.sameMembers(
        jobs.map((j) => j.split(" ")[0]),
        [...new Set([...withTag("2"), ...scenesOfStudio])]
      )
      assert.includeMembers(jobs, expect(withTag("2"), "tag-changed"))
      assert.strictEqual(yield* events.count, 0)
      // A deleted object is forgotten, as the change feed's own deletions are.
      assert.deepStrictEqual(yield* (yield* KnownObjects).versions("studio", ["1"]), new Map())

      // Nothing left: a second drain does nothing.
      assert.deepStrictEqual(yield* drainObjectEvents(), { expanded: 0, queued: 0, unreadable: 0 })
    }).pipe(Effect.provide(world())))

  it.scoped("a tag merge queues the destination's scenes (now with the sources') and the sources' from sync state", () =>
    Effect.gen(function*() {
      yield* recordSynced
      const sim = yield* SimStash.SimStash
      yield* sim.mergeTags(["3"], "1")
      yield* (yield* ObjectEvents).record({ kind: "tag", objectId: "1", change: "changed", mergedFrom: ["3"] })
      yield* drainObjectEvents()
      const jobs = yield* queued
      // Stash now links the sources' scenes to the destination: all of them are queued for it (the sources' own
      // deletion, from sync state, coalesces into the same jobs).
      assert.includeMembers(jobs, expect([...withTag("1"), ...withTag("3")], "tag-changed"))
      assert.lengthOf(jobs, withTag("1").length + withTag("3").length)
    }).pipe(Effect.provide(world())))

  it.scoped("Stash failing leaves every event for the next try; nothing is lost, nothing is queued twice", () =>
    Effect.gen(function*() {
      const sim = yield* SimStash.SimStash
      const events = yield* ObjectEvents
      yield* events.record({ kind: "performer", objectId: "1", change: "changed" })
      yield* events.record({ kind: "group", objectId: "1", change: "changed" })
      yield* sim.failNext("scenesWithRelated", new StashUnavailable({ message: "connection refused" }))

      const failed = yield* Effect.either(drainObjectEvents())
      assert.isTrue(failed._tag === "Left" && failed.left._tag === "StashUnavailable")
      assert.strictEqual(yield* events.count, 2, "the events wait")

      const result = yield* drainObjectEvents()
      assert.deepStrictEqual(result, { expanded: 2, queued: 5, unreadable: 0 })
      assert.deepStrictEqual(
        yield* queued,
        [...expect(ids((s) => s.performers.length > 0), "performer-changed"), "12 group-changed"].sort()
      )
      assert.strictEqual(yield* events.count, 0)
    }).pipe(Effect.provide(world())))

  it.scoped("expands in batches: events are removed batch by batch as their scenes are queued", () =>
    Effect.gen(function*() {
      const events = yield* ObjectEvents
      for (const id of ["1", "2", "3", "1", "2"]) yield* events.record({ kind: "tag", objectId: id, change: "changed" })
      const result = yield* drainObjectEvents({ batchSize: 2 })
      assert.strictEqual(result.expanded, 5)
      assert.deepStrictEqual(yield* queued, expect(scenes.map((s) => s.id), "tag-changed"))
      assert.strictEqual(yield* events.count, 0)
    }).pipe(Effect.provide(world())))
})

describe("groupEvents", () => {
  it("merges duplicates per kind and turns a merge's sources into deletions", () => {
    const at = { recordedAt: 0, mergedFrom: [] as ReadonlyArray<string> }
    const groups = groupEvents([
      { ...at, id: 1, kind: "tag", objectId: "5", change: "changed", mergedFrom: ["3", "4", "5"] },
      { ...at, id: 2, kind: "tag", objectId: "5", change: "changed" },
      { ...at, id: 3, kind: "performer", objectId: "8", change: "deleted" }
    ])
    assert.deepStrictEqual(groups, [
      { kind: "tag", changed: ["5"], deleted: ["3", "4"] },
      { kind: "performer", changed: [], deleted: ["8"] },
      { kind: "studio", changed: [], deleted: [] },
      { kind: "group", changed: [], deleted: [] }
    ])
  })
})
