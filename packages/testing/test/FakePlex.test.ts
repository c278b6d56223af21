import { assert, describe, it } from "@effect/vitest"
import * as FakePlex from "@plexsync/testing/FakePlex"
import { Effect, TestClock } from "effect"
import { spawn } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

type Answer = { readonly status: number; readonly contentType: string; readonly text: string }

const call = (
  fake: FakePlex.FakePlexServer,
  path: string,
  init: { method?: string; headers?: Record<string, string>; token?: string | null; json?: boolean } = {}
) =>
  Effect.promise(async (): Promise<Answer> => {
    const headers: Record<string, string> = { ...init.headers }
    if (init.json !== false) headers["Accept"] = "application/json"
    const token = init.token === undefined ? fake.token : init.token
    if (token !== null) headers["X-Plex-Token"] = token
    const response = await fetch(`${fake.url}${path}`, { method: init.method ?? "GET", headers })
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      text: await response.text()
    }
  })

const metadataOf = (answer: Answer): Array<Record<string, any>> =>
  (JSON.parse(answer.text) as { MediaContainer: { Metadata?: Array<Record<string, any>> } }).MediaContainer.Metadata ??
    []

const seeded = Effect.gen(function*() {
  const fake = yield* FakePlex.start({ scanDelayMs: 1_000 })
  fake.state.addSection({ key: "1", title: "Adult", locations: ["/data/adult"] })
  return fake
})

describe("fake Plex: formats and auth", () => {
  it.scoped("answers XML unless JSON is asked for", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      const item = fake.state.addItem({
        file: "/data/adult/a & b.mp4",
        title: "A \"quoted\" <title>",
        genres: ["g"],
        lockedFields: ["title"]
      })
      const sections = yield* call(fake, "/library/sections", { json: false })
      assert.strictEqual(sections.status, 200)
      assert.match(sections.contentType, /^text\/xml/)
      assert.match(sections.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<MediaContainer size="1"/)
      assert.match(sections.text, /<Directory [^>]*key="1"[^>]*type="movie"/)
      assert.match(sections.text, /<Location id="100" path="\/data\/adult" \/>/)
      const metadata = yield* call(fake, `/library/metadata/${item.ratingKey}`, { json: false })
      assert.match(metadata.text, new RegExp(`<Video ratingKey="${item.ratingKey}"`))
      assert.include(metadata.text, "title=\"A &quot;quoted&quot; &lt;title&gt;\"")
      assert.include(metadata.text, "file=\"/data/adult/a &amp; b.mp4\"")
      assert.match(metadata.text, /<Genre id="\d+" filter="genre=\d+" tag="g" \/>/)
      assert.include(metadata.text, "<Field locked=\"1\" name=\"title\" />")
      const json = yield* call(fake, `/library/metadata/${item.ratingKey}`)
      assert.strictEqual(json.contentType, "application/json")
      assert.strictEqual(metadataOf(json)[0]?.["title"], "A \"quoted\" <title>")
    }))

  it.scoped("a wrong or missing token is a 401 HTML page even for JSON; /identity needs no token", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      for (const token of ["wrong", null]) {
        const answer = yield* call(fake, "/library/sections", { token })
        assert.strictEqual(answer.status, 401)
        assert.strictEqual(answer.contentType, "text/html")
        assert.include(answer.text, "<h1>401 Unauthorized</h1>")
      }
      const identity = yield* call(fake, "/identity", { token: null })
      assert.strictEqual(identity.status, 200)
      assert.deepStrictEqual(JSON.parse(identity.text), {
        MediaContainer: {
          size: 0,
          claimed: true,
          machineIdentifier: fake.machineIdentifier(),
          version: "1.41.3.9314-a0bfb8370"
        }
      })
    }))

  it.scoped("the token is also accepted as a query parameter", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      const answer = yield* call(fake, `/library/sections?X-Plex-Token=${fake.token}`, { token: null })
      assert.strictEqual(answer.status, 200)
    }))

  it.scoped("an unknown item is 404 with an HTML body", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      const answer = yield* call(fake, "/library/metadata/424242")
      assert.strictEqual(answer.status, 404)
      assert.strictEqual(answer.contentType, "text/html")
    }))

  it.scoped("a shared token reads, and gets 403 on writes, which are not applied", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      const item = fake.state.addItem({ file: "/data/adult/s.mp4" })
      assert.strictEqual((yield* call(fake, "/library/sections", { token: fake.sharedToken })).status, 200)
      const write = yield* call(
        fake,
        `/library/sections/1/all?type=1&id=${item.ratingKey}&title.value=x`,
        { method: "PUT", token: fake.sharedToken }
      )
      assert.strictEqual(write.status, 403)
      assert.strictEqual(fake.state.item(item.ratingKey)?.title, "s")
      assert.deepStrictEqual(fake.ledger.entries().map((w) => [w.status, w.applied]), [[403, false]])
    }))
})

describe("fake Plex: library semantics", () => {
  it.scoped("file= returns every item of the file's folder: candidates the client must verify", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      fake.state.addItem({ file: "/data/adult/S/one.mp4" })
      fake.state.addItem({ file: "/data/adult/S/two.mp4" })
      fake.state.addItem({ file: "/data/adult/T/one.mp4" })
      const answer = yield* call(
        fake,
        `/library/sections/1/all?type=1&file=${encodeURIComponent("/data/adult/S/one.mp4")}`
      )
      assert.sameMembers(
        metadataOf(answer).map((m) => m["Media"][0]["Part"][0]["file"]),
        ["/data/adult/S/one.mp4", "/data/adult/S/two.mp4"]
      )
    }))

  it.scoped("listings are partial (2 genres, 3 actors, no locks); the item itself is complete", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      const item = fake.state.addItem({
        file: "/data/adult/p.mp4",
        genres: ["1", "2", "3"],
        actors: ["a", "b", "c", "d"],
        lockedFields: ["title"]
      })
      const [listed] = metadataOf(yield* call(fake, "/library/sections/1/all?type=1"))
      assert.strictEqual(listed?.["Genre"].length, 2)
      assert.strictEqual(listed?.["Role"].length, 3)
      assert.isUndefined(listed?.["Field"])
      const [full] = metadataOf(yield* call(fake, `/library/metadata/${item.ratingKey}`))
      assert.strictEqual(full?.["Genre"].length, 3)
      assert.strictEqual(full?.["Role"].length, 4)
      assert.deepStrictEqual(full?.["Field"], [{ locked: true, name: "title" }])
    }))

  it.scoped("paging works through headers as well as query params, and reports the total", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      for (const name of ["a", "b", "c", "d"]) fake.state.addItem({ file: `/data/adult/${name}.mp4` })
      const viaHeaders = yield* call(fake, "/library/sections/1/all?type=1", {
        headers: { "X-Plex-Container-Start": "1", "X-Plex-Container-Size": "2" }
      })
      const container = JSON.parse(viaHeaders.text).MediaContainer
      assert.deepStrictEqual([container.offset, container.size, container.totalSize], [1, 2, 4])
      assert.deepStrictEqual(metadataOf(viaHeaders).map((m) => m["title"]), ["b", "c"])
      const viaQuery = yield* call(
        fake,
        "/library/sections/1/all?type=1&X-Plex-Container-Start=3&X-Plex-Container-Size=2"
      )
      assert.deepStrictEqual(metadataOf(viaQuery).map((m) => m["title"]), ["d"])
    }))

  it.scoped("edits accept brackets raw or percent-encoded, replace lists, remove names and set locks", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      const item = fake.state.addItem({ file: "/data/adult/e.mp4", genres: ["old", "a,b"], lockedFields: ["studio"] })
      const raw = yield* call(
        fake,
        `/library/sections/1/all?type=1&id=${item.ratingKey}&genre[0].tag.tag=new&genre[1].tag.tag=old&genre.locked=1`,
        { method: "PUT" }
      )
      assert.strictEqual(raw.status, 200)
      assert.deepStrictEqual(fake.state.item(item.ratingKey)?.genres, ["new", "old"])
      const encoded = yield* call(
        fake,
        `/library/metadata/${item.ratingKey}?genre%5B%5D.tag.tag-=${encodeURIComponent("old")}&studio.locked=0`,
        { method: "PUT" }
      )
      assert.strictEqual(encoded.status, 200)
      const after = fake.state.item(item.ratingKey)!
      assert.deepStrictEqual(after.genres, ["new"])
      assert.deepStrictEqual(after.lockedFields, ["genre"])
      // A comma inside a removed name: the name is encoded before joining, then the value again.
      fake.state.updateItem(item.ratingKey, { genres: ["a,b", "c"] })
      const removal = encodeURIComponent([encodeURIComponent("a,b")].join(","))
      yield* call(fake, `/library/metadata/${item.ratingKey}?genre[].tag.tag-=${removal}`, { method: "PUT" })
      assert.deepStrictEqual(fake.state.item(item.ratingKey)?.genres, ["c"])
    }))

  it.scoped("a section edit must name a type and an id; bad values are 400 and change nothing", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      const item = fake.state.addItem({ file: "/data/adult/v.mp4" })
      const cases = [
        `/library/sections/1/all?title.value=x`,
        `/library/sections/1/all?type=1&title.value=x`,
        `/library/sections/1/all?type=1&id=${item.ratingKey}&title.value=x&originallyAvailableAt.value=2024-13-45`,
        `/library/sections/1/all?type=1&id=${item.ratingKey}&title.locked=yes`
      ]
      for (const path of cases) assert.strictEqual((yield* call(fake, path, { method: "PUT" })).status, 400, path)
      assert.strictEqual(fake.state.item(item.ratingKey)?.title, "v")
    }))

  it.scoped("rating: 0-10 sets, -1 clears, anything else is 400", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      const item = fake.state.addItem({ file: "/data/adult/r.mp4" })
      const rate = (rating: string) =>
        call(fake, `/:/rate?key=${item.ratingKey}&identifier=com.plexapp.plugins.library&rating=${rating}`, {
          method: "PUT"
        })
      assert.strictEqual((yield* rate("10")).status, 200)
      assert.strictEqual(fake.state.item(item.ratingKey)?.userRating, 10)
      assert.strictEqual((yield* rate("11")).status, 400)
      assert.strictEqual((yield* rate("-1")).status, 200)
      assert.isNull(fake.state.item(item.ratingKey)?.userRating)
      const unknown = yield* call(fake, "/:/rate?key=999&identifier=com.plexapp.plugins.library&rating=5", {
        method: "PUT"
      })
      assert.strictEqual(unknown.status, 404)
    }))

  it.scoped("a scan (GET or POST) makes a pending file appear after the delay, on Effect's clock", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      fake.state.addPendingItem({ file: "/data/adult/new/one.mp4" })
      fake.state.addPendingItem({ file: "/data/adult/other/two.mp4" })
      const scan = yield* call(fake, `/library/sections/1/refresh?path=${encodeURIComponent("/data/adult/new")}`, {
        method: "POST"
      })
      assert.strictEqual(scan.status, 200)
      assert.deepStrictEqual(fake.state.pending().map((p) => [p.file, p.appearsAt]), [
        ["/data/adult/new/one.mp4", 1_000],
        ["/data/adult/other/two.mp4", null]
      ])
      assert.isUndefined(fake.state.itemByFile("/data/adult/new/one.mp4"))
      yield* TestClock.adjust("1 second")
      assert.isDefined(fake.state.itemByFile("/data/adult/new/one.mp4"))
      assert.isUndefined(fake.state.itemByFile("/data/adult/other/two.mp4"))
      // A whole-section scan picks up the rest.
      yield* call(fake, "/library/sections/1/refresh")
      yield* TestClock.adjust("1 second")
      assert.isDefined(fake.state.itemByFile("/data/adult/other/two.mp4"))
    }))
})

describe("fake Plex: ledger, counter and faults", () => {
  it.scoped("the ledger records every mutating request, without the token; reads are only counted", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      const item = fake.state.addItem({ file: "/data/adult/l.mp4" })
      yield* TestClock.adjust("5 seconds")
      yield* call(fake, "/library/sections")
      yield* call(fake, `/library/metadata/${item.ratingKey}?title.value=T&X-Plex-Token=${fake.token}`, {
        method: "PUT",
        token: null
      })
      yield* call(fake, `/:/rate?key=${item.ratingKey}&identifier=com.plexapp.plugins.library&rating=4`)
      yield* call(fake, "/library/sections/1/refresh?path=%2Fdata%2Fadult")
      assert.strictEqual(fake.requests.count(), 4)
      const entries = fake.ledger.entries()
      assert.deepStrictEqual(entries.map((w) => [w.method, w.path, w.ratingKey, w.status, w.applied, w.at]), [
        ["PUT", `/library/metadata/${item.ratingKey}`, item.ratingKey, 200, true, 5_000],
        ["GET", "/:/rate", item.ratingKey, 200, true, 5_000],
        ["GET", "/library/sections/1/refresh", null, 200, true, 5_000]
      ])
      assert.deepStrictEqual(entries[0]?.params, { "title.value": "T" })
      assert.notInclude(JSON.stringify(entries), fake.token)
      assert.strictEqual(fake.ledger.forItem(item.ratingKey).length, 2)
    }))

  it.scoped("faults can be limited by count, method and path, and cleared", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      fake.faults.inject({ _tag: "Maintenance" }, { times: 1, path: "/library/sections" })
      fake.faults.inject({ _tag: "Status", status: 500 }, { method: "PUT" })
      const first = yield* call(fake, "/library/sections")
      assert.strictEqual(first.status, 503)
      assert.include(first.text, "<Response code=\"503\" title=\"Maintenance\"")
      assert.strictEqual((yield* call(fake, "/library/sections")).status, 200)
      assert.strictEqual((yield* call(fake, "/library/metadata/1?title.value=x", { method: "PUT" })).status, 500)
      fake.faults.clear()
      assert.strictEqual((yield* call(fake, "/library/metadata/1?title.value=x", { method: "PUT" })).status, 404)
    }))

  it.scoped("stopped, the fake refuses connections on its port; started again, it answers there", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      yield* fake.faults.refuseConnections
      assert.isFalse(fake.faults.isListening())
      const refused = yield* Effect.promise(() =>
        fetch(`${fake.url}/identity`).then(
          () => "answered",
          (error: { cause?: { code?: string } }) => error.cause?.code
        )
      )
      assert.strictEqual(refused, "ECONNREFUSED")
      yield* fake.faults.acceptConnections
      assert.strictEqual((yield* call(fake, "/identity")).status, 200)
    }))

  it.scopedLive("a stalled request is released when the fake closes, and closing does not hang", () =>
    Effect.gen(function*() {
      const fake = yield* FakePlex.start()
      fake.faults.inject({ _tag: "Stall" })
      const pending = fetch(`${fake.url}/identity`).then(() => "answered", () => "failed")
      yield* Effect.sleep("50 millis")
      yield* fake.close
      assert.strictEqual(yield* Effect.promise(() => pending), "failed")
    }))

  it.scoped("a reset mid-body sends the status line and part of the body, then drops the connection", () =>
    Effect.gen(function*() {
      const fake = yield* seeded
      fake.faults.inject({ _tag: "ResetMidBody" }, { times: 1 })
      const result = yield* Effect.promise(() =>
        fetch(`${fake.url}/library/sections`, { headers: { Accept: "application/json", "X-Plex-Token": fake.token } })
          .then(async (response) => {
            const status = response.status
            return response.text().then(() => `complete ${status}`, () => `cut off after ${status}`)
          }, () => "no response")
      )
      assert.strictEqual(result, "cut off after 200")
    }))
})

describe("fake Plex: scripts", () => {
  it("the Promise helper starts and stops it", async () => {
    const fake = await FakePlex.startFakePlex({ token: "script-token" })
    FakePlex.seedDemoLibrary(fake.state)
    const response = await fetch(`${fake.url}/library/sections`, {
      headers: { Accept: "application/json", "X-Plex-Token": "script-token" }
    })
    assert.strictEqual(response.status, 200)
    await fake.closePromise()
    assert.isFalse(fake.faults.isListening())
  })

  it("bin/fake-plex.ts prints its URL and serves the seeded library", async () => {
    const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@plexsync/source", "packages/testing/src/bin/fake-plex.ts"],
      { cwd: repoRoot, env: { ...process.env, PLEX_TOKEN: "bin-token" }, stdio: ["ignore", "pipe", "pipe"] }
    )
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ""
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString()
          const line = out.split("\n")[0]
          if (out.includes("\n") && line !== undefined) resolve(line.trim())
        })
        child.on("exit", (code) => reject(new Error(`fake-plex exited with ${code}`)))
      })
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
      const response = await fetch(`${url}/library/sections/1/all?type=1`, {
        headers: { Accept: "application/json", "X-Plex-Token": "bin-token" }
      })
      const body = (await response.json()) as { MediaContainer: { totalSize: number } }
      assert.strictEqual(body.MediaContainer.totalSize, 3)
    } finally {
      child.kill("SIGTERM")
    }
  })
})
