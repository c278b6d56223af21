import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe } from "@effect/vitest"
import type { LibraryChange } from "@plexsync/domain/PlexEvents"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as PlexEventsLive from "@plexsync/plex/PlexEventsLive"
import * as FakePlex from "@plexsync/testing/FakePlex"
import { withLayer } from "@plexsync/testing/TestSuites"
import { Chunk, Duration, Effect, Fiber, Redacted, Stream } from "effect"

const test = withLayer(NodeHttpClient.layerUndici)

const setup = Effect.gen(function*() {
  const fake = yield* FakePlex.start({ scanDelayMs: 150 })
  fake.state.addSection({ key: "2", title: "Scenes", locations: ["/data"] })
  const options = { url: fake.url, token: Redacted.make(fake.token), clientIdentifier: "plexsync-test-client" }
  const events = yield* PlexEventsLive.make({ ...options, reconnectMinMs: 20, reconnectMaxMs: 100 })
  const plex = yield* PlexClientLive.make(options)
  return { fake, events, plex }
})

/** Polls (real time) until `check` holds, up to 5 s. */
const eventually = (check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 250; i++) {
      if (yield* check) return
      yield* Effect.sleep(Duration.millis(20))
    }
    assert.fail("not within 5 s")
  })

const changesOf = (fiber: Fiber.Fiber<Chunk.Chunk<LibraryChange>>) =>
  Effect.map(Fiber.join(fiber), (changes) => Chunk.toArray(changes).map((c) => `${c._tag} ${c.sectionKey}`))

describe("Plex's event stream, live", () => {
  test.scopedLive("a scan is seen started, its new item added and the scan ended; scanning while it runs", () =>
    Effect.gen(function*() {
      const { events, fake, plex } = yield* setup
      fake.state.addPendingItem({ sectionKey: "2", file: "/data/Studio/new.mp4" })
      yield* eventually(Effect.map(events.status, (s) => s.connected))
      const seen = yield* Effect.fork(Stream.runCollect(Stream.take(events.changes, 3)))
      yield* Effect.sleep(Duration.millis(20))
      yield* plex.scan("2", "/data/Studio")
      yield* eventually(events.scanning("2"))
      assert.deepStrictEqual(yield* changesOf(seen), ["ScanStarted 2", "ItemAdded 2", "ScanEnded 2"])
      assert.isFalse(yield* events.scanning("2"))
      assert.isDefined(fake.state.itemByFile("/data/Studio/new.mp4"))
    }))

  test.scopedLive("a dropped stream is resumed; a scan in flight when it dropped counts as ended", () =>
    Effect.gen(function*() {
      const { events, fake, plex } = yield* setup
      fake.state.setScanDelay(10_000)
      yield* eventually(Effect.map(events.status, (s) => s.connected))
      const seen = yield* Effect.fork(Stream.runCollect(Stream.take(events.changes, 2)))
      yield* Effect.sleep(Duration.millis(20))
      yield* plex.scan("2", "/data")
      yield* eventually(events.scanning("2"))
      const first = yield* events.status
      assert.strictEqual(first.reconnects, 0)
      assert.isNotNull(first.connectedSince)
      fake.events.drop()
      yield* eventually(Effect.map(events.status, (s) => !s.connected))
      assert.isNull((yield* events.status).connectedSince, "not connected: no connection to date")
      assert.isFalse(yield* events.scanning("2"), "nothing is known to scan while disconnected")
      yield* eventually(Effect.map(events.status, (s) => s.connected))
      const resumed = yield* events.status
      assert.strictEqual(resumed.reconnects, 1, "the resumed stream counts as one reconnection")
      assert.isAtLeast(resumed.connectedSince!, first.connectedSince!)
      assert.deepStrictEqual(yield* changesOf(seen), ["ScanStarted 2", "ScanEnded 2"])
      // Events flow again on the new connection.
      fake.state.setScanDelay(50)
      const again = yield* Effect.fork(Stream.runCollect(Stream.take(events.changes, 2)))
      yield* Effect.sleep(Duration.millis(20))
      yield* plex.scan("2", "/data/Other")
      assert.deepStrictEqual(yield* changesOf(again), ["ScanStarted 2", "ScanEnded 2"])
    }))

  test.scopedLive("a Plex without the stream (404) or refusing connections is not an error: it is retried", () =>
    Effect.gen(function*() {
      const { events, fake } = yield* setup
      yield* eventually(Effect.map(events.status, (s) => s.connected))
      fake.faults.inject({ _tag: "Status", status: 404 }, { path: "/:/eventsource/notifications" })
      fake.events.drop()
      yield* eventually(Effect.map(events.status, (s) => s.detail?.includes("404") === true))
      yield* fake.faults.refuseConnections
      yield* eventually(Effect.map(events.status, (s) => s.detail?.includes("ECONNREFUSED") === true))
      fake.faults.clear()
      yield* fake.faults.acceptConnections
      yield* eventually(Effect.map(events.status, (s) => s.connected))
      assert.strictEqual(fake.events.listeners(), 1)
    }))
})
