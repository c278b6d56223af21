import { assert, describe, it } from "@effect/vitest"
import { StashUnavailable } from "@plexsync/domain/Errors"
import type { SceneId } from "@plexsync/domain/Ids"
import { ObjectEvents } from "@plexsync/domain/ObjectEvents"
import { KnownObjects, relatedIdsOf } from "@plexsync/domain/RelatedObjects"
import { Settings } from "@plexsync/domain/Settings"
import type { StashScene } from "@plexsync/domain/StashScene"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { SyncState } from "@plexsync/domain/SyncState"
import * as SimStash from "@plexsync/testing/SimStash"
import { syncedState } from "@plexsync/testing/SyncStates"
import { Effect, Fiber, Layer, Option, TestClock } from "effect"
import * as path from "node:path"
import * as ChangeFeed from "../src/ChangeFeed.js"
import * as RelatedFeed from "../src/RelatedFeed.js"
import { storeAt, tempDir } from "./support.js"

const base = Date.parse("2026-02-15T10:00:00Z")
const tag = (n: number) => ({ id: `${n}`, name: `Tag ${n}` })

/**
 * 30 scenes: scene i has tag (i mod 3) + 1, tag 10 + i for i ≤ 12 (one tag each), performer 1 on scenes 1–5,
 * studio 1 on scenes 1–10, group 1 on scene 20.
 */
const scenes: Array<StashScene> = Array.from({ length: 30 }, (_, index) => {
  const i = index + 1
  return SimStash.sampleScene(i, {
    updatedAt: SimStash.stashTime(base + i * 1000),
    tags: [tag((i % 3) + 1), ...(i <= 12 ? [tag(10 + i)] : [])],
    performers: i <= 5 ? [{ id: "1", name: "Alex" }] : [],
    studio: i <= 10 ? { id: "1", name: "Harbour" } : null,
    groups: i === 20 ? [{ id: "1", name: "Series" }] : []
  })
})

const withTag = (id: string) => scenes.filter((s) => s.tags.some((t) => t.id === id)).map((s) => s.id)

/** Runs the worker's part by hand: every queued job is claimed, recorded as synced (with its related ids), done. */
const syncAll = Effect.gen(function*() {
  const queue = yield* SyncQueue
  const syncState = yield* SyncState
  const sim = yield* SimStash.SimStash
  for (;;) {
    const claimed = yield* queue.claim({ limit: 500, leaseMs: 60_000 })
    if (claimed.length === 0) return
    for (const c of claimed) {
      const scene = Option.getOrThrow(yield* sim.scene(c.job.sceneId))
      yield* syncState.put(
        syncedState(scene, { related: relatedIdsOf(scene) })
      )
      yield* queue.complete(c)
    }
  }
})

/** The queued jobs as `sceneId reason`, sorted. */
const queued = Effect.gen(function*() {
  const queue = yield* SyncQueue
  const jobs = yield* queue.list({ limit: 1000 })
  return jobs.map((job) => `${job.sceneId} ${job.reason}`).sort()
})

/** The scene ids of the queued jobs, sorted. */
const queuedScenes = Effect.map(queued, (jobs) => jobs.map((line) => line.split(" ")[0]).sort())

const expect = (ids: ReadonlyArray<string>, reason: string) => ids.map((id) => `${id} ${reason}`).sort()

const world = (dir: string, options: Partial<ChangeFeed.ChangeFeedOptions> = {}) =>
  ChangeFeed.layer({ overlapMs: 60 * 60 * 1000, perPage: 100, ...options }).pipe(
    Layer.provideMerge(Layer.mergeAll(SimStash.layer({ scenes }), storeAt(path.join(dir, "plexsync.db"))))
  )

/** Runs `body` against the feed over a new database in a temporary directory. */
const inWorld = <A, E, R>(body: Effect.Effect<A, E, R>, options: Partial<ChangeFeed.ChangeFeedOptions> = {}) =>
  Effect.flatMap(tempDir, (dir) => Effect.provide(body, world(dir, options)))

/** The first poll (at `at`, when given) and the sync of all it queued; the feed and the simulated Stash. */
const firstSync = (at?: number) =>
  Effect.gen(function*() {
    if (at !== undefined) yield* TestClock.setTime(at)
    const feed = yield* ChangeFeed.ChangeFeed
    yield* feed.poll
    yield* syncAll
    return { feed, sim: yield* SimStash.SimStash }
  })

/** Syncs what is queued; the next poll must queue nothing. */
const syncedAndQuiet = Effect.gen(function*() {
  yield* syncAll
  assert.strictEqual((yield* Effect.flatMap(ChangeFeed.ChangeFeed, (feed) => feed.poll)).queued, 0)
})

describe("ChangeFeed: tags, performers, studios and groups", () => {
  it.scoped("first poll starts from now: nothing queued for related objects, their ids are known", () =>
    inWorld(
      Effect.gen(function*() {
        const feed = yield* ChangeFeed.ChangeFeed
        const known = yield* KnownObjects
        const settings = yield* Settings
        const first = yield* feed.poll
        // Only the scene feed's own first pass (every scene, reason poll).
        assert.strictEqual(first.queued, 30)
        assert.deepStrictEqual(first.related.map((r) => [r.kind, r.queued]), [
          ["tag", 0],
          ["performer", 0],
          ["studio", 0],
          ["group", 0]
        ])
        assert.deepStrictEqual(yield* known.count("tag"), Option.some(15))
        assert.deepStrictEqual(yield* known.count("group"), Option.some(1))
        assert.isTrue(Option.isSome(yield* settings.get(RelatedFeed.watermarkKey("tag"))))
        yield* syncAll
        const second = yield* feed.poll
        assert.strictEqual(second.queued, 0)
        assert.isTrue(second.related.every((r) => !r.listed && r.changed === 0))
      })
    ))

  it.scoped("a rename queues exactly the scenes using the object, once; the next poll queues nothing", () =>
    inWorld(
      Effect.gen(function*() {
        const settings = yield* Settings
        const { feed, sim } = yield* firstSync(base + 86_400_000)

        yield* TestClock.adjust(60_000)
        const renamed = yield* sim.renameRelated("tag", "1", "Outdoors")
        // Stash leaves the scenes' updated_at alone.
        assert.strictEqual(Option.getOrThrow(yield* sim.scene("3")).updatedAt, scenes[2]!.updatedAt)
        yield* sim.renameRelated("studio", "1", "Harbour Films")
        const poll = yield* feed.poll
        const jobs = yield* queued
        const studioScenes = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]
        // One job per scene: a scene using both the tag and the studio is queued once.
        assert.deepStrictEqual(
          jobs.map((line) => line.split(" ")[0]).sort(),
          [...new Set([...withTag("1"), ...studioScenes])].sort()
        )
        for (const line of jobs) {
          const [id, reason] = line.split(" ")
          const allowed = [
            ...(withTag("1").includes(id as SceneId) ? ["tag-changed"] : []),
            ...(studioScenes.includes(id!) ? ["studio-changed"] : [])
          ]
          assert.include(allowed, reason, line)
        }
        assert.strictEqual(poll.related.find((r) => r.kind === "tag")!.changed, 1)
        assert.deepStrictEqual(yield* settings.get(RelatedFeed.watermarkKey("tag")), Option.some(renamed.updatedAt))

        yield* syncAll
        const again = yield* feed.poll
        assert.strictEqual(again.queued, 0)
        assert.deepStrictEqual(yield* queued, [])
      })
    ))

  it.scoped("a second rename within the same Stash second is queued once more, past the second's margin", () =>
    inWorld(
      Effect.gen(function*() {
        const { feed, sim } = yield* firstSync(base + 86_400_000 + 200)

        // Two saves of tag 1 within one second (Stash stamps both with the same updated_at); a poll between them.
        yield* TestClock.adjust(60_000)
        const first = yield* sim.renameRelated("tag", "1", "Outdoors")
        yield* feed.poll
        assert.deepStrictEqual(yield* queued, expect(withTag("1"), "tag-changed"))
        yield* syncAll
        yield* TestClock.adjust(500)
        const second = yield* sim.renameRelated("tag", "1", "Outdoors, really")
        assert.strictEqual(second.updatedAt, first.updatedAt)
        yield* feed.poll
        assert.deepStrictEqual(yield* queued, [], "within the margin nothing is queued yet")

        // Past the end of that second plus the margin, the scenes are queued once more: the second save arrives.
        yield* TestClock.adjust(11_000)
        yield* feed.poll
        assert.deepStrictEqual(yield* queued, expect(withTag("1"), "tag-changed"))
        yield* syncAll
        // And that settles it: later polls (still inside the overlap hour) queue nothing.
        for (let i = 0; i < 3; i++) {
          yield* TestClock.adjust(5_000)
          const again = yield* feed.poll
          assert.strictEqual(again.queued, 0)
        }
      })
    ))

  it.scoped("a deletion queues the scenes that used it from sync state; a merge queues sources and destination", () =>
    inWorld(
      Effect.gen(function*() {
        const known = yield* KnownObjects
        const { feed, sim } = yield* firstSync(base + 86_400_000)

        yield* sim.deleteRelated("performer", "1")
        const deleted = yield* feed.poll
        assert.deepStrictEqual(yield* queued, expect(["1", "2", "3", "4", "5"], "performer-deleted"))
        const performer = deleted.related.find((r) => r.kind === "performer")!
        assert.strictEqual(performer.deleted, 1)
        assert.isTrue(performer.listed)
        // Only the kind whose count changed was listed.
        assert.isTrue(deleted.related.filter((r) => r.kind !== "performer").every((r) => !r.listed))
        assert.deepStrictEqual(yield* known.count("performer"), Option.some(0))
        yield* syncedAndQuiet

        // tagsMerge 11 and 12 into 2: the destination is bumped, the sources vanish.
        yield* TestClock.adjust(5_000)
        yield* sim.mergeTags(["11", "12"], "2")
        yield* feed.poll
        const destination = [...new Set([...withTag("2"), ...withTag("11"), ...withTag("12")])]
        assert.deepStrictEqual(
          yield* queuedScenes,
          destination.sort()
        )
        assert.deepStrictEqual(yield* known.count("tag"), Option.some(13))
        yield* syncedAndQuiet

        // A deletion hidden by a creation in the same poll: the new tag is recorded first, so the counts differ.
        yield* TestClock.adjust(5_000)
        yield* sim.deleteRelated("tag", "13")
        yield* sim.addRelated("tag", { id: "99", name: "New" })
        const mixed = yield* feed.poll
        const tags = mixed.related.find((r) => r.kind === "tag")!
        assert.strictEqual(tags.deleted, 1)
        assert.deepStrictEqual(yield* queued, expect(["3"], "tag-deleted"))
      })
    ))

  it.scoped("keyset pages: many objects changed in one second, read two per page, all reach the queue", () =>
    inWorld(
      Effect.gen(function*() {
        const { feed, sim } = yield* firstSync(base + 86_400_000)
        yield* TestClock.adjust(60_000)
        // Five tags in one second, four more a second later.
        for (const id of ["11", "12", "13", "14", "15"]) yield* sim.renameRelated("tag", id, `Renamed ${id}`)
        yield* TestClock.adjust(1_000)
        for (const id of ["16", "17", "18", "19"]) yield* sim.renameRelated("tag", id, `Renamed ${id}`)
        const poll = yield* feed.poll
        assert.deepStrictEqual(
          yield* queuedScenes,
          ["1", "2", "3", "4", "5", "6", "7", "8", "9"].sort()
        )
        assert.strictEqual(poll.related.find((r) => r.kind === "tag")!.changed, 9)
        yield* syncedAndQuiet
      }),
      { relatedPerPage: 2 }
    ))

  it.scoped("hook entry points: object changed, object deleted, tags merged", () =>
    inWorld(
      Effect.gen(function*() {
        const { feed, sim } = yield* firstSync()
        assert.strictEqual(yield* RelatedFeed.objectChanged({ kind: "group", id: "1" }), 1)
        assert.deepStrictEqual(yield* queued, expect(["20"], "group-changed"))
        yield* syncAll
        yield* sim.deleteRelated("studio", "1")
        assert.strictEqual(yield* RelatedFeed.objectDeleted({ kind: "studio", id: "1" }), 10)
        yield* syncAll
        // The poll sees nothing left to do: the hook already forgot the studio.
        assert.strictEqual((yield* feed.poll).queued, 0)
        yield* sim.mergeTags(["11"], "1")
        // The destination's scenes (scene 1 among them now) and, from sync state, the source's (scene 1 again).
        assert.strictEqual(yield* RelatedFeed.tagsMerged({ source: ["11"], destination: "1" }), 12)
        assert.deepStrictEqual(
          yield* queuedScenes,
          [...withTag("1"), ...withTag("11")].sort()
        )
      })
    ))

  it.scoped("the hooks' recorded events: expanded first in every poll, and at once on request", () =>
    inWorld(
      Effect.gen(function*() {
        const events = yield* ObjectEvents
        const { feed, sim } = yield* firstSync()

        yield* events.record({ kind: "performer", objectId: "1", change: "changed" })
        const poll = yield* feed.poll
        assert.deepStrictEqual(poll.events, { expanded: 1, queued: 5, unreadable: 0 })
        assert.strictEqual(poll.queued, 5)
        assert.deepStrictEqual(yield* queued, expect(["1", "2", "3", "4", "5"], "performer-changed"))
        assert.strictEqual(yield* events.count, 0)
        yield* syncAll

        // Stash failing while expanding: the event waits, and the rest of the poll goes on.
        yield* events.record({ kind: "group", objectId: "1", change: "changed" })
        yield* sim.failNext("scenesWithRelated", new StashUnavailable({ message: "refused" }))
        assert.isNull((yield* feed.poll).events)
        assert.strictEqual(yield* events.count, 1)

        // A request (the scheduler's POST /hooks/stash) is answered by the duty waiting on it.
        const waiter = yield* Effect.fork(Effect.zipRight(feed.drainRequested, feed.drainEvents))
        yield* feed.requestDrain
        yield* feed.requestDrain
        assert.deepStrictEqual(yield* Fiber.join(waiter), { expanded: 1, queued: 1, unreadable: 0 })
        assert.deepStrictEqual(yield* queued, expect(["20"], "group-changed"))
      })
    ))
})
