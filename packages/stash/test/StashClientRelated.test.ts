import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { Effect, Option } from "effect"

/** 2025-05-01T10:00:00+10:00 */
const start = Date.UTC(2025, 4, 1, 0, 0, 0)

const setup = (options: FakeStash.FakeStashOptions = {}) =>
  Effect.gen(function*() {
    const fake = yield* FakeStash.start({ utcOffsetMinutes: 600, now: () => start, ...options })
    const client = yield* StashClientLive.make({ url: fake.url, apiKey: Option.none() }).pipe(Effect.orDie)
    const { state } = fake
    const parent = state.addStudio({ name: "Network" })
    const studio = state.addStudio({ name: "Harbour", parentId: parent.id })
    const alex = state.addPerformer({ name: "Alex" })
    const tags = ["Night", "Drama", "Beach"].map((name) => state.addTag({ name }))
    const group = state.addGroup({ name: "Series" })
    const scenes = Array.from({ length: 5 }, (_, i) =>
      state.addScene({
        title: `Scene ${i + 1}`,
        files: [`/v/${i + 1}.mp4`],
        tagIds: [tags[i % 3]!.id],
        performerIds: i < 2 ? [alex.id] : [],
        studioId: i === 4 ? parent.id : studio.id,
        groups: i === 3 ? [{ groupId: group.id }] : []
      }))
    state.advanceClock(60_000)
    return { fake, client, studio, parent, alex, tags, group, scenes }
  }).pipe(Effect.provide(NodeHttpClient.layer))

describe("the fake Stash: related objects as Stash keeps them", () => {
  it.scopedLive("a rename bumps the object's updated_at, never its scenes'", () =>
    Effect.gen(function*() {
      const { fake, scenes, tags } = yield* setup()
      const before = fake.state.scene(scenes[0]!.id)!.updatedAt
      const renamed = fake.state.renameTag(tags[0]!.id, "Nighttime")
      assert.isTrue(renamed.updatedAt > tags[0]!.updatedAt)
      assert.strictEqual(fake.state.scene(scenes[0]!.id)!.updatedAt, before)
    }))

  it.scopedLive("destroy cascades the scene links and leaves the scenes' updated_at; tagsMerge moves links", () =>
    Effect.gen(function*() {
      const { fake, scenes, tags, alex, studio } = yield* setup()
      const stamps = scenes.map((scene) => fake.state.scene(scene.id)!.updatedAt)
      assert.isTrue(fake.state.destroyRelated("performer", alex.id))
      assert.isTrue(fake.state.destroyRelated("studio", studio.id))
      assert.deepStrictEqual(fake.state.scene(scenes[0]!.id)!.performerIds, [])
      assert.strictEqual(fake.state.scene(scenes[0]!.id)!.studioId, null)
      fake.state.advanceClock(5_000)
      const merged = fake.state.mergeTags([tags[1]!.id, tags[2]!.id], tags[0]!.id)
      assert.isTrue(merged.updatedAt > tags[0]!.updatedAt)
      assert.strictEqual(fake.state.tag(tags[1]!.id), undefined)
      assert.deepStrictEqual(fake.state.scenes().map((scene) => scene.tagIds), scenes.map(() => [tags[0]!.id]))
      assert.deepStrictEqual(fake.state.scenes().map((scene) => scene.updatedAt), stamps)
    }))

  it.scopedLive("the mutations do the same over HTTP, as a user would in Stash's UI", () =>
    Effect.gen(function*() {
      const { fake, tags, scenes } = yield* setup()
      const post = (query: string, variables: Record<string, unknown>) =>
        Effect.promise(() =>
          fetch(`${fake.url}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ query, variables })
          }).then((response) => response.json() as Promise<{ data?: unknown; errors?: unknown }>)
        )
      const updated = yield* post(
        "mutation($id: ID!) { tagUpdate(input: { id: $id, name: \"Late\" }) { id name updated_at } }",
        { id: tags[0]!.id }
      )
      assert.strictEqual((updated.data as { tagUpdate: { name: string } }).tagUpdate.name, "Late")
      const merged = yield* post(
        "mutation($s: [ID!]!, $d: ID!) { tagsMerge(input: { source: $s, destination: $d }) { id } }",
        { s: [tags[1]!.id], d: tags[0]!.id }
      )
      assert.deepStrictEqual(merged.data, { tagsMerge: { id: tags[0]!.id } })
      const destroyed = yield* post("mutation($id: ID!) { tagDestroy(input: { id: $id }) }", { id: tags[2]!.id })
      assert.deepStrictEqual(destroyed.data, { tagDestroy: true })
      assert.deepStrictEqual(fake.state.scene(scenes[2]!.id)!.tagIds, [])
      const missing = yield* post("mutation { performerDestroy(input: { id: \"99\" }) }", {})
      assert.isDefined(missing.errors)
    }))
})

describe("StashClientLive: related objects over HTTP", () => {
  it.scopedLive("lists objects changed since a time, oldest first, ids, names and Stash's own strings", () =>
    Effect.gen(function*() {
      const { client, fake, tags, alex } = yield* setup()
      const since = fake.state.nowString()
      fake.state.advanceClock(1_000)
      fake.state.renameTag(tags[2]!.id, "Shore")
      fake.state.advanceClock(1_000)
      fake.state.renameTag(tags[0]!.id, "Late")
      fake.state.renamePerformer(alex.id, "Alex D.")
      const changed = yield* client.relatedUpdatedSince({ kind: "tag", since, page: 1, perPage: 10 })
      assert.deepStrictEqual(changed.items.map((item) => [item.id, item.name]), [[tags[2]!.id, "Shore"], [
        tags[0]!.id,
        "Late"
      ]])
      assert.strictEqual(changed.count, 2)
      assert.strictEqual(changed.items[1]!.updatedAt, fake.state.tag(tags[0]!.id)!.updatedAt)
      assert.match(changed.items[1]!.updatedAt, /\+10:00$/)
      const all = yield* client.relatedUpdatedSince({ kind: "tag", since: null, page: 2, perPage: 2 })
      assert.deepStrictEqual(all.items.map((item) => item.id), [tags[0]!.id])
      const performers = yield* client.relatedUpdatedSince({ kind: "performer", since, page: 1, perPage: 10 })
      assert.deepStrictEqual(performers.items.map((item) => item.name), ["Alex D."])
      const latest = yield* client.relatedLatest("tag")
      assert.strictEqual(Option.getOrThrow(latest).id, tags[0]!.id)
      assert.isTrue(Option.isNone(
        yield* client.relatedLatest("group").pipe(
          Effect.tap(() => Effect.sync(() => fake.state.destroyRelated("group", "1"))),
          Effect.zipRight(client.relatedLatest("group"))
        )
      ))
    }))

  it.scopedLive("counts cheaply and lists every id in pages", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      yield* fake.resetRequests
      assert.strictEqual(yield* client.relatedCount("tag"), 3)
      assert.strictEqual(yield* client.relatedCount("studio"), 2)
      assert.strictEqual(yield* client.relatedCount("group"), 1)
      const count = fake.requests.find((request) => request.operationName === "TagsCount")!
      // One row at most, and only the count asked for: per_page 0 and -1 mean other things to some Stash versions.
      assert.include(count.query!, "per_page: 1")
      const first = yield* client.relatedIds({ kind: "tag", page: 1, perPage: 2 })
      const second = yield* client.relatedIds({ kind: "tag", page: 2, perPage: 2 })
      assert.deepStrictEqual([...first.items, ...second.items], ["1", "2", "3"])
      assert.strictEqual(first.count, 3)
    }))

  it.scopedLive("finds the scenes using objects: exactly these (depth 0), in keyset pages of scene ids", () =>
    Effect.gen(function*() {
      const { client, fake, tags, parent, group, alex } = yield* setup()
      const page1 = yield* client.scenesWithRelated({
        kind: "tag",
        ids: [tags[0]!.id, tags[1]!.id],
        afterId: null,
        perPage: 2
      })
      assert.deepStrictEqual<ReadonlyArray<string>>(page1.items, ["1", "2"])
      assert.strictEqual(page1.count, 4)
      const page2 = yield* client.scenesWithRelated({
        kind: "tag",
        ids: [tags[0]!.id, tags[1]!.id],
        afterId: page1.items[1]!,
        perPage: 2
      })
      assert.deepStrictEqual<ReadonlyArray<string>>(page2.items, ["4", "5"])
      // The parent studio itself has scene 5 only; its sub-studio's scenes are not included (depth 0).
      const studio = yield* client.scenesWithRelated({ kind: "studio", ids: [parent.id], afterId: null, perPage: 10 })
      assert.deepStrictEqual<ReadonlyArray<string>>(studio.items, ["5"])
      const groups = yield* client.scenesWithRelated({ kind: "group", ids: [group.id], afterId: null, perPage: 10 })
      assert.deepStrictEqual<ReadonlyArray<string>>(groups.items, ["4"])
      const performers = yield* client.scenesWithRelated({
        kind: "performer",
        ids: [alex.id],
        afterId: null,
        perPage: 10
      })
      assert.deepStrictEqual<ReadonlyArray<string>>(performers.items, ["1", "2"])
      yield* fake.resetRequests
      const none = yield* client.scenesWithRelated({ kind: "tag", ids: [], afterId: null, perPage: 10 })
      assert.deepStrictEqual(none, { items: [], count: 0 })
      assert.strictEqual(fake.requests.length, 0)
    }))

  it.scopedLive("groups are movies on a Stash older than v0.27", () =>
    Effect.gen(function*() {
      const { client, fake, group } = yield* setup({ schemaVersion: "legacy" })
      assert.strictEqual(yield* client.relatedCount("group"), 1)
      const scenes = yield* client.scenesWithRelated({ kind: "group", ids: [group.id], afterId: null, perPage: 10 })
      assert.deepStrictEqual<ReadonlyArray<string>>(scenes.items, ["4"])
      assert.isTrue(fake.requests.some((request) => request.operationName === "MoviesCount"))
    }))

  it.scopedLive("maps Stash's errors as every other query does", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup()
      fake.faults.status = 503
      const down = yield* Effect.flip(client.relatedCount("tag"))
      assert.strictEqual(down._tag, "StashUnavailable")
      fake.faults.clear()
      fake.faults.resolverError = "database is locked"
      const failed = yield* Effect.flip(
        client.relatedUpdatedSince({ kind: "studio", since: null, page: 1, perPage: 5 })
      )
      assert.strictEqual(failed._tag, "StashQueryError")
      assert.include(failed.message, "database is locked")
    }))
})
