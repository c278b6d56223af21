import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { allSyncFields } from "@plexsync/domain/FieldMapping"
import { parsePathMap } from "@plexsync/domain/PathMap"
import { PlexClient } from "@plexsync/domain/PlexClient"
import type { ReconcileOptions, ReconcileSettings } from "@plexsync/domain/Reconcile"
import { reconcile, ReconcileScope } from "@plexsync/domain/Reconcile"
import { defaultEngineSettings, makeWorker } from "@plexsync/domain/Worker"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { Effect, Either, Layer, Option, Redacted, TestClock } from "effect"
import * as FakePlex from "../src/FakePlex.js"
import * as FakeStash from "../src/FakeStash.js"
import * as TestStore from "../src/TestStore.js"

/**
 * Reconciliation end to end over real HTTP: the live Stash and Plex clients against the fake servers, a real
 * SQLite store. The fake Plex lists items as Plex does — at most 2 genres and 3 actors per item in a section
 * listing — so this also shows that cut tag lists neither hide a difference that can be seen nor invent one.
 */

const start = Date.UTC(2026, 2, 1, 12)
const hour = 3_600_000

const settings: ReconcileSettings = {
  fields: new Set(allSyncFields),
  preservePlexEdits: false,
  pathMap: Either.getOrThrow(parsePathMap("/stash/videos=>/media/adult")),
  libraries: [],
  strictMatching: true
}

const setup = Effect.gen(function*() {
  let wall = start - 10 * 24 * hour
  const stash = yield* FakeStash.start({ now: () => wall, utcOffsetMinutes: 120 })
  const plex = yield* FakePlex.start({ scanDelayMs: 0 })
  plex.state.addSection({ key: "1", title: "Adult", locations: ["/media/adult"] })

  const s = stash.state
  const studio = s.addStudio({ name: "Harbour Pictures" })
  const tags = ["Outdoor", "Night", "Drama", "Favourite", "4K", "Beach"].map((name) => s.addTag({ name }))
  const performers = ["Alex Doe", "Sam Roe", "Jo Poe", "Kim O'Neil", "Lee Moe"].map((name) => s.addPerformer({ name }))
  const group = s.addGroup({ name: "Coastal Series" })
  for (let n = 1; n <= 12; n++) {
    // Scenes 11 and 12 were added recently; the rest ten days ago.
    if (n === 11) wall = start - 30 * hour
    if (n === 12) wall = start - 2 * hour
    const file = `scene_${String(n).padStart(3, "0")}.mp4`
    s.addScene({
      title: `Scene ${n}`,
      details: n % 3 === 0 ? null : `Scene ${n}, described.`,
      date: n % 4 === 0 ? "2019" : `2021-0${1 + (n % 9)}-1${n % 10}`,
      rating100: n % 5 === 0 ? null : 10 + n * 7,
      studioId: n % 6 === 0 ? null : studio.id,
      // Up to 6 tags and 5 performers: longer than a listing shows.
      tagIds: tags.slice(0, 1 + (n % 6)).map((t) => t.id),
      performerIds: performers.slice(0, n % 6).map((p) => p.id),
      groups: n % 4 === 0 ? [{ groupId: group.id }] : [],
      files: [`/stash/videos/${file}`]
    })
    plex.state.addItem({ ratingKey: String(100 + n), file: `/media/adult/${file}` })
  }
  // An item whose file is no scene's.
  plex.state.addItem({ ratingKey: "999", file: "/media/adult/leftover.mp4" })
  wall = start

  const layer = Layer.mergeAll(
    TestStore.layer({ prefix: "plexsync-reconcile-http-", quickCheck: false }),
    PlexClientLive.layer({ url: plex.url, token: Redacted.make(plex.token), clientIdentifier: "plexsync-test" }),
    Layer.orDie(StashClientLive.layer({ url: stash.url, apiKey: Option.none() }))
  ).pipe(Layer.provide(NodeHttpClient.layer))
  return { stash, plex, layer }
})

const run = (options: Partial<ReconcileOptions> = {}) =>
  reconcile(settings, { scope: ReconcileScope.all, plexPageSize: 5, stashPageSize: 5, ...options })

/** The repair: the sync engine's worker drains the queue. */
const repair = Effect.gen(function*() {
  const worker = yield* makeWorker({ ...defaultEngineSettings, ...settings, scanOnMiss: false })
  const summary = yield* worker.drain()
  assert.strictEqual(summary.deadLettered + summary.retried, 0)
})

const noGaps = { neverSynced: 0, stashChanged: 0, plexDiffers: 0, missingInPlex: 0, orphanedInPlex: 1 }

describe("reconcile over HTTP against the fake Stash and Plex", () => {
  it.scoped("queues a new library from paged listings, and finds nothing after the repair despite cut tag lists", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const { layer, plex, stash } = yield* setup
      return yield* Effect.gen(function*() {
        plex.requests.reset()
        yield* stash.resetRequests
        const first = yield* run()
        assert.deepStrictEqual(first.gaps, { ...noGaps, neverSynced: 12 })
        assert.deepStrictEqual(first.samples.orphanedInPlex, ["999"])
        assert.strictEqual(first.queued, 12)
        // 13 items in pages of 5: 3 listing requests and the sections list; 12 scenes in pages of 5: 3 requests.
        assert.strictEqual(plex.requests.count(), 4)
        // (and, once per client, the probe of which scene fields this Stash has)
        assert.strictEqual(stash.requestCount("ScenesPage"), 3)
        assert.isAtMost(stash.requests.length, 4)
        assert.deepStrictEqual(first.requests, { plex: 4, stash: 3 })

        yield* repair
        // The listing really is cut: scene 5 has 6 genres in Plex now, the listing shows 2.
        const client = yield* PlexClient
        const full = Option.getOrThrow(yield* client.getItem("105"))
        const listed = (yield* client.listSection("1", { start: 0, size: 50 })).items.find((i) => i.ratingKey === "105")
        assert.strictEqual(full.genres.length, 6)
        assert.strictEqual(listed?.genres.length, 2)

        const second = yield* run()
        assert.deepStrictEqual(second.gaps, noGaps)
        assert.strictEqual(second.queued, 0)
      }).pipe(Effect.provide(layer))
    }))

  it.scoped("finds edits in Plex and changes in Stash, respects the queue, and scopes by date added or changed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const { layer, plex, stash } = yield* setup
      return yield* Effect.gen(function*() {
        yield* run()
        yield* repair

        // In Plex: a summary rewritten, a rating cleared, a genre removed from a two-genre item.
        plex.state.updateItem("103", { summary: "Rewritten in Plex" })
        plex.state.updateItem("104", { userRating: null })
        const seven = plex.state.item("107")!
        assert.strictEqual(seven.genres.length, 2)
        plex.state.updateItem("107", { genres: seven.genres.slice(1) })
        // In Stash: a title changed; a scene deleted (its Plex item becomes an orphan).
        stash.state.updateScene("2", { title: "Scene 2, retitled" })
        stash.state.deleteScene("9")

        const found = yield* run()
        assert.deepStrictEqual(found.gaps, {
          neverSynced: 0,
          stashChanged: 1,
          plexDiffers: 3,
          missingInPlex: 0,
          orphanedInPlex: 2
        })
        assert.deepStrictEqual([...found.queuedSceneIds].sort(), ["2", "3", "4", "7"])
        const again = yield* run({ dryRun: true })
        assert.deepStrictEqual(again.skipped, { alreadyQueued: 4 })

        yield* repair
        assert.strictEqual(plex.state.item("103")?.summary, null)
        assert.strictEqual(plex.state.item("102")?.title, "Scene 2, retitled")
        const clean = yield* run()
        assert.deepStrictEqual(clean.gaps, { ...noGaps, orphanedInPlex: 2 })

        // Scope by date added or changed: scene 12 added two hours ago, scene 11 thirty hours ago, the others ten days
        // ago; scene 2 changed above (in sync again, so in scope with no gap); scene 1 differs in Plex, out of scope.
        plex.state.updateItem("111", { title: "Renamed in Plex" })
        plex.state.updateItem("112", { title: "Renamed in Plex" })
        plex.state.updateItem("101", { title: "Renamed in Plex" })
        const day = yield* run({ scope: ReconcileScope.recent("24h", "24 hours"), dryRun: true })
        assert.strictEqual(day.scenesChecked, 2)
        assert.deepStrictEqual([...day.queuedSceneIds], ["12"])
        const week = yield* run({ scope: ReconcileScope.recent("7d", "7 days"), dryRun: true })
        assert.deepStrictEqual([...week.queuedSceneIds].sort(), ["11", "12"])
      }).pipe(Effect.provide(layer))
    }))
})
