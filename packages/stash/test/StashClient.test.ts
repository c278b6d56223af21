import { FetchHttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { StashError } from "@plexsync/domain/Errors"
import type { SceneId } from "@plexsync/domain/Ids"
import { StashClient } from "@plexsync/domain/StashClient"
import * as TargetMetrics from "@plexsync/domain/TargetMetrics"
import type { StashClientOptions } from "@plexsync/stash/StashClientLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { loadRealStashSchema } from "@plexsync/testing/StashSpecs"
import { describeWithSpec, realStashSchema, withLayer } from "@plexsync/testing/TestSuites"
import { Effect, Layer, Option, Redacted } from "effect"
import type { OperationDefinitionNode } from "graphql"
import { getVariableValues, Kind, parse, validate } from "graphql"

/** Asserts the tag and narrows to that error's type. */
const expectTag = <T extends StashError["_tag"]>(error: StashError, tag: T): Extract<StashError, { _tag: T }> => {
  assert.strictEqual(error._tag, tag, error.message)
  return error as Extract<StashError, { _tag: T }>
}

const ids = (...values: Array<string>) => values as Array<SceneId>

/** 2025-05-01T10:00:00+10:00 */
const start = Date.UTC(2025, 4, 1, 0, 0, 0)

const setup = (fakeOptions: FakeStash.FakeStashOptions = {}, clientOptions: Partial<StashClientOptions> = {}) =>
  Effect.gen(function*() {
    const fake = yield* FakeStash.start({ utcOffsetMinutes: 600, now: () => start, ...fakeOptions })
    const client = yield* StashClientLive.make({ url: fake.url, apiKey: Option.none(), ...clientOptions }).pipe(
      Effect.orDie
    )
    return { fake, client }
  })

/** A small library: scene 1 fully populated, scene 2 bare, scene 3 with a partial date. */
const populate = (fake: FakeStash.FakeStash) => {
  const { state } = fake
  const parent = state.addStudio({ name: "Parent Network" })
  const studio = state.addStudio({ name: "Harbour Pictures", parentId: parent.id })
  const alex = state.addPerformer({ name: "Alex Doe", gender: "FEMALE" })
  const sam = state.addPerformer({ name: "Sam Roe" })
  const night = state.addTag({ name: "Night" })
  const drama = state.addTag({ name: "Drama" })
  const series = state.addGroup({ name: "Coastal Series" })
  const full = state.addScene({
    title: "Harbour at \"Dusk\"",
    details: "Two lines.\nOf details.",
    date: "2021-03-04",
    rating100: 80,
    studioId: studio.id,
    performerIds: [alex.id, sam.id],
    tagIds: [night.id, drama.id],
    groups: [{ groupId: series.id, sceneIndex: 2 }],
    files: ["/data/videos/harbour.mp4", "/data/videos/harbour.1080p.mkv"]
  })
  state.advanceClock(1000)
  const bare = state.addScene({ files: ["/data/videos/bare.mp4"], screenshot: null })
  state.advanceClock(1000)
  const yearOnly = state.addScene({ title: "Year only", date: "2019", files: ["/data/videos/year.mp4"] })
  state.advanceClock(1000)
  const monthOnly = state.addScene({ title: "Month only", date: "2020-05", files: ["/data/videos/month.mp4"] })
  return { full, bare, yearOnly, monthOnly, studio, series }
}

/** Tests with Node's HTTP client, as the live client runs. */
const test = withLayer(NodeHttpClient.layer)

describe("StashClientLive against the fake Stash", () => {
  describe("health", () => {
    test.scopedLive("is healthy only when systemStatus is OK", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const ok = yield* client.health
        assert.deepStrictEqual(ok, { version: "v0.30.1", status: "OK", healthy: true })
        fake.state.systemStatus = "NEEDS_MIGRATION"
        fake.state.version = null
        const migrating = yield* client.health
        assert.deepStrictEqual(migrating, { version: "unknown", status: "NEEDS_MIGRATION", healthy: false })
        fake.state.systemStatus = "SETUP"
        assert.isFalse((yield* client.health).healthy)
        assert.strictEqual(fake.requestCount("StashHealth"), 3)
      }))

    test.scopedLive("works through the layer and the StashClient tag", () =>
      Effect.gen(function*() {
        const fake = yield* FakeStash.start()
        const health = yield* Effect.flatMap(StashClient, (client) => client.health).pipe(
          Effect.provide(StashClientLive.layer({ url: `${fake.url}/`, apiKey: Option.none() }).pipe(Layer.orDie))
        )
        assert.isTrue(health.healthy)
      }))

    test.effect("refuses an URL that is not http(s)", () =>
      Effect.gen(function*() {
        const error = yield* StashClientLive.make({ url: "ftp://stash.local", apiKey: Option.none() }).pipe(Effect.flip)
        assert.strictEqual(error._tag, "StashConfigError")
        const bad = yield* StashClientLive.make({ url: "not a url", apiKey: Option.none() }).pipe(Effect.flip)
        assert.strictEqual(bad._tag, "StashConfigError")
        const batch = yield* StashClientLive.make({ url: "http://127.0.0.1:1", apiKey: Option.none(), batchSize: 0 })
          .pipe(Effect.flip)
        assert.strictEqual(batch._tag, "StashConfigError")
      }))
  })

  describe("findScene", () => {
    test.scopedLive("decodes a full scene into the domain model", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { full, studio } = populate(fake)
        const scene = Option.getOrThrow(yield* client.findScene(full.id as SceneId))
        assert.strictEqual(scene.id, full.id)
        assert.strictEqual(scene.title, "Harbour at \"Dusk\"")
        assert.strictEqual(scene.details, "Two lines.\nOf details.")
        assert.strictEqual(scene.date, "2021-03-04")
        assert.strictEqual(scene.rating100, 80)
        assert.deepStrictEqual(scene.studio, { id: studio.id, name: "Harbour Pictures" })
        assert.deepStrictEqual(scene.performers.map((p) => p.name), ["Alex Doe", "Sam Roe"])
        assert.deepStrictEqual(scene.tags.map((t) => t.name), ["Night", "Drama"])
        assert.deepStrictEqual(scene.groups.map((g) => g.name), ["Coastal Series"])
        assert.deepStrictEqual(scene.files.map((file) => file.path), [
          "/data/videos/harbour.mp4",
          "/data/videos/harbour.1080p.mkv"
        ])
        assert.strictEqual(scene.updatedAt, "2025-05-01T10:00:00+10:00")
        assert.strictEqual(scene.createdAt, "2025-05-01T10:00:00+10:00")
        assert.strictEqual(scene.screenshot?.startsWith(`${fake.url}/scene/${full.id}/screenshot?t=`), true)
      }))

    test.scopedLive("keeps partial dates and maps a bare scene to empty lists and nulls", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { bare, monthOnly, yearOnly } = populate(fake)
        const year = Option.getOrThrow(yield* client.findScene(yearOnly.id as SceneId))
        const month = Option.getOrThrow(yield* client.findScene(monthOnly.id as SceneId))
        assert.strictEqual(year.date, "2019")
        assert.strictEqual(month.date, "2020-05")
        const empty = Option.getOrThrow(yield* client.findScene(bare.id as SceneId))
        assert.deepStrictEqual(
          [empty.title, empty.details, empty.date, empty.rating100, empty.studio],
          [null, null, null, null, null]
        )
        assert.deepStrictEqual([empty.performers, empty.tags, empty.groups], [[], [], []])
        assert.strictEqual(empty.updatedAt, "2025-05-01T10:00:01+10:00")
      }))

    test.scopedLive("answers none for a scene that does not exist", () =>
      Effect.gen(function*() {
        const { client } = yield* setup()
        assert.isTrue(Option.isNone(yield* client.findScene("999" as SceneId)))
      }))

    test.scopedLive("reads collections from `movies` on a Stash older than v0.27, asking the schema only once", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup({ schemaVersion: "legacy" })
        const { full } = populate(fake)
        const scene = Option.getOrThrow(yield* client.findScene(full.id as SceneId))
        assert.deepStrictEqual(scene.groups.map((g) => g.name), ["Coastal Series"])
        const again = yield* client.findScenes(ids(full.id))
        assert.deepStrictEqual(again.map((s) => s.groups.map((g) => g.name)), [["Coastal Series"]])
        assert.strictEqual(fake.requestCount("StashSceneFields"), 1)
        assert.isTrue(fake.requests.every((request) => request.status === 200))
      }))

    test.scopedLive("re-detects the schema after Stash is replaced by an older version on the same port", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { full } = populate(fake)
        assert.isTrue(Option.isSome(yield* client.findScene(full.id as SceneId)))
        yield* fake.stopListening
        const old = yield* FakeStash.start({ port: fake.port, schemaVersion: "legacy" })
        const series = old.state.addGroup({ name: "Old Series" })
        old.state.addScene({ id: full.id, groups: [{ groupId: series.id }] })
        const rejected = yield* client.findScene(full.id as SceneId).pipe(Effect.flip)
        assert.strictEqual(rejected._tag, "StashQueryError")
        assert.strictEqual(rejected.status, 422)
        assert.include(rejected.message, "groups")
        const scene = Option.getOrThrow(yield* client.findScene(full.id as SceneId))
        assert.deepStrictEqual(scene.groups.map((g) => g.name), ["Old Series"])
      }))
  })

  describe("findScenes", () => {
    test.scopedLive("fetches many scenes in one request, in the order asked, without duplicates", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { full, monthOnly, yearOnly } = populate(fake)
        yield* client.findScene(full.id as SceneId) // schema detection happens here
        yield* fake.resetRequests
        const scenes = yield* client.findScenes(ids(monthOnly.id, full.id, yearOnly.id, full.id))
        assert.deepStrictEqual(scenes.map((s) => s.id), [monthOnly.id, full.id, yearOnly.id])
        assert.deepStrictEqual(fake.requests.map((r) => r.operationName), ["ScenesByIds"])
      }))

    test.scopedLive("sends nothing for an empty list (Stash would answer every scene)", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        populate(fake)
        assert.deepStrictEqual(yield* client.findScenes([]), [])
        assert.strictEqual(fake.requestCount(), 0)
      }))

    test.scopedLive("falls back when Stash rejects the batch for a missing id, and returns the rest", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { bare, full, yearOnly } = populate(fake)
        fake.state.deleteScene(bare.id)
        const scenes = yield* client.findScenes(ids(full.id, bare.id, yearOnly.id, "42"))
        assert.deepStrictEqual(scenes.map((s) => s.id), [full.id, yearOnly.id])
        const rejected = fake.requests.filter((r) => r.operationName === "ScenesByIds")
        assert.deepStrictEqual(rejected.map((r) => r.variables.ids), [
          [full.id, bare.id, yearOnly.id, "42"],
          [full.id, yearOnly.id]
        ])
        assert.strictEqual(fake.requestCount("SceneIdsInRange"), 1)
        assert.strictEqual(fake.requestCount("SceneById"), 0)
      }))

    test.scopedLive("falls back to one lookup per id when scenes keep vanishing between requests", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { full, monthOnly, yearOnly } = populate(fake)
        yield* client.findScene(full.id as SceneId)
        fake.state.deleteScene(yearOnly.id)
        // Stash loses a second scene after it said which exist, so the retried batch fails too.
        fake.server.beforeExecute = (operation) => {
          if (operation === "SceneIdsInRange") {
            fake.server.beforeExecute = null
            queueMicrotask(() => fake.state.deleteScene(monthOnly.id))
          }
        }
        const scenes = yield* client.findScenes(ids(full.id, yearOnly.id, monthOnly.id))
        assert.deepStrictEqual(scenes.map((s) => s.id), [full.id])
        assert.strictEqual(fake.requestCount("ScenesByIds"), 2)
        assert.strictEqual(fake.requestCount("SceneById"), 1 + 2)
      }))

    test.scopedLive("splits large requests into batches", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup({}, { batchSize: 2 })
        const scenes = Array.from({ length: 5 }, (_, i) => fake.state.addScene({ title: `Scene ${i}` }))
        const found = yield* client.findScenes(scenes.map((s) => s.id as SceneId))
        assert.deepStrictEqual(found.map((s) => s.title), scenes.map((s) => s.title))
        assert.strictEqual(fake.requestCount("ScenesByIds"), 3)
      }))
  })

  describe("existingSceneIds", () => {
    test.scopedLive("answers which ids exist, batched, selecting only ids", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup({}, { batchSize: 3 })
        for (const id of ["1", "2", "3", "5", "8", "13", "5000", "99999"]) fake.state.addScene({ id })
        const asked = ids("1", "4", "5", "8", "13", "21", "5000", "99999", "100000", "1")
        const existing = yield* client.existingSceneIds(asked)
        assert.deepStrictEqual([...existing].sort((a, b) => Number(a) - Number(b)), [
          "1",
          "5",
          "8",
          "13",
          "5000",
          "99999"
        ])
        const requests = fake.requests.filter((r) => r.operationName === "SceneIdsInRange")
        // batches of at most 3 ids, and sparse ids are never fetched as one huge range
        assert.deepStrictEqual(requests.map((r) => r.variables), [
          { low: 1, high: 5 },
          { low: 8, high: 13 },
          { low: 21, high: 21 },
          { low: 5000, high: 5000 },
          { low: 99999, high: 100000 }
        ])
        assert.isTrue(requests.every((r) => /scenes\s*{\s*id\s*}/.test(r.query ?? "")))
      }))

    test.scopedLive("checks ids beyond GraphQL's 32-bit Int one by one", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        fake.state.addScene({ id: "7" })
        const existing = yield* client.existingSceneIds(ids("7", "3000000000"))
        assert.deepStrictEqual([...existing], ["7"])
        assert.strictEqual(fake.requestCount("SceneExists"), 1)
      }))

    test.scopedLive("sends nothing for an empty list", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        assert.strictEqual((yield* client.existingSceneIds([])).size, 0)
        assert.strictEqual(fake.requestCount(), 0)
      }))
  })

  describe("scenesUpdatedSince", () => {
    test.scopedLive("pages the change feed by updated_at, using Stash's own string as the watermark", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { bare, full, monthOnly, yearOnly } = populate(fake)
        fake.state.advanceClock(60_000)
        fake.state.updateScene(full.id, { title: "Edited" }) // now the newest
        const all = yield* client.scenesUpdatedSince({ since: null, page: 1, perPage: 10 })
        assert.strictEqual(all.count, 4)
        assert.deepStrictEqual(all.items.map((s) => s.id), [bare.id, yearOnly.id, monthOnly.id, full.id])
        assert.deepStrictEqual(all.items.map((s) => s.updatedAt), [
          "2025-05-01T10:00:01+10:00",
          "2025-05-01T10:00:02+10:00",
          "2025-05-01T10:00:03+10:00",
          "2025-05-01T10:01:03+10:00"
        ])
        const first = yield* client.scenesUpdatedSince({ since: null, page: 1, perPage: 2 })
        const second = yield* client.scenesUpdatedSince({ since: null, page: 2, perPage: 2 })
        assert.deepStrictEqual([...first.items, ...second.items], all.items)
        assert.strictEqual(second.count, 4)

        const watermark = all.items[1]!.updatedAt
        const since = yield* client.scenesUpdatedSince({ since: watermark, page: 1, perPage: 10 })
        assert.deepStrictEqual(since.items.map((s) => s.id), [monthOnly.id, full.id])
        assert.strictEqual(since.count, 2)
        const none = yield* client.scenesUpdatedSince({ since: all.items[3]!.updatedAt, page: 1, perPage: 10 })
        assert.deepStrictEqual(none, { items: [], count: 0 })
      }))

    test.scopedLive("in id order after an id (keyset), with or without a watermark", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { bare, full, monthOnly, yearOnly } = populate(fake)
        const all = yield* client.scenesUpdatedSince({ since: null, page: 1, perPage: 10 })
        const first = yield* client.scenesUpdatedSinceById({ since: null, afterId: null, perPage: 2 })
        assert.deepStrictEqual(first.items.map((s) => s.id), [full.id, bare.id])
        const rest = yield* client.scenesUpdatedSinceById({ since: null, afterId: bare.id as SceneId, perPage: 5 })
        assert.deepStrictEqual(rest.items.map((s) => s.id), [yearOnly.id, monthOnly.id])
        const since = all.items[1]!.updatedAt
        const later = yield* client.scenesUpdatedSinceById({ since, afterId: full.id as SceneId, perPage: 5 })
        const newer = all.items.slice(2).map((s) => s.id).sort((a, b) => Number(a) - Number(b))
        assert.deepStrictEqual(later.items.map((s) => s.id), newer)
      }))

    test.scopedLive("compares watermarks as strings, as Stash does", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup({ utcOffsetMinutes: 0 })
        const early = fake.state.addScene({ title: "early" })
        fake.state.advanceClock(3600_000)
        const late = fake.state.addScene({ title: "late" })
        assert.strictEqual(late.updatedAt, "2025-05-01T01:00:00Z")
        // A watermark with a space sorts below every stored value of that day: it means "the whole day".
        const spaced = yield* client.scenesUpdatedSince({ since: "2025-05-01 05:00:00", page: 1, perPage: 10 })
        assert.deepStrictEqual(spaced.items.map((s) => s.id), [early.id, late.id])
        const exact = yield* client.scenesUpdatedSince({ since: early.updatedAt, page: 1, perPage: 10 })
        assert.deepStrictEqual(exact.items.map((s) => s.id), [late.id])
      }))
  })

  describe("listScenes", () => {
    test.scopedLive("pages full scenes by id, optionally only those created after a time", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { bare, full, monthOnly, yearOnly } = populate(fake)
        const first = yield* client.listScenes({ page: 1, perPage: 3 })
        const second = yield* client.listScenes({ page: 2, perPage: 3 })
        assert.deepStrictEqual(first.items.map((s) => s.id), [full.id, bare.id, yearOnly.id])
        assert.deepStrictEqual(second.items.map((s) => s.id), [monthOnly.id])
        assert.strictEqual(first.count, 4)
        assert.deepStrictEqual(first.items[0]!.tags.map((t) => t.name), ["Night", "Drama"])
        const recent = yield* client.listScenes({ page: 1, perPage: 10, changedSince: bare.createdAt })
        assert.deepStrictEqual(recent.items.map((s) => s.id), [yearOnly.id, monthOnly.id])
        assert.strictEqual(recent.count, 2)
      }))
  })

  describe("screenshot", () => {
    test.scopedLive("downloads the cover image bytes with the API key", () =>
      Effect.gen(function*() {
        const key = "k3y-for-screenshots"
        const { client, fake } = yield* setup({ apiKey: key }, { apiKey: Option.some(Redacted.make(key)) })
        const { bare, full } = populate(fake)
        const scene = Option.getOrThrow(yield* client.findScene(full.id as SceneId))
        const image = Option.getOrThrow(yield* client.screenshot(scene))
        assert.strictEqual(image.contentType, "image/png")
        assert.deepStrictEqual(Array.from(image.bytes), Array.from(fake.state.scene(full.id)!.screenshot!.bytes))
        const shot = fake.requests.find((r) => r.path.endsWith("/screenshot"))
        assert.strictEqual(shot?.auth, "valid")

        // No screenshot in Stash: 404, which means "no image", not an error.
        const noImage = Option.getOrThrow(yield* client.findScene(bare.id as SceneId))
        assert.isTrue(Option.isNone(yield* client.screenshot(noImage)))
      }))

    test.scopedLive("fetches through the configured URL when Stash names another origin", () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        const { full } = populate(fake)
        const scene = Option.getOrThrow(yield* client.findScene(full.id as SceneId))
        const elsewhere = { ...scene, screenshot: `http://stash.example.invalid/scene/${full.id}/screenshot?t=1` }
        const image = yield* client.screenshot(elsewhere as typeof scene)
        assert.isTrue(Option.isSome(image))
        const noUrl = yield* client.screenshot({ ...scene, screenshot: null } as typeof scene)
        assert.isTrue(Option.isNone(noUrl))
      }))
  })
})

describe("StashClientLive faults", () => {
  test.scopedLive("an answer or image over its size cap is a typed StashQueryError, its length declared or not", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({}, { maxJsonBytes: 1024 * 1024, maxImageBytes: 256 * 1024 })
      const { full } = populate(fake)
      const scene = Option.getOrThrow(yield* client.findScene(full.id as SceneId))
      for (const declareLength of [true, false]) {
        fake.faults.hugeBody = { bytes: 64 * 1024 * 1024, declareLength }
        const json = expectTag(yield* Effect.flip(client.findScene(full.id as SceneId)), "StashQueryError")
        assert.include(json.message, "more than 1 MiB")
        fake.faults.hugeBody = { bytes: 1024 * 1024, declareLength }
        const image = expectTag(yield* Effect.flip(client.screenshot(scene)), "StashQueryError")
        assert.include(image.message, "more than 256 KiB")
      }
      fake.faults.clear()
      assert.isTrue(Option.isSome(yield* client.screenshot(scene)))
    }))

  test.scopedLive("counts each request to Stash, and a failed one by its error tag (plexsync_target_*_total)", () =>
    Effect.gen(function*() {
      const count = TargetMetrics.countsOf("stash", "StashUnavailable")
      const { client, fake } = yield* setup()
      const before = yield* count
      yield* client.health
      yield* fake.stopListening
      yield* Effect.flip(client.health)
      const after = yield* count
      assert.strictEqual(after.requests - before.requests, 2)
      assert.strictEqual(after.errors - before.errors, 1)
      yield* fake.resumeListening
    }))

  test.scopedLive("connection refused → StashUnavailable with ECONNREFUSED; works again after a restart", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      assert.isTrue((yield* client.health).healthy)
      yield* fake.stopListening
      const error = expectTag(yield* client.health.pipe(Effect.flip), "StashUnavailable")
      assert.strictEqual(error.code, "ECONNREFUSED")
      assert.isUndefined(error.status)
      assert.include(error.message, fake.url)
      yield* fake.resumeListening
      assert.isTrue((yield* client.health).healthy)
    }))

  for (
    const [name, layer] of [
      ["undici", NodeHttpClient.layerUndici],
      ["fetch", FetchHttpClient.layer]
    ] as const
  ) {
    it.scopedLive(`connection refused is classified the same through the ${name} client`, () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        assert.isTrue((yield* client.health).healthy) // leaves a pooled keep-alive connection behind
        yield* fake.stopListening
        const error = expectTag(yield* client.findScene("1" as SceneId).pipe(Effect.flip), "StashUnavailable")
        assert.strictEqual(error.code, "ECONNREFUSED")
      }).pipe(Effect.provide(layer)))
  }

  for (const status of [500, 502, 503]) {
    test.scopedLive(`HTTP ${status} → StashUnavailable with the status`, () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup()
        fake.faults.status = status
        const error = yield* client.findScenes(ids("1", "2")).pipe(Effect.flip)
        assert.strictEqual(error._tag, "StashUnavailable")
        assert.strictEqual(error.status, status)
        fake.faults.clear()
        assert.isTrue((yield* client.health).healthy)
      }))
  }

  test.scopedLive("a stall past the timeout → StashUnavailable (ETIMEDOUT); latency within it is fine", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({}, { timeoutMs: 250 })
      fake.faults.stall = true
      const error = expectTag(yield* client.health.pipe(Effect.flip), "StashUnavailable")
      assert.strictEqual(error.code, "ETIMEDOUT")
      assert.include(error.message, "250 ms")
      fake.faults.clear()
      fake.faults.latencyMs = 50
      assert.isTrue((yield* client.health).healthy)
    }))

  test.scopedLive("a connection reset mid-body → StashUnavailable", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      populate(fake)
      fake.faults.resetMidBody = true
      const error = yield* client.listScenes({ page: 1, perPage: 10 }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StashUnavailable")
    }))

  test.scopedLive("401 → StashAuthError: wrong key, missing key, and a key sent to a Stash without one", () =>
    Effect.gen(function*() {
      const wrong = yield* setup({ apiKey: "right" }, { apiKey: Option.some(Redacted.make("wrong")) })
      const e1 = yield* wrong.client.health.pipe(Effect.flip)
      assert.strictEqual(e1._tag, "StashAuthError")
      assert.strictEqual(e1.status, 401)
      assert.include(e1.message, "rejected the configured API key")

      const missing = yield* setup({ apiKey: "right" })
      const e2 = yield* missing.client.health.pipe(Effect.flip)
      assert.strictEqual(e2._tag, "StashAuthError")
      assert.include(e2.message, "requires an API key")

      const unexpected = yield* setup({}, { apiKey: Option.some(Redacted.make("stray")) })
      const e3 = yield* unexpected.client.health.pipe(Effect.flip)
      assert.strictEqual(e3._tag, "StashAuthError")

      const right = yield* setup({ apiKey: "right" }, { apiKey: Option.some(Redacted.make("right")) })
      assert.isTrue((yield* right.client.health).healthy)
      right.fake.faults.unauthorized = true
      assert.strictEqual((yield* right.client.health.pipe(Effect.flip))._tag, "StashAuthError")
    }))

  test.scopedLive("GraphQL errors → StashQueryError carrying Stash's message", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      fake.faults.resolverError = "database is locked"
      const error = yield* client.scenesUpdatedSince({ since: null, page: 1, perPage: 5 }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StashQueryError")
      assert.strictEqual(error.status, 200)
      assert.include(error.message, "database is locked")
      const single = yield* client.health.pipe(Effect.flip)
      assert.strictEqual(single._tag, "StashQueryError")
    }))

  test.scopedLive("an URL that is not Stash (404) → StashQueryError saying to check the URL", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start()
      const client = yield* StashClientLive.make({ url: `${fake.url}/not-stash`, apiKey: Option.none() }).pipe(
        Effect.orDie
      )
      const error = yield* client.health.pipe(Effect.flip)
      assert.strictEqual(error._tag, "StashQueryError")
      assert.strictEqual(error.status, 404)
      assert.include(error.message, "URL")
    }))
})

describeWithSpec("what the client puts on the wire", realStashSchema("the requests the Stash client sends"), () => {
  test.scopedLive(
    "every request (document and variables) of every operation is valid against Stash's real schema",
    () =>
      Effect.gen(function*() {
        const schema = loadRealStashSchema()
        const { client, fake } = yield* setup({}, { batchSize: 2 })
        const { bare, full } = populate(fake)
        const scene = Option.getOrThrow(yield* client.findScene(full.id as SceneId))
        yield* client.health
        yield* client.findScenes(ids(full.id, bare.id, "404"))
        yield* client.existingSceneIds(ids(full.id, "9", "3000000000"))
        yield* client.scenesUpdatedSince({ since: null, page: 1, perPage: 2 })
        yield* client.scenesUpdatedSince({ since: scene.updatedAt, page: 2, perPage: 2 })
        yield* client.listScenes({ page: 1, perPage: 2 })
        yield* client.listScenes({ page: 1, perPage: 2, changedSince: scene.createdAt })
        yield* client.screenshot(scene)

        const graphqlRequests = fake.requests.filter((request) => request.path === "/graphql")
        const operations = new Set(graphqlRequests.map((request) => request.operationName))
        assert.deepStrictEqual([...operations].sort(), [
          "SceneById",
          "SceneExists",
          "SceneIdsInRange",
          "ScenesByIds",
          "ScenesChangedSince",
          "ScenesPage",
          "ScenesUpdatedAll",
          "ScenesUpdatedSince",
          "StashHealth",
          "StashSceneFields"
        ])
        for (const request of graphqlRequests) {
          const document = parse(request.query ?? "")
          assert.deepStrictEqual(validate(schema, document).map((e) => e.message), [], request.operationName ?? "")
          const operation = document.definitions.find((d): d is OperationDefinitionNode =>
            d.kind === Kind.OPERATION_DEFINITION && d.name?.value === request.operationName
          )
          assert.isDefined(operation, `${request.operationName} names its operation`)
          const coerced = getVariableValues(schema, operation?.variableDefinitions ?? [], request.variables)
          assert.deepStrictEqual(coerced.errors?.map((e) => e.message) ?? [], [], request.operationName ?? "")
        }
      })
  )
})
