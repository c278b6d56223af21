import { NodeHttpClient } from "@effect/platform-node"
import { assert, it } from "@effect/vitest"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as FakePlex from "@plexsync/testing/FakePlex"
import { findSpecOperation } from "@plexsync/testing/PlexSpecs"
import { describeWithSpec, plexSpec } from "@plexsync/testing/TestSuites"
import { Effect, Option, Redacted } from "effect"

const unchecked = "the method and path of every request the Plex client sends"

describeWithSpec("requests the client sends, against the Plex OpenAPI specs", plexSpec(unchecked), () => {
  it.scoped(
    "every method and path is documented in the current or the legacy spec, and carries the client headers",
    () =>
      Effect.gen(function*() {
        const fake = yield* FakePlex.start()
        fake.state.addSection({ key: "1", locations: ["/data"] })
        const added = fake.state.addItem({ file: "/data/a.mp4" })
        const client = yield* PlexClientLive.make({
          url: fake.url,
          token: Redacted.make(fake.token),
          clientIdentifier: "spec-check"
        })
        const item = Option.getOrThrow(yield* client.getItem(added.ratingKey))
        yield* client.health
        yield* client.findByFile("1", "/data/a.mp4")
        yield* client.listSection("1", { start: 0, size: 10 })
        yield* client.edit(item, { scalars: { title: "x" }, tags: { genre: { set: ["g"], remove: [] } }, lock: true })
        yield* client.edit({ ...item, sectionKey: null }, { scalars: { title: "y" }, tags: {}, lock: true })
        yield* client.rate(added.ratingKey, 5)
        yield* client.uploadPoster(added.ratingKey, { bytes: new Uint8Array([1, 2]), contentType: "image/png" })
        yield* client.scan("1", "/data")

        const requests = fake.requests.log()
        assert.isAtLeast(requests.length, 10)
        const undocumented: Array<string> = []
        const documented = new Set<string>()
        for (const request of requests) {
          const found = findSpecOperation(request.method, request.path)
          if (found === undefined) undocumented.push(`${request.method} ${request.path}`)
          else documented.add(`${request.method} ${found.template} (${found.spec})`)
          assert.strictEqual(request.headers["x-plex-token"], "<redacted>", "token header present")
          assert.strictEqual(request.headers["x-plex-client-identifier"], "spec-check")
          assert.strictEqual(request.headers["accept"], "application/json")
        }
        assert.deepStrictEqual(undocumented, [])
        assert.includeMembers([...documented], [
          "GET /identity (current)",
          "PUT /:/rate (current)",
          "PUT /library/metadata/{ids} (current)"
        ])
      }).pipe(Effect.provide(NodeHttpClient.layer))
  )
})
