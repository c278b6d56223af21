import { assert, describe, it } from "@effect/vitest"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { seedLibrary } from "@plexsync/testing/FakeStashSeed"
import { formatStashTime } from "@plexsync/testing/FakeStashState"
import { Effect } from "effect"

/** Raw HTTP against the fake, so these tests see exactly what a client would. */
const post = (
  url: string,
  body: unknown,
  headers: Record<string, string> = {}
): Effect.Effect<{ status: number; headers: Headers; text: string; json: any }> =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
    const text = await response.text()
    let json: unknown = undefined
    try {
      json = JSON.parse(text)
    } catch {
      // not JSON
    }
    return { status: response.status, headers: response.headers, text, json }
  })

const ids = (json: any): Array<string> => json.data.findScenes.scenes.map((scene: { id: string }) => scene.id)

describe("fake Stash: HTTP behaviour", () => {
  it.scopedLive("answers 401 with an empty body and WWW-Authenticate: FormBased for a wrong or missing key", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start({ apiKey: "right" })
      const query = { query: "{ version { version } }" }
      for (const headers of [{}, { ApiKey: "wrong" }]) {
        const response = yield* post(fake.url, query, headers)
        assert.strictEqual(response.status, 401)
        assert.strictEqual(response.text, "")
        assert.strictEqual(response.headers.get("www-authenticate"), "FormBased")
      }
      assert.strictEqual((yield* post(fake.url, query, { ApiKey: "right" })).status, 200)
      const byQuery = yield* Effect.promise(() =>
        fetch(`${fake.url}/graphql?apikey=right&query=${encodeURIComponent("{ version { version } }")}`)
      )
      assert.strictEqual(byQuery.status, 200)
      assert.deepStrictEqual(fake.requests.map((r) => r.auth), ["none", "wrong", "valid", "valid"])
    }))

  it.scopedLive("refuses any key when none is configured", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start()
      assert.strictEqual((yield* post(fake.url, { query: "{ version { hash } }" })).status, 200)
      assert.strictEqual((yield* post(fake.url, { query: "{ version { hash } }" }, { ApiKey: "x" })).status, 401)
    }))

  it.scopedLive("answers 422 for a document that does not parse or validate, 400 for a body that is not JSON", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start()
      const unparsable = yield* post(fake.url, { query: "{ version { " })
      assert.strictEqual(unparsable.status, 422)
      assert.strictEqual(unparsable.json.errors[0].extensions.code, "GRAPHQL_PARSE_FAILED")
      const invalid = yield* post(fake.url, { query: "{ findScene(id: 1) { nonsense } }" })
      assert.strictEqual(invalid.status, 422)
      assert.strictEqual(invalid.json.errors[0].extensions.code, "GRAPHQL_VALIDATION_FAILED")
      assert.include(invalid.json.errors[0].message, "nonsense")
      assert.isNull(invalid.json.data)
      const badVariables = yield* post(fake.url, {
        query: "query Q($id: ID!) { findScene(id: $id) { id } }",
        variables: {}
      })
      assert.strictEqual(badVariables.status, 422)
      const notJson = yield* post(fake.url, "{not json")
      assert.strictEqual(notJson.status, 400)
      assert.include(notJson.json.errors[0].message, "json body could not be decoded")
    }))

  it.scopedLive("answers 200 with errors and a nulled field when a resolver fails", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start()
      fake.state.addScene({ id: "1" })
      const missing = yield* post(fake.url, { query: "{ findScenes(ids: [\"1\", \"2\"]) { count } }" })
      assert.strictEqual(missing.status, 200)
      assert.deepStrictEqual(missing.json, {
        errors: [{ message: "scene with id 2 not found", path: ["findScenes"] }],
        data: null
      })
      const notNumber = yield* post(fake.url, { query: "{ findScene(id: \"abc\") { id } }" })
      assert.strictEqual(notNumber.status, 200)
      assert.deepStrictEqual(notNumber.json.data, { findScene: null })
      assert.include(notNumber.json.errors[0].message, "strconv.Atoi")
      const unknown = yield* post(fake.url, { query: "{ findScene(id: \"9\") { id } }" })
      assert.deepStrictEqual(unknown.json, { data: { findScene: null } })
    }))

  it.scopedLive("counts requests per operation name", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start()
      yield* post(fake.url, { query: "query A { version { hash } }", operationName: "A" })
      yield* post(fake.url, { query: "query A { version { hash } }", operationName: "A" })
      yield* post(fake.url, { query: "query B { systemStatus { status } }", operationName: "B" })
      assert.strictEqual(fake.requestCount("A"), 2)
      assert.strictEqual(fake.requestCount("B"), 1)
      assert.strictEqual(fake.requestCount(), 3)
      yield* fake.resetRequests
      assert.strictEqual(fake.requestCount(), 0)
    }))

  it.scopedLive("fault switches: status, unauthorized, resolver error; stop and resume listening", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start()
      const query = { query: "{ systemStatus { status } }" }
      fake.faults.status = 503
      assert.strictEqual((yield* post(fake.url, query)).status, 503)
      fake.faults.clear()
      fake.faults.unauthorized = true
      assert.strictEqual((yield* post(fake.url, query)).status, 401)
      fake.faults.clear()
      fake.faults.resolverError = "boom"
      const failed = yield* post(fake.url, query)
      assert.strictEqual(failed.status, 200)
      assert.deepStrictEqual(failed.json, { errors: [{ message: "boom", path: ["systemStatus"] }], data: null })
      fake.faults.clear()
      yield* fake.stopListening
      const refused = yield* Effect.promise(() =>
        fetch(`${fake.url}/graphql`).then(() => "answered", (error: { cause?: { code?: string } }) => error.cause?.code)
      )
      assert.strictEqual(refused, "ECONNREFUSED")
      yield* fake.resumeListening
      assert.strictEqual((yield* post(fake.url, query)).json.data.systemStatus.status, "OK")
    }))

  it.scopedLive("serves screenshots with the same auth, 404 when a scene has none", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start({ apiKey: "k" })
      const scene = fake.state.addScene()
      const get = (path: string, headers: Record<string, string> = {}) =>
        Effect.promise(() => fetch(`${fake.url}${path}`, { headers }))
      const image = yield* get(`/scene/${scene.id}/screenshot`, { ApiKey: "k" })
      assert.strictEqual(image.status, 200)
      assert.strictEqual(image.headers.get("content-type"), "image/png")
      const bytes = new Uint8Array(yield* Effect.promise(() => image.arrayBuffer()))
      assert.deepStrictEqual(Array.from(bytes.subarray(1, 4)), [0x50, 0x4e, 0x47]) // "PNG"
      assert.strictEqual((yield* get(`/scene/${scene.id}/screenshot`)).status, 401)
      fake.state.setScreenshot(scene.id, null)
      assert.strictEqual((yield* get(`/scene/${scene.id}/screenshot`, { ApiKey: "k" })).status, 404)
    }))
})

describe("fake Stash: Stash's query semantics", () => {
  it("writes times as Go's RFC 3339 in server-local time, one-second precision", () => {
    const t = Date.UTC(2025, 4, 1, 0, 0, 0, 999)
    assert.strictEqual(formatStashTime(t, 600), "2025-05-01T10:00:00+10:00")
    assert.strictEqual(formatStashTime(t, -330), "2025-04-30T18:30:00-05:30")
    assert.strictEqual(formatStashTime(t, 0), "2025-05-01T00:00:00Z")
  })

  it.scopedLive("bumps updated_at on scene updates, not on renaming a tag", () =>
    Effect.gen(function*() {
      const start = Date.UTC(2025, 0, 1)
      const fake = yield* FakeStash.start({ now: () => start, utcOffsetMinutes: 60 })
      const tag = fake.state.addTag({ name: "Old" })
      const scene = fake.state.addScene({ tagIds: [tag.id] })
      assert.strictEqual(scene.updatedAt, "2025-01-01T01:00:00+01:00")
      fake.state.advanceClock(1500)
      fake.state.renameTag(tag.id, "New")
      assert.strictEqual(fake.state.scene(scene.id)?.updatedAt, scene.updatedAt)
      const updated = fake.state.updateScene(scene.id, { title: "t" })
      assert.strictEqual(updated.updatedAt, "2025-01-01T01:00:01+01:00")
      assert.strictEqual(updated.createdAt, scene.createdAt)
      fake.state.setUtcOffset(120) // a DST switch: later values use the new offset
      fake.state.advanceClock(1000)
      assert.strictEqual(fake.state.updateScene(scene.id, {}).updatedAt, "2025-01-01T02:00:02+02:00")
    }))

  it.scopedLive("pages 25 by default, -1 for all, 1-based; rejects an unknown sort", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start()
      seedLibrary(fake.state, { scenes: 30 })
      const first = yield* post(fake.url, { query: "{ findScenes { count scenes { id } } }" })
      assert.strictEqual(first.json.data.findScenes.count, 30)
      assert.strictEqual(ids(first.json).length, 25)
      const all = yield* post(fake.url, { query: "{ findScenes(filter: { per_page: -1 }) { scenes { id } } }" })
      assert.strictEqual(ids(all.json).length, 30)
      const page2 = yield* post(fake.url, {
        query: "{ findScenes(filter: { page: 2, per_page: 10, sort: \"id\", direction: DESC }) { scenes { id } } }"
      })
      assert.deepStrictEqual(ids(page2.json), ["20", "19", "18", "17", "16", "15", "14", "13", "12", "11"])
      const badSort = yield* post(fake.url, { query: "{ findScenes(filter: { sort: \"nope\" }) { count } }" })
      assert.strictEqual(badSort.status, 200)
      assert.include(badSort.json.errors[0].message, "invalid sort")
    }))

  it.scopedLive("path EQUALS is LIKE: ASCII case-insensitive with _ and % as wildcards; INCLUDES and regex", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start()
      fake.state.addScene({ id: "1", files: ["/media/My_Movie.mp4"] })
      fake.state.addScene({ id: "2", files: ["/media/myXmovie.mp4"] })
      fake.state.addScene({ id: "3", files: ["/other/Ünï.mp4", "/media/second file.mkv"] })
      const byPath = (value: string, modifier: string) =>
        post(fake.url, {
          query: "query P($v: String!, $m: CriterionModifier!) { " +
            "findScenes(scene_filter: { path: { value: $v, modifier: $m } }, filter: { per_page: -1 }) " +
            "{ scenes { id } } }",
          variables: { v: value, m: modifier }
        }).pipe(Effect.map((response) => ids(response.json)))
      assert.deepStrictEqual(yield* byPath("/MEDIA/my_movie.mp4", "EQUALS"), ["1", "2"])
      assert.deepStrictEqual(yield* byPath("/other/üNï.mp4", "EQUALS"), [])
      assert.deepStrictEqual(yield* byPath("/media/second file.mkv", "EQUALS"), ["3"])
      assert.deepStrictEqual(yield* byPath("second xyz", "INCLUDES"), ["3"])
      assert.deepStrictEqual(yield* byPath("\"second xyz\"", "INCLUDES"), [])
      assert.deepStrictEqual(yield* byPath("(?i)MY.MOVIE", "MATCHES_REGEX"), ["1", "2"])
      const regex = yield* post(fake.url, {
        query: "{ findScenesByPathRegex(filter: { q: \"\\\\.mkv$\" }) { scenes { id } } }"
      })
      assert.deepStrictEqual(regex.json.data.findScenesByPathRegex.scenes, [{ id: "3" }])
    }))

  it.scopedLive("compares updated_at as a string and sorts by it with no tie-breaker", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start({ now: () => Date.UTC(2025, 4, 1), utcOffsetMinutes: 600 })
      fake.state.addScene({ id: "5" })
      fake.state.addScene({ id: "3" }) // same second as 5
      fake.state.advanceClock(2000)
      fake.state.addScene({ id: "4" })
      const since = (value: string) =>
        post(fake.url, {
          query:
            "query S($v: String!) { findScenes(scene_filter: { updated_at: { value: $v, modifier: GREATER_THAN } }, " +
            "filter: { sort: \"updated_at\", direction: ASC, per_page: -1 }) { scenes { id updated_at } } }",
          variables: { v: value }
        }).pipe(Effect.map((response) => ids(response.json)))
      assert.deepStrictEqual(yield* since("2025-05-01T10:00:00+10:00"), ["4"])
      assert.deepStrictEqual(yield* since("2025-05-01 23:00:00"), ["3", "5", "4"]) // ' ' sorts below 'T'
      assert.deepStrictEqual(yield* since("2025-05-01T00:00:00Z"), ["3", "5", "4"]) // compared as text, not time
    }))

  it.scopedLive("serves `movies` only in the legacy schema and both in the current one", () =>
    Effect.gen(function*() {
      const legacy = yield* FakeStash.start({ schemaVersion: "legacy" })
      const current = yield* FakeStash.start()
      for (const fake of [legacy, current]) {
        const group = fake.state.addGroup({ name: "G" })
        fake.state.addScene({ id: "1", groups: [{ groupId: group.id, sceneIndex: 3 }] })
      }
      const movies = "{ findScene(id: 1) { movies { movie { name } scene_index } } }"
      const groups = "{ findScene(id: 1) { groups { group { name } scene_index } } }"
      const expected = { movies: [{ movie: { name: "G" }, scene_index: 3 }] }
      assert.deepStrictEqual((yield* post(legacy.url, { query: movies })).json.data.findScene, expected)
      assert.strictEqual((yield* post(legacy.url, { query: groups })).status, 422)
      assert.deepStrictEqual((yield* post(current.url, { query: groups })).json.data.findScene, {
        groups: [{ group: { name: "G" }, scene_index: 3 }]
      })
    }))

  it.scopedLive("edits and deletes scenes through Stash's own mutations, bumping updated_at", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start({ now: () => Date.UTC(2025, 4, 1), utcOffsetMinutes: 0 })
      const tag = fake.state.addTag({ name: "T" })
      fake.state.addScene({ id: "1", title: "Before", details: "kept" })
      fake.state.advanceClock(5000)
      const update = yield* post(fake.url, {
        query: "mutation U($input: SceneUpdateInput!) { sceneUpdate(input: $input) { title details date updated_at " +
          "tags { name } } }",
        variables: { input: { id: "1", title: "After", date: "2020-05", tag_ids: [tag.id] } }
      })
      assert.deepStrictEqual(update.json.data.sceneUpdate, {
        title: "After",
        details: "kept",
        date: "2020-05",
        updated_at: "2025-05-01T00:00:05Z",
        tags: [{ name: "T" }]
      })
      const destroy = "mutation D($id: ID!) { sceneDestroy(input: { id: $id }) }"
      assert.deepStrictEqual((yield* post(fake.url, { query: destroy, variables: { id: "1" } })).json.data, {
        sceneDestroy: true
      })
      assert.strictEqual(fake.state.sceneCount, 0)
      const again = yield* post(fake.url, { query: destroy, variables: { id: "1" } })
      assert.include(again.json.errors[0].message, "not found")
    }))

  it.scopedLive("seeds a varied library", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start()
      const scenes = seedLibrary(fake.state, { scenes: 24 })
      assert.strictEqual(fake.state.sceneCount, 24)
      assert.isTrue(scenes.some((s) => s.date?.length === 4))
      assert.isTrue(scenes.some((s) => s.date?.length === 7))
      assert.isTrue(scenes.some((s) => s.title === null))
      assert.isTrue(scenes.some((s) => s.groups.length > 0))
      assert.isTrue(scenes.some((s) => s.files.length > 1))
    }))
})
