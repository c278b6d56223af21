import { assert, describe, it } from "@effect/vitest"
import { StashQueryError } from "@plexsync/domain/Errors"
import { SceneId } from "@plexsync/domain/Ids"
import { StashClient } from "@plexsync/domain/StashClient"
import { Effect, Exit, Fiber, Option, TestClock } from "effect"
import { layer, sampleScene, SimStash, stashTime } from "../src/SimStash.js"

const ids = (...values: Array<number>) => values.map((v) => SceneId.make(String(v)))
/** The simulator and the StashClient it serves. */
const simAndClient = Effect.all({ sim: SimStash, stash: StashClient })
const scenes = (n: number) => Array.from({ length: n }, (_, i) => sampleScene(i + 1))

describe("SimStash", () => {
  it.effect("answers existence in batches and counts one request per batch", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* simAndClient
      const wanted = ids(...Array.from({ length: 2500 }, (_, i) => i + 1), 999_999)
      const found = yield* stash.existingSceneIds(wanted)
      assert.strictEqual(found.size, 2000)
      assert.isFalse(found.has(SceneId.make("999999")))
      assert.isFalse(found.has(SceneId.make("2001")))
      // 2501 distinct ids at 1000 per request
      assert.strictEqual(yield* sim.requests("existingSceneIds"), 3)
      assert.strictEqual(yield* sim.requests(), 3)
      const none = yield* stash.existingSceneIds([])
      assert.strictEqual(none.size, 0)
      assert.strictEqual(yield* sim.requests(), 3)
    }).pipe(Effect.provide(layer({ scenes: scenes(2000), batchSize: 1000 }))))

  it.effect("is down between two instants of Clock time, and up again after", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* simAndClient
      yield* sim.downBetween(1_000, 61_000)
      assert.isTrue(Option.isSome(yield* stash.findScene(SceneId.make("1"))))
      yield* TestClock.adjust("1 second")
      const down = yield* Effect.either(stash.findScene(SceneId.make("1")))
      assert.isTrue(down._tag === "Left" && down.left._tag === "StashUnavailable")
      yield* TestClock.adjust("59999 millis")
      assert.isTrue((yield* Effect.either(stash.health))._tag === "Left")
      yield* TestClock.adjust("1 millis")
      assert.isTrue((yield* stash.health).healthy)
      assert.deepStrictEqual(yield* sim.requestCounts, { findScene: 2, health: 2 })
      const log = yield* sim.log
      assert.deepStrictEqual(log.map((r) => r.failedWith), [null, "StashUnavailable", "StashUnavailable", null])
    }).pipe(Effect.provide(layer({ scenes: scenes(1) }))))

  it.effect("answers 401 after N calls", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* simAndClient
      yield* sim.authFailAfter(2)
      yield* stash.health
      yield* stash.findScene(SceneId.make("1"))
      const third = yield* Effect.either(stash.findScenes(ids(1)))
      assert.isTrue(third._tag === "Left" && third.left._tag === "StashAuthError" && third.left.status === 401)
      yield* sim.clearAuthFailure
      assert.strictEqual((yield* stash.findScenes(ids(1))).length, 1)
    }).pipe(Effect.provide(layer({ scenes: scenes(1) }))))

  it.effect("takes its latency on the TestClock", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* simAndClient
      yield* sim.setLatency("2 seconds", "findScene")
      const fiber = yield* Effect.fork(stash.findScene(SceneId.make("1")))
      yield* TestClock.adjust("1999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isSuccess(exit) && Option.isSome(exit.value))
      // other operations are not slowed
      const health = yield* Effect.fork(stash.health)
      yield* Effect.yieldNow()
      assert.isTrue(Option.isSome(yield* Fiber.poll(health)))
    }).pipe(Effect.provide(layer({ scenes: scenes(1) }))))

  it.effect("adds and deletes scenes on a timeline", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* simAndClient
      yield* sim.at(10_000, sim.deleteScenes(["2"]))
      yield* sim.at(20_000, sim.addScenes([sampleScene(7)]))
      assert.deepStrictEqual([...(yield* stash.existingSceneIds(ids(1, 2, 7)))].sort(), ["1", "2"])
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual([...(yield* stash.existingSceneIds(ids(1, 2, 7)))].sort(), ["1"])
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual([...(yield* stash.existingSceneIds(ids(1, 2, 7)))].sort(), ["1", "7"])
    }).pipe(Effect.provide(layer({ scenes: scenes(2) }))))

  it.effect("fails chosen requests once, then answers", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* simAndClient
      yield* sim.failNext("findScenes", new StashQueryError({ message: "database is locked" }), 2)
      assert.strictEqual((yield* Effect.either(stash.findScenes(ids(1))))._tag, "Left")
      assert.strictEqual((yield* Effect.either(stash.findScenes(ids(1))))._tag, "Left")
      assert.strictEqual((yield* stash.findScenes(ids(1))).length, 1)
    }).pipe(Effect.provide(layer({ scenes: scenes(1) }))))

  it.effect("bumps updated_at on update and pages the change feed by it, as Stash compares strings", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* simAndClient
      yield* TestClock.adjust("1 hour")
      yield* sim.updateScene("3", { title: "Renamed" })
      yield* TestClock.adjust("1 minute")
      yield* sim.updateScene("1", { rating100: 80 })
      const since = stashTime(30 * 60_000)
      const first = yield* stash.scenesUpdatedSince({ since, page: 1, perPage: 1 })
      const second = yield* stash.scenesUpdatedSince({ since, page: 2, perPage: 1 })
      assert.strictEqual(first.count, 2)
      assert.deepStrictEqual([first.items[0]!.id, second.items[0]!.id], ["3", "1"])
      assert.strictEqual(first.items[0]!.updatedAt, "1970-01-01T01:00:00Z")
      const all = yield* stash.scenesUpdatedSince({ since: null, page: 1, perPage: 10 })
      assert.strictEqual(all.count, 5)
      const renamed = yield* stash.findScene(SceneId.make("3"))
      assert.strictEqual(Option.getOrThrow(renamed).title, "Renamed")
    }).pipe(Effect.provide(layer({ scenes: scenes(5) }))))

  it.effect("lists scenes by id, pages 1-based, and serves covers that change with the scene", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* simAndClient
      const page2 = yield* stash.listScenes({ page: 2, perPage: 4 })
      assert.deepStrictEqual(page2.items.map((s) => s.id), ["5", "6", "7", "8"])
      assert.strictEqual(page2.count, 12)
      const scene = Option.getOrThrow(yield* stash.findScene(SceneId.make("10")))
      const before = Option.getOrThrow(yield* stash.screenshot(scene))
      yield* TestClock.adjust("5 seconds")
      const updated = yield* sim.updateScene("10", { details: "new" })
      const after = Option.getOrThrow(yield* stash.screenshot(updated))
      assert.notDeepEqual(before.bytes, after.bytes)
      yield* sim.setScreenshot("10", null)
      assert.isTrue(Option.isNone(yield* stash.screenshot(updated)))
    }).pipe(Effect.provide(layer({ scenes: scenes(12) }))))

  it.effect("fails queries while Stash is not set up, but reports it in health", () =>
    Effect.gen(function*() {
      const { sim, stash } = yield* simAndClient
      yield* sim.setStatus("NEEDS_MIGRATION")
      const health = yield* stash.health
      assert.deepStrictEqual([health.status, health.healthy], ["NEEDS_MIGRATION", false])
      const failed = yield* Effect.either(stash.existingSceneIds(ids(1)))
      assert.isTrue(failed._tag === "Left" && failed.left._tag === "StashQueryError")
    }).pipe(Effect.provide(layer({ scenes: scenes(1) }))))
})
