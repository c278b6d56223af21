import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { PlexClientService, PlexEdit } from "@plexsync/domain/PlexClient"
import { blankPlexItem } from "@plexsync/domain/PlexClient"
import * as TargetMetrics from "@plexsync/domain/TargetMetrics"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as FakePlex from "@plexsync/testing/FakePlex"
import { withLayer } from "@plexsync/testing/TestSuites"
import { Effect, Option, Redacted, TestClock } from "effect"
import { createHash } from "node:crypto"

const section = "1"
const root = "/data/adult"

const setup = (options: FakePlex.FakePlexOptions & { readonly timeoutMs?: number } = {}) =>
  Effect.gen(function*() {
    const fake = yield* FakePlex.start(options)
    fake.state.addSection({ key: section, title: "Adult", locations: [root] })
    const client = yield* PlexClientLive.make({
      url: fake.url,
      token: Redacted.make(fake.token),
      clientIdentifier: "plexsync-test-client",
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
    })
    return { fake, client }
  })

/** Tests with Node's HTTP client, as the live client runs. */
const test = withLayer(NodeHttpClient.layer)

/**
 * The titles of the section, read `size` at a time until a page ends it (or after `maxPages` pages); asserts of
 * every page that it reports `total` items and holds at most `size`.
 */
const pageTitles = (
  client: PlexClientService,
  options: { readonly size: number; readonly total: number; readonly maxPages?: number }
) =>
  Effect.gen(function*() {
    const seen: Array<string> = []
    let start = 0
    for (let pages = 0; pages < (options.maxPages ?? Infinity); pages++) {
      const page = yield* client.listSection(section, { start, size: options.size })
      assert.strictEqual(page.totalSize, options.total)
      assert.isAtMost(page.items.length, options.size)
      seen.push(...page.items.map((item) => item.title))
      start += page.items.length
      if (page.items.length === 0 || start >= page.totalSize) break
    }
    return seen
  })

const noLock: PlexEdit = { scalars: {}, tags: {}, lock: false }

describe("PlexClientLive against the fake Plex", () => {
  test.scoped("sends JSON Accept, the token and the client headers on every request", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      yield* client.sections
      const [request] = fake.requests.log()
      assert.strictEqual(request?.path, "/library/sections")
      assert.deepStrictEqual(request?.headers, {
        accept: "application/json",
        "x-plex-token": "<redacted>",
        "x-plex-client-identifier": "plexsync-test-client",
        "x-plex-product": "plexsync",
        "x-plex-version": PlexClientLive.productVersion
      })
    }))

  test.scoped("health lists sections with the token and reads the server identity", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ machineIdentifier: "abc123", version: "1.42.2.10156" })
      fake.state.addSection({ key: "2", title: "Clips", locations: ["/data/clips"] })
      const health = yield* client.health
      assert.deepStrictEqual(health, { version: "1.42.2.10156", machineIdentifier: "abc123", sections: 2 })
      assert.deepStrictEqual(fake.requests.log().map((r) => r.path), ["/library/sections", "/identity"])
    }))

  test.scoped("health fails with PlexAuthError on a wrong token although /identity needs none", () =>
    Effect.gen(function*() {
      const fake = yield* FakePlex.start()
      const client = yield* PlexClientLive.make({
        url: fake.url,
        token: Redacted.make("wrong"),
        clientIdentifier: "x"
      })
      const error = yield* Effect.flip(client.health)
      assert.strictEqual(error._tag, "PlexAuthError")
      assert.strictEqual(error.status, 401)
    }))

  test.scoped("sections come with their locations", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      fake.state.addSection({ key: "7", title: "Two roots", locations: ["/mnt/a", "/mnt/b"] })
      const sections = yield* client.sections
      assert.deepStrictEqual(
        sections.map((s) => [s.key, s.title, s.type, s.locations]),
        [["1", "Adult", "movie", [root]], ["7", "Two roots", "movie", ["/mnt/a", "/mnt/b"]]]
      )
    }))

  test.scoped("findByFile keeps only exact Part.file matches among Plex's folder-level candidates", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const wanted = fake.state.addItem({ file: `${root}/Studio/scene.mp4`, title: "Scene" })
      fake.state.addItem({ file: `${root}/Studio/scene.mp4.part2.mp4`, title: "Neighbour" })
      fake.state.addItem({ file: `${root}/Studio/Scene.mp4`, title: "Other case" })
      const found = yield* client.findByFile(section, `${root}/Studio/scene.mp4`)
      assert.deepStrictEqual(found.map((item) => item.ratingKey), [wanted.ratingKey])
      assert.deepStrictEqual(found[0]?.files, [`${root}/Studio/scene.mp4`])
      assert.strictEqual(found[0]?.sectionKey, section)
      assert.deepStrictEqual(yield* client.findByFile(section, `${root}/Studio/missing.mp4`), [])
    }))

  test.scoped("findByFile survives paths with characters that need encoding", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const paths = [
        `${root}/A & B/it's 100% #1 + more, really?.mp4`,
        `${root}/Ünïcødé/日本語 ファイル.mkv`,
        `${root}/semi;colon/equals=sign [x].mp4`
      ]
      for (const path of paths) fake.state.addItem({ file: path })
      for (const path of paths) {
        const found = yield* client.findByFile(section, path)
        assert.deepStrictEqual(found.map((item) => item.files[0]), [path])
      }
    }))

  test.scoped("getItem returns tags and locked fields; an unknown ratingKey is none", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({
        file: `${root}/x.mp4`,
        title: "X",
        summary: "About x",
        studio: "Studio",
        originallyAvailableAt: "2024-05-06",
        userRating: 8,
        genres: ["g1", "g2", "g3"],
        actors: ["a1", "a2", "a3", "a4"],
        collections: ["Studio"],
        lockedFields: ["title", "genre"]
      })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      assert.strictEqual(item.ratingKey, added.ratingKey)
      assert.strictEqual(item.sectionKey, section)
      assert.strictEqual(item.title, "X")
      assert.strictEqual(item.summary, "About x")
      assert.strictEqual(item.studio, "Studio")
      assert.strictEqual(item.originallyAvailableAt, "2024-05-06")
      assert.strictEqual(item.userRating, 8)
      assert.deepStrictEqual(item.genres, ["g1", "g2", "g3"])
      assert.deepStrictEqual(item.actors, ["a1", "a2", "a3", "a4"])
      assert.deepStrictEqual(item.collections, ["Studio"])
      assert.deepStrictEqual(item.files, [`${root}/x.mp4`])
      assert.deepStrictEqual(item.lockedFields, ["title", "genre"])
      assert.isTrue(Option.isNone(yield* client.getItem("999999")))
    }))

  test.scoped("an item without a summary, rating or tags decodes with nulls and empty lists", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/bare.mp4` })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      assert.strictEqual(item.title, "bare")
      assert.isNull(item.summary)
      assert.isNull(item.studio)
      assert.isNull(item.userRating)
      assert.isNull(item.thumb)
      assert.deepStrictEqual([item.genres, item.actors, item.collections, item.lockedFields], [[], [], [], []])
    }))

  test.scoped("listSection pages through a whole section with X-Plex-Container-Start/Size", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      for (let i = 0; i < 5; i++) fake.state.addItem({ file: `${root}/f${i}.mp4`, title: `T${i}` })
      const seen = yield* pageTitles(client, { size: 2, total: 5 })
      assert.deepStrictEqual(seen, ["T0", "T1", "T2", "T3", "T4"])
    }))

  for (
    const [name, options] of [
      ["caps the page size", { pageSizeCap: 2 }],
      ["ignores paging", { ignorePaging: true }]
    ] as const
  ) {
    test.scoped(`listSection and findByFile still see every item when the server ${name}`, () =>
      Effect.gen(function*() {
        const { client, fake } = yield* setup(options)
        for (let i = 0; i < 7; i++) fake.state.addItem({ file: `${root}/same folder/f${i}.mp4`, title: `T${i}` })
        const seen = yield* pageTitles(client, { size: 3, total: 7, maxPages: 20 })
        assert.deepStrictEqual(seen, ["T0", "T1", "T2", "T3", "T4", "T5", "T6"])
        const found = yield* client.findByFile(section, `${root}/same folder/f6.mp4`)
        assert.deepStrictEqual(found.map((item) => item.title), ["T6"])
      }))
  }

  test.scoped("edit writes scalars and whole tag lists with locks in exactly one request", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/e.mp4`, genres: ["Old"], actors: ["Old Actor"] })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      fake.ledger.clear()
      yield* client.edit(item, {
        scalars: { title: "New title", summary: "A, b & c", studio: "Studio X", originallyAvailableAt: "2023-01-02" },
        tags: {
          genre: { set: ["Drama", "Comedy, dark"], remove: ["Old"] },
          actor: { set: ["Jane Doe", "John Roe"], remove: ["Old Actor"] },
          collection: { set: ["Studio X"], remove: [] }
        },
        lock: true
      })
      const writes = fake.ledger.entries()
      assert.strictEqual(writes.length, 1)
      const [write] = writes
      assert.strictEqual(write?.method, "PUT")
      assert.strictEqual(write?.path, `/library/sections/${section}/all`)
      assert.strictEqual(write?.ratingKey, added.ratingKey)
      assert.isTrue(write?.applied)
      assert.deepStrictEqual(write?.params, {
        type: "1",
        id: added.ratingKey,
        "title.value": "New title",
        "title.locked": "1",
        "summary.value": "A, b & c",
        "summary.locked": "1",
        "studio.value": "Studio X",
        "studio.locked": "1",
        "originallyAvailableAt.value": "2023-01-02",
        "originallyAvailableAt.locked": "1",
        "genre[0].tag.tag": "Drama",
        "genre[1].tag.tag": "Comedy, dark",
        "genre[].tag.tag-": "Old",
        "genre.locked": "1",
        "actor[0].tag.tag": "Jane Doe",
        "actor[1].tag.tag": "John Roe",
        "actor[].tag.tag-": "Old%20Actor",
        "actor.locked": "1",
        "collection[0].tag.tag": "Studio X",
        "collection.locked": "1"
      })
      const after = fake.state.item(added.ratingKey)!
      assert.strictEqual(after.title, "New title")
      assert.strictEqual(after.summary, "A, b & c")
      assert.strictEqual(after.studio, "Studio X")
      assert.strictEqual(after.originallyAvailableAt, "2023-01-02")
      assert.deepStrictEqual(after.genres, ["Drama", "Comedy, dark"])
      assert.deepStrictEqual(after.actors, ["Jane Doe", "John Roe"])
      assert.deepStrictEqual(after.collections, ["Studio X"])
      assert.sameMembers([...after.lockedFields], [
        "title",
        "summary",
        "studio",
        "originallyAvailableAt",
        "genre",
        "actor",
        "collection"
      ])
    }))

  test.scoped("edit without lock sends no .locked params and clears a scalar with null", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/n.mp4`, summary: "old", lockedFields: ["summary"] })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      fake.ledger.clear()
      yield* client.edit(item, { ...noLock, scalars: { summary: null } })
      const [write] = fake.ledger.entries()
      assert.deepStrictEqual(write?.params, { type: "1", id: added.ratingKey, "summary.value": "" })
      assert.isNull(fake.state.item(added.ratingKey)?.summary)
      // The lock Plex had stays: an unlocked edit never unlocks.
      assert.deepStrictEqual(fake.state.item(added.ratingKey)?.lockedFields, ["summary"])
    }))

  test.scoped("tag removal alone removes names, commas inside names included", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/t.mp4`, genres: ["Keep", "Drop", "Rock, Pop", "100% & more"] })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      yield* client.edit(item, {
        ...noLock,
        tags: { genre: { set: [], remove: ["Drop", "Rock, Pop", "100% & more"] } }
      })
      assert.deepStrictEqual(fake.state.item(added.ratingKey)?.genres, ["Keep"])
      const [write] = fake.ledger.entries()
      // Each name is encoded before joining, so the server splits on the raw commas only.
      assert.strictEqual(write?.params["genre[].tag.tag-"], "Drop,Rock%2C%20Pop,100%25%20%26%20more")
    }))

  test.scoped("an item without a section is edited through /library/metadata/{id}", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/m.mp4` })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      yield* client.edit({ ...item, sectionKey: null }, { scalars: { title: "Via metadata" }, tags: {}, lock: true })
      const [write] = fake.ledger.entries()
      assert.strictEqual(write?.path, `/library/metadata/${added.ratingKey}`)
      assert.strictEqual(fake.state.item(added.ratingKey)?.title, "Via metadata")
      assert.include(fake.state.item(added.ratingKey)?.lockedFields ?? [], "title")
    }))

  test.scoped("an empty edit sends nothing", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/z.mp4` })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      yield* client.edit(item, noLock)
      assert.deepStrictEqual(fake.ledger.entries(), [])
    }))

  test.scoped("locked fields survive a Plex metadata refresh; unlocked ones are reverted by it", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/r.mp4`, title: "agent title", studio: "agent studio" })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      yield* client.edit(item, { scalars: { title: "ours" }, tags: {}, lock: true })
      yield* client.edit(item, { scalars: { studio: "ours too" }, tags: {}, lock: false })
      const res = yield* Effect.promise(() =>
        fetch(`${fake.url}/library/metadata/${added.ratingKey}/refresh`, {
          method: "PUT",
          headers: { "X-Plex-Token": fake.token }
        })
      )
      assert.strictEqual(res.status, 200)
      const after = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      assert.strictEqual(after.title, "ours")
      assert.strictEqual(after.studio, "agent studio")
    }))

  test.scoped("rate sets 0-10 via /:/rate and null clears it with -1", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/rate.mp4` })
      yield* client.rate(added.ratingKey, 7.5)
      assert.strictEqual(fake.state.item(added.ratingKey)?.userRating, 7.5)
      assert.strictEqual(Option.getOrThrow(yield* client.getItem(added.ratingKey)).userRating, 7.5)
      yield* client.rate(added.ratingKey, null)
      assert.isNull(fake.state.item(added.ratingKey)?.userRating)
      assert.isNull(Option.getOrThrow(yield* client.getItem(added.ratingKey)).userRating)
      assert.deepStrictEqual(
        fake.ledger.entries().map((w) => [w.method, w.path, w.params]),
        [
          ["PUT", "/:/rate", { key: added.ratingKey, identifier: "com.plexapp.plugins.library", rating: "7.5" }],
          ["PUT", "/:/rate", { key: added.ratingKey, identifier: "com.plexapp.plugins.library", rating: "-1" }]
        ]
      )
    }))

  test.scoped("a rating outside 0-10 fails as PlexPermanentError without a request", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const error = yield* Effect.flip(client.rate("1001", 11))
      assert.strictEqual(error._tag, "PlexPermanentError")
      assert.strictEqual(fake.requests.count(), 0)
    }))

  test.scoped("uploadPoster posts the bytes and locks thumb", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/p.mp4` })
      const bytes = new Uint8Array(4096).map((_, i) => (i * 31) % 256)
      yield* client.uploadPoster(added.ratingKey, { bytes, contentType: "image/jpeg" })
      const after = fake.state.item(added.ratingKey)!
      assert.strictEqual(after.poster?.sha256, createHash("sha256").update(bytes).digest("hex"))
      assert.strictEqual(after.poster?.contentType, "image/jpeg")
      assert.include(after.lockedFields, "thumb")
      assert.deepStrictEqual(
        fake.ledger.entries().map((w) => [w.method, w.path, w.bodyBytes, w.params]),
        [
          ["POST", `/library/metadata/${added.ratingKey}/posters`, 4096, {}],
          ["PUT", `/library/metadata/${added.ratingKey}`, 0, { "thumb.locked": "1" }]
        ]
      )
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      assert.isNotNull(item.thumb)
    }))

  test.scoped("scan asks for one folder; the new file appears only after Plex's scan delay", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ scanDelayMs: 5_000 })
      const file = `${root}/New Studio/new scene.mp4`
      fake.state.addPendingItem({ file })
      assert.deepStrictEqual(yield* client.findByFile(section, file), [])
      yield* client.scan(section, `${root}/New Studio`)
      assert.deepStrictEqual(fake.state.scans().map((s) => [s.sectionKey, s.path]), [[section, `${root}/New Studio`]])
      assert.deepStrictEqual(yield* client.findByFile(section, file), [])
      yield* TestClock.adjust("4999 millis")
      assert.deepStrictEqual(yield* client.findByFile(section, file), [])
      yield* TestClock.adjust("1 millis")
      const found = yield* client.findByFile(section, file)
      assert.deepStrictEqual(found.map((item) => item.files[0]), [file])
    }))

  test.scoped("a scan of another folder does not pick the file up", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ scanDelayMs: 10 })
      fake.state.addPendingItem({ file: `${root}/B/b.mp4` })
      yield* client.scan(section, `${root}/A`)
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* client.findByFile(section, `${root}/B/b.mp4`), [])
    }))
})

// ---------------------------------------------------------------------------------------------------------
// Every operation under every fault

type Operation = {
  readonly name: string
  readonly write: boolean
  readonly run: (client: PlexClientService, ratingKey: string) => Effect.Effect<unknown, unknown>
}

const operations: ReadonlyArray<Operation> = [
  { name: "health", write: false, run: (c) => c.health },
  { name: "sections", write: false, run: (c) => c.sections },
  { name: "findByFile", write: false, run: (c) => c.findByFile(section, `${root}/fault.mp4`) },
  { name: "getItem", write: false, run: (c, rk) => c.getItem(rk) },
  { name: "listSection", write: false, run: (c) => c.listSection(section, { start: 0, size: 10 }) },
  {
    name: "edit",
    write: true,
    run: (c, rk) =>
      c.edit(
        blankPlexItem({ ratingKey: rk, sectionKey: section, title: "t", files: [] }),
        { scalars: { title: "changed" }, tags: {}, lock: true }
      )
  },
  { name: "rate", write: true, run: (c, rk) => c.rate(rk, 5) },
  {
    name: "uploadPoster",
    write: true,
    run: (c, rk) => c.uploadPoster(rk, { bytes: new Uint8Array([1, 2, 3]), contentType: "image/png" })
  },
  { name: "scan", write: true, run: (c) => c.scan(section, root) }
]

type FaultCase = {
  readonly name: string
  readonly inject: (fake: FakePlex.FakePlexServer) => Effect.Effect<void>
  readonly expect: (op: Operation) => {
    readonly tag: string | "success"
    readonly status?: number
    /** Any of these: node:http reports `ECONNRESET` where undici reports `UND_ERR_SOCKET`. */
    readonly code?: ReadonlyArray<string>
  }
}

const faultCases: ReadonlyArray<FaultCase> = [
  {
    name: "401 with an HTML body",
    inject: (fake) => Effect.sync(() => fake.faults.inject({ _tag: "Unauthorized" })),
    expect: () => ({ tag: "PlexAuthError", status: 401 })
  },
  {
    name: "403",
    inject: (fake) => Effect.sync(() => fake.faults.inject({ _tag: "Forbidden" })),
    expect: () => ({ tag: "PlexPermissionError", status: 403 })
  },
  {
    name: "503 maintenance XML",
    inject: (fake) => Effect.sync(() => fake.faults.inject({ _tag: "Maintenance" })),
    expect: () => ({ tag: "PlexServerDown", status: 503 })
  },
  {
    name: "400",
    inject: (fake) => Effect.sync(() => fake.faults.inject({ _tag: "Status", status: 400 })),
    expect: () => ({ tag: "PlexPermanentError", status: 400 })
  },
  {
    name: "500",
    inject: (fake) => Effect.sync(() => fake.faults.inject({ _tag: "Status", status: 500 })),
    expect: () => ({ tag: "PlexTemporaryError", status: 500 })
  },
  {
    name: "429",
    inject: (fake) => Effect.sync(() => fake.faults.inject({ _tag: "Status", status: 429 })),
    expect: () => ({ tag: "PlexTemporaryError", status: 429 })
  },
  {
    name: "connection refused (server stopped)",
    inject: (fake) => fake.faults.refuseConnections,
    expect: () => ({ tag: "PlexServerDown", code: ["ECONNREFUSED"] })
  },
  {
    name: "reset before the response",
    inject: (fake) => Effect.sync(() => fake.faults.inject({ _tag: "ResetBeforeResponse" })),
    expect: () => ({ tag: "PlexServerDown", code: ["ECONNRESET", "UND_ERR_SOCKET"] })
  },
  {
    name: "reset mid-body",
    inject: (fake) => Effect.sync(() => fake.faults.inject({ _tag: "ResetMidBody" })),
    // A write whose 2xx status arrived was committed; a read has no usable answer.
    expect: (op) =>
      op.write ? { tag: "success" } : { tag: "PlexTemporaryError", code: ["ECONNRESET", "UND_ERR_SOCKET"] }
  },
  {
    name: "stall past the timeout",
    inject: (fake) => Effect.sync(() => fake.faults.inject({ _tag: "Stall" })),
    expect: () => ({ tag: "PlexTemporaryError", code: ["ETIMEDOUT"] })
  }
]

const httpClients = [["node:http", NodeHttpClient.layer], ["undici", NodeHttpClient.layerUndici]] as const

for (const [clientName, httpClient] of httpClients) {
  describe(`PlexClientLive over ${clientName}: every operation under every fault`, () => {
    for (const fault of faultCases) {
      for (const op of operations) {
        it.scopedLive(`${op.name}: ${fault.name}`, () =>
          Effect.gen(function*() {
            const { client, fake } = yield* setup({ timeoutMs: 300 })
            const added = fake.state.addItem({ file: `${root}/fault.mp4` })
            // A warm keep-alive connection first, so reused sockets are part of what is tested.
            yield* client.sections
            yield* fault.inject(fake)
            const expected = fault.expect(op)
            const exit = yield* Effect.either(op.run(client, added.ratingKey))
            if (expected.tag === "success") {
              assert.isTrue(exit._tag === "Right", JSON.stringify(exit))
              return
            }
            assert.isTrue(exit._tag === "Left", "expected a failure")
            const error = (exit as { left: { _tag: string; status?: number; code?: string; message: string } }).left
            assert.strictEqual(error._tag, expected.tag, error.message)
            if (expected.status !== undefined) assert.strictEqual(error.status, expected.status)
            if (expected.code !== undefined) assert.include(expected.code, error.code ?? "no code")
            if (op.write) {
              // Nothing a fault answered was applied.
              assert.isTrue(fake.ledger.entries().every((w) => !w.applied))
            }
          }).pipe(Effect.provide(httpClient)))
      }
    }
  })
}

describe("PlexClientLive: faults in detail", () => {
  test.scopedLive("an answer over the size cap is a typed PlexPermanentError, its length declared or not", () =>
    Effect.gen(function*() {
      const { fake } = yield* setup()
      const client = yield* PlexClientLive.make({
        url: fake.url,
        token: Redacted.make(fake.token),
        clientIdentifier: "plexsync-test-client",
        maxResponseBytes: 1024 * 1024
      })
      for (const declareLength of [true, false]) {
        fake.faults.inject({ _tag: "HugeBody", bytes: 64 * 1024 * 1024, declareLength }, { times: 1 })
        const error = yield* Effect.flip(client.sections)
        assert.strictEqual(error._tag, "PlexPermanentError")
        assert.strictEqual(error.code, "ERESPONSETOOLARGE")
        assert.include(error.message, "more than 1 MiB")
      }
      // Just under the cap is read as usual (the fault answers with padding, which is no section list).
      fake.faults.inject({ _tag: "HugeBody", bytes: 512 * 1024, declareLength: false }, { times: 1 })
      const under = yield* Effect.flip(client.sections)
      assert.notStrictEqual(under.code, "ERESPONSETOOLARGE")
      assert.strictEqual((yield* client.sections).length, 1)
    }))

  test.scopedLive("a connection refused ends when Plex listens again", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      yield* fake.faults.refuseConnections
      assert.strictEqual((yield* Effect.flip(client.sections))._tag, "PlexServerDown")
      yield* fake.faults.acceptConnections
      assert.strictEqual((yield* client.sections).length, 1)
    }))

  test.scopedLive("counts each request to Plex, and a failed one by its error tag (plexsync_target_*_total)", () =>
    Effect.gen(function*() {
      const count = TargetMetrics.countsOf("plex", "PlexServerDown")
      const { client, fake } = yield* setup()
      const before = yield* count
      yield* client.health
      yield* fake.faults.refuseConnections
      yield* Effect.flip(client.sections)
      const after = yield* count
      assert.strictEqual(after.requests - before.requests, 3, "health asks twice, then one refused request")
      assert.strictEqual(after.errors - before.errors, 1)
    }))

  test.scopedLive("latency below the timeout is only slow", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup({ timeoutMs: 2_000 })
      fake.faults.inject({ _tag: "Latency", ms: 100 }, { times: 1 })
      assert.strictEqual((yield* client.sections).length, 1)
    }))

  test.scoped("a reset mid-body on an edit still applied the edit (Plex committed before answering)", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/w.mp4` })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      fake.faults.inject({ _tag: "ResetMidBody" }, { times: 1 })
      yield* client.edit(item, { scalars: { title: "committed" }, tags: {}, lock: true })
      assert.strictEqual(fake.state.item(added.ratingKey)?.title, "committed")
      assert.deepStrictEqual(fake.ledger.entries().map((w) => w.applied), [true])
    }))

  test.scoped("a shared (non-admin) token may read but a write is PlexPermissionError", () =>
    Effect.gen(function*() {
      const fake = yield* FakePlex.start()
      fake.state.addSection({ key: section, locations: [root] })
      const added = fake.state.addItem({ file: `${root}/s.mp4` })
      const client = yield* PlexClientLive.make({
        url: fake.url,
        token: Redacted.make(fake.sharedToken),
        clientIdentifier: "x"
      })
      assert.isTrue(Option.isSome(yield* client.getItem(added.ratingKey)))
      const error = yield* Effect.flip(client.rate(added.ratingKey, 3))
      assert.strictEqual(error._tag, "PlexPermissionError")
      assert.isNull(fake.state.item(added.ratingKey)?.userRating)
    }))

  test.scoped("an edit Plex rejects as inconsistent (400) is PlexPermanentError", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/bad.mp4` })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      const error = yield* Effect.flip(
        client.edit(item, { scalars: { originallyAvailableAt: "06/05/2024" }, tags: {}, lock: false })
      )
      assert.strictEqual(error._tag, "PlexPermanentError")
      assert.strictEqual(error.status, 400)
    }))

  test.scoped("an edit of an item Plex no longer has is PlexPermanentError with status 404", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      const added = fake.state.addItem({ file: `${root}/gone.mp4` })
      const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
      fake.state.removeItem(added.ratingKey)
      const error = yield* Effect.flip(client.edit(item, { scalars: { title: "x" }, tags: {}, lock: false }))
      assert.strictEqual(error._tag, "PlexPermanentError")
      assert.strictEqual(error.status, 404)
    }))

  test.scoped("a server that ignores Accept and answers XML is PlexPermanentError, not a crash", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      fake.faults.inject({
        _tag: "Status",
        status: 200,
        contentType: "text/xml",
        body: "<MediaContainer size=\"0\"/>"
      })
      const error = yield* Effect.flip(client.sections)
      assert.strictEqual(error._tag, "PlexPermanentError")
      assert.include(error.message, "XML or HTML instead of JSON")
    }))
})
