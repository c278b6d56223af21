import { assert, describe, it } from "@effect/vitest"
import { PlexClient } from "@plexsync/domain/PlexClient"
import { Effect, Exit, Fiber, Option, TestClock } from "effect"
import { layer, sampleItem, sampleSection, SimPlex } from "../src/SimPlex.js"

const item101 = sampleItem(101, "/data/a/one.mp4", { genres: ["Manual"], title: "one" })

const current = (ratingKey: string) =>
  Effect.flatMap(SimPlex, (sim) => sim.item(ratingKey)).pipe(Effect.map(Option.getOrThrow))

describe("SimPlex", () => {
  it.effect("edits as Plex does: scalars set or clear, tag lists replaced, removals applied, sent fields locked", () =>
    Effect.gen(function*() {
      const plex = yield* PlexClient
      yield* plex.edit(item101, {
        scalars: { title: "One", summary: "About one", studio: null },
        tags: { genre: { set: ["Drama", "Manual"], remove: [] }, actor: { set: ["Ann", "Bo"], remove: [] } },
        lock: true
      })
      let item = yield* current("101")
      assert.deepStrictEqual(
        [item.title, item.summary, item.studio, item.genres, item.actors],
        ["One", "About one", null, ["Drama", "Manual"], ["Ann", "Bo"]]
      )
      assert.deepStrictEqual([...item.lockedFields].sort(), ["actor", "genre", "studio", "summary", "title"])

      // A new complete list replaces the old; a removal with no names sent clears names from the list.
      yield* plex.edit(item, {
        scalars: {},
        tags: { genre: { set: ["Comedy"], remove: ["Drama"] }, actor: { set: [], remove: ["Ann"] } },
        lock: false
      })
      item = yield* current("101")
      assert.deepStrictEqual([item.genres, item.actors], [["Comedy"], ["Bo"]])
      // An unlocked edit leaves the locks as they were.
      assert.deepStrictEqual([...item.lockedFields].sort(), ["actor", "genre", "studio", "summary", "title"])
      assert.strictEqual(yield* Effect.flatMap(SimPlex, (sim) => sim.requests("edit")), 2)
      // An edit with nothing in it sends no request, as the client does.
      yield* plex.edit(item, { scalars: {}, tags: { genre: { set: [" "], remove: [] } }, lock: false })
      assert.strictEqual(yield* Effect.flatMap(SimPlex, (sim) => sim.requests("edit")), 2)
      assert.deepStrictEqual((yield* current("101")).genres, ["Comedy"])
    }).pipe(Effect.provide(layer({ items: [item101] }))))

  it.effect("an agent refresh overwrites only unlocked fields", () =>
    Effect.gen(function*() {
      const plex = yield* PlexClient
      const sim = yield* SimPlex
      yield* plex.edit(item101, { scalars: { title: "Locked title" }, tags: {}, lock: true })
      yield* sim.refreshFromAgent("101", { title: "Agent title", summary: "Agent summary", genre: ["Agent"] })
      const item = yield* current("101")
      assert.deepStrictEqual([item.title, item.summary, item.genres], ["Locked title", "Agent summary", ["Agent"]])
    }).pipe(Effect.provide(layer({ items: [item101] }))))

  it.effect("keeps ratings and posters, and refuses a rating outside 0–10", () =>
    Effect.gen(function*() {
      const plex = yield* PlexClient
      const sim = yield* SimPlex
      yield* plex.rate("101", 8.5)
      assert.strictEqual((yield* current("101")).userRating, 8.5)
      yield* plex.rate("101", null)
      assert.isNull((yield* current("101")).userRating)
      const bad = yield* Effect.either(plex.rate("101", 11))
      assert.isTrue(bad._tag === "Left" && bad.left._tag === "PlexPermanentError" && bad.left.status === 400)

      yield* TestClock.adjust("10 seconds")
      const bytes = new Uint8Array([1, 2, 3])
      yield* plex.uploadPoster("101", { bytes, contentType: "image/jpeg" })
      const poster = Option.getOrThrow(yield* sim.poster("101"))
      assert.deepStrictEqual([poster.bytes, poster.contentType, poster.uploadedAt], [bytes, "image/jpeg", 10_000])
      const item = yield* current("101")
      assert.isNotNull(item.thumb)
      assert.include(item.lockedFields, "thumb")
      assert.strictEqual(yield* sim.posterUploads("101"), 1)

      const missing = yield* Effect.either(plex.rate("999", 5))
      assert.isTrue(
        missing._tag === "Left" && missing.left._tag === "PlexPermanentError" && missing.left.status === 404
      )
    }).pipe(Effect.provide(layer({ items: [item101] }))))

  it.effect("finds items by exact file and lists a section in pages", () =>
    Effect.gen(function*() {
      const plex = yield* PlexClient
      const found = yield* plex.findByFile("1", "/data/a/3.mp4")
      assert.deepStrictEqual(found.map((i) => i.ratingKey), ["3"])
      assert.deepStrictEqual(yield* plex.findByFile("1", "/data/a/3.mp"), [])
      const page = yield* plex.listSection("1", { start: 10, size: 5 })
      assert.deepStrictEqual([page.items.map((i) => i.ratingKey), page.totalSize], [["11", "12"], 12])
      assert.deepStrictEqual(yield* plex.getItem("404"), Option.none())
      const health = yield* plex.health
      assert.strictEqual(health.sections, 2)
      const noSection = yield* Effect.either(plex.listSection("9", { start: 0, size: 5 }))
      assert.isTrue(noSection._tag === "Left" && noSection.left._tag === "PlexPermanentError")
    }).pipe(Effect.provide(layer({
      sections: [sampleSection("1"), sampleSection("2", { title: "Other", locations: ["/other"] })],
      items: Array.from({ length: 12 }, (_, i) => sampleItem(i + 1, `/data/a/${i + 1}.mp4`))
    }))))

  it.effect("items appear at a time, or some time after a scan of their folder", () =>
    Effect.gen(function*() {
      const plex = yield* PlexClient
      const sim = yield* SimPlex
      yield* sim.addItem(sampleItem(201, "/data/new/late.mp4"), { visibleAt: 60_000 })
      yield* sim.addItemOnScan(sampleItem(202, "/data/new/scanned.mp4"), { delayMs: 30_000 })
      assert.deepStrictEqual(yield* plex.findByFile("1", "/data/new/late.mp4"), [])
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* plex.findByFile("1", "/data/new/late.mp4")).length, 1)
      // Time alone does not bring in an unscanned file.
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* plex.findByFile("1", "/data/new/scanned.mp4"), [])
      yield* plex.scan("1", "/data/other")
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* plex.findByFile("1", "/data/new/scanned.mp4"), [])
      yield* plex.scan("1", "/data/new")
      yield* TestClock.adjust("29 seconds")
      assert.deepStrictEqual(yield* plex.findByFile("1", "/data/new/scanned.mp4"), [])
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* plex.findByFile("1", "/data/new/scanned.mp4")).length, 1)
      assert.deepStrictEqual((yield* sim.scans).map((s) => s.folder), ["/data/other", "/data/new"])
    }).pipe(Effect.provide(layer())))

  it.effect("is down between two instants, answers 401 after N calls, and takes its latency on the TestClock", () =>
    Effect.gen(function*() {
      const plex = yield* PlexClient
      const sim = yield* SimPlex
      yield* sim.downBetween(0, 5_000)
      const down = yield* Effect.either(plex.health)
      assert.isTrue(down._tag === "Left" && down.left._tag === "PlexServerDown" && down.left.code === "ECONNREFUSED")
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* plex.health).machineIdentifier, "sim-plex-0001")

      yield* sim.setLatency("300 millis")
      const slow = yield* Effect.fork(plex.sections)
      yield* TestClock.adjust("299 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(slow)))
      yield* TestClock.adjust("1 millis")
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(slow)))
      yield* sim.setLatency(0)

      yield* sim.authFailAfter(1)
      yield* plex.getItem("101")
      const unauthorized = yield* Effect.either(plex.getItem("101"))
      assert.isTrue(unauthorized._tag === "Left" && unauthorized.left._tag === "PlexAuthError")
      assert.deepStrictEqual(yield* sim.requestCounts, { health: 2, sections: 1, getItem: 2 })
    }).pipe(Effect.provide(layer({ items: [item101] }))))
})
