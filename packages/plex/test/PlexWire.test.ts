import { assert, describe, it } from "@effect/vitest"
import { PlexPart } from "@plexsync/domain/PlexClient"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import { clientIdentifier } from "@plexsync/plex/PlexClientLive"
import { findErrorCode, redactUrl, toPlexError } from "@plexsync/plex/PlexErrorMapping"
import type { PlexFailure } from "@plexsync/plex/PlexErrorMapping"
import { MetadataContainerJson, SectionsContainerJson, toPlexItem, toPlexSection } from "@plexsync/plex/PlexJson"
import { editParams, encodeValue, joinQuery } from "@plexsync/plex/PlexQuery"
import { Effect, Layer, Option, Ref, Schema } from "effect"

describe("edit parameters", () => {
  it("encode values like Python's quote(v, safe=''), with brackets left raw in keys", () => {
    assert.strictEqual(
      encodeValue("a b&c=d/e?f#g+h,i'j(k)l*m!n~o"),
      "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%2Ci%27j%28k%29l%2Am%21n~o"
    )
    assert.strictEqual(
      joinQuery([["genre[0].tag.tag", "Rock & Roll"], ["genre.locked", "1"]]),
      "genre[0].tag.tag=Rock%20%26%20Roll&genre.locked=1"
    )
  })

  it("list every scalar and tag change, with a lock for each field sent when locking", () => {
    const params = editParams({
      scalars: { studio: "S", title: "T", summary: null },
      tags: { actor: { set: ["A", "A", " ", "B"], remove: ["B", "C"] }, genre: { set: [], remove: ["x,y", "z"] } },
      lock: true
    })
    assert.deepStrictEqual(params, [
      ["title.value", "T"],
      ["title.locked", "1"],
      ["summary.value", ""],
      ["summary.locked", "1"],
      ["studio.value", "S"],
      ["studio.locked", "1"],
      ["genre[].tag.tag-", "x%2Cy,z"],
      ["genre.locked", "1"],
      // Duplicates and blanks dropped; a name both wanted and removed is kept.
      ["actor[0].tag.tag", "A"],
      ["actor[1].tag.tag", "B"],
      ["actor[].tag.tag-", "C"],
      ["actor.locked", "1"]
    ])
    // The removal value is encoded once more on the wire, so the server's one decode leaves `x%2Cy,z`.
    assert.strictEqual(joinQuery([["genre[].tag.tag-", "x%2Cy,z"]]), "genre[].tag.tag-=x%252Cy%2Cz")
  })

  it("send no lock params without lock, and nothing for an empty edit", () => {
    assert.deepStrictEqual(editParams({ scalars: { title: "T" }, tags: {}, lock: false }), [["title.value", "T"]])
    assert.deepStrictEqual(editParams({ scalars: {}, tags: {}, lock: true }), [])
  })
})

describe("lenient decoding of Plex JSON", () => {
  it("accepts numbers as strings and strings as numbers, int flags, and missing or null lists", () => {
    const decoded = Schema.decodeUnknownSync(MetadataContainerJson)({
      MediaContainer: {
        size: "1",
        librarySectionID: 3,
        Metadata: [{
          ratingKey: 101,
          title: 1984,
          userRating: "7.5",
          summary: "",
          Genre: null,
          Role: [{ tag: "Jane", id: "5" }],
          Collection: [{ tag: 2020 }],
          Media: [
            { id: 1, duration: 5, Part: [{ id: 2, file: "/a.mp4", size: "734003200", duration: 1800000 }, { id: 3 }] },
            { id: 4 },
            { id: 5, duration: "900000", Part: [{ id: 6, file: "/b.mp4", size: 0 }] }
          ],
          Field: [{ name: "title", locked: 1 }, { name: "summary", locked: "0" }, { name: "genre", locked: "true" }],
          unexpected: { anything: true }
        }]
      }
    })
    const item = toPlexItem(decoded.MediaContainer.Metadata[0]!, decoded.MediaContainer.librarySectionID ?? null)
    assert.deepStrictEqual(
      { ...item },
      {
        ratingKey: "101",
        sectionKey: "3",
        title: "1984",
        summary: null,
        studio: null,
        originallyAvailableAt: null,
        userRating: 7.5,
        thumb: null,
        genres: [],
        actors: ["Jane"],
        collections: ["2020"],
        files: ["/a.mp4", "/b.mp4"],
        // A part's own duration, else its media's when the media is that one part; a size of 0 is unknown.
        parts: [
          new PlexPart({ file: "/a.mp4", size: 734_003_200, duration: 1_800_000 }),
          new PlexPart({ file: "/b.mp4", size: null, duration: 900_000 })
        ],
        lockedFields: ["title", "genre"]
      }
    )
  })

  it("reads sections with hidden: 0 and without Location", () => {
    const decoded = Schema.decodeUnknownSync(SectionsContainerJson)({
      MediaContainer: {
        size: 2,
        Directory: [
          { key: "1", title: "A", type: "movie", hidden: 0, Location: [{ id: 1, path: "/a" }] },
          { key: 2, title: "B", type: "show", hidden: false }
        ]
      }
    })
    assert.deepStrictEqual(decoded.MediaContainer.Directory.map((d) => ({ ...toPlexSection(d) })), [
      { key: "1", title: "A", type: "movie", locations: ["/a"] },
      { key: "2", title: "B", type: "show", locations: [] }
    ])
  })

  it("an empty container has no items", () => {
    const decoded = Schema.decodeUnknownSync(MetadataContainerJson)({ MediaContainer: { size: 0 } })
    assert.deepStrictEqual(decoded.MediaContainer.Metadata, [])
  })
})

describe("error mapping", () => {
  const ctx = { server: "http://plex:32400", method: "GET", path: "/library/sections" }
  const onRequest = (code: string | undefined): PlexFailure => ({ _tag: "Transport", phase: "request", code })
  const status = (status: number): PlexFailure => ({ _tag: "Status", status })
  const all = (failures: ReadonlyArray<PlexFailure>, tag: string) => failures.map((failure) => [failure, tag] as const)
  const cases: ReadonlyArray<readonly [PlexFailure, string]> = [
    ...all(
      ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "UND_ERR_SOCKET"]
        .map(onRequest),
      "PlexServerDown"
    ),
    ...all(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", undefined].map(onRequest), "PlexTemporaryError"),
    [{ _tag: "Transport", phase: "body", code: "ECONNRESET" }, "PlexTemporaryError"],
    [{ _tag: "Timeout", timeoutMs: 1000 }, "PlexTemporaryError"],
    [status(401), "PlexAuthError"],
    [status(403), "PlexPermissionError"],
    [status(503), "PlexServerDown"],
    ...all([500, 502, 504, 429, 408].map(status), "PlexTemporaryError"),
    ...all([400, 404, 409].map(status), "PlexPermanentError"),
    [{ _tag: "Unreadable", status: 200, detail: "XML" }, "PlexPermanentError"],
    [{ _tag: "InvalidRequest", detail: "bad" }, "PlexPermanentError"]
  ]
  for (const [failure, tag] of cases) {
    it(`${JSON.stringify(failure)} → ${tag}`, () => {
      const error = toPlexError(failure, ctx)
      assert.strictEqual(error._tag, tag)
      assert.include(error.message, "GET /library/sections on Plex at http://plex:32400")
    })
  }

  it("finds the code along the cause chain and inside AggregateError, never from the message", () => {
    assert.strictEqual(findErrorCode({ cause: { cause: { code: "ECONNREFUSED" } } }), "ECONNREFUSED")
    assert.strictEqual(
      findErrorCode(new AggregateError([new Error("x"), Object.assign(new Error("y"), { code: "EHOSTUNREACH" })])),
      "EHOSTUNREACH"
    )
    assert.isUndefined(findErrorCode(new Error("connect ECONNREFUSED 127.0.0.1:32400")))
    const loop: { cause?: unknown } = {}
    loop.cause = loop
    assert.isUndefined(findErrorCode(loop))
  })

  it("redacts credentials and a token in the server URL", () => {
    assert.strictEqual(
      redactUrl("http://user:pw@plex:32400/?X-Plex-Token=abc&x=1"),
      "http://plex:32400/?X-Plex-Token=<redacted>&x=1"
    )
    assert.strictEqual(redactUrl("not a url"), "not a url")
  })
})

describe("client identifier", () => {
  const memorySettings = Effect.gen(function*() {
    const store = yield* Ref.make(new Map<string, string>())
    const layer = Layer.succeed(Settings, {
      get: (key) => Ref.get(store).pipe(Effect.map((map) => Option.fromNullable(map.get(key)))),
      set: (key, value) => Ref.update(store, (map) => new Map(map).set(key, value))
    })
    return { store, layer }
  })

  it.effect("is created once, stored, and then reused", () =>
    Effect.gen(function*() {
      const { layer, store } = yield* memorySettings
      const first = yield* Effect.provide(clientIdentifier, layer)
      const second = yield* Effect.provide(clientIdentifier, layer)
      assert.match(first, /^plexsync-[0-9a-f-]{36}$/)
      assert.strictEqual(second, first)
      assert.strictEqual((yield* Ref.get(store)).get(SettingKeys.plexClientIdentifier), first)
    }))

  it.effect("keeps an identifier that is already stored", () =>
    Effect.gen(function*() {
      const { layer, store } = yield* memorySettings
      yield* Ref.set(store, new Map([[SettingKeys.plexClientIdentifier, "existing-id"]]))
      assert.strictEqual(yield* Effect.provide(clientIdentifier, layer), "existing-id")
    }))
})
