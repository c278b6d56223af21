import { SqlClient } from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { ObjectEvents } from "@plexsync/domain/ObjectEvents"
import { Effect, TestClock } from "effect"
import { freshStore } from "./support.js"

describe("ObjectEvents on SQLite", () => {
  it.scoped("keeps recorded events, oldest first, until they are removed", () =>
    Effect.gen(function*() {
      const events = yield* ObjectEvents
      yield* TestClock.setTime(1_000)
      const a = yield* events.record({ kind: "tag", objectId: "21", change: "changed" })
      const b = yield* events.record({ kind: "performer", objectId: "4", change: "deleted" })
      const c = yield* events.record({ kind: "tag", objectId: "5", change: "changed", mergedFrom: ["3", "4"] })
      assert.isBelow(a.eventId, b.eventId)
      assert.strictEqual(yield* events.count, 3)

      const pending = yield* events.pending(10)
      assert.deepStrictEqual(pending.unreadable, [])
      assert.deepStrictEqual(
        pending.events.map((e) => [e.id, e.kind, e.objectId, e.change, e.mergedFrom, e.recordedAt]),
        [
          [a.eventId, "tag", "21", "changed", [], 1_000],
          [b.eventId, "performer", "4", "deleted", [], 1_000],
          [c.eventId, "tag", "5", "changed", ["3", "4"], 1_000]
        ]
      )
      assert.deepStrictEqual((yield* events.pending(1)).events.map((e) => e.id), [a.eventId])

      yield* events.remove([a.eventId, c.eventId])
      assert.deepStrictEqual((yield* events.pending(10)).events.map((e) => e.id), [b.eventId])
      assert.strictEqual(yield* events.count, 1)
    }).pipe(Effect.provide(freshStore())))

  it.scoped("reports a row it cannot read by id instead of failing the others", () =>
    Effect.gen(function*() {
      const events = yield* ObjectEvents
      const sql = yield* SqlClient
      const good = yield* events.record({ kind: "studio", objectId: "1", change: "changed" })
      yield* sql`INSERT INTO object_events (kind, object_id, change, merged_from, recorded_at)
        VALUES ('scene', '1', 'changed', NULL, 0), ('tag', '2', 'changed', 'not json', 0)`
      const pending = yield* events.pending(10)
      assert.deepStrictEqual(pending.events.map((e) => e.id), [good.eventId])
      assert.lengthOf(pending.unreadable, 2)
    }).pipe(Effect.provide(freshStore())))
})
