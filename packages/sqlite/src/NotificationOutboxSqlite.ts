import type { Delivery, NotificationOutboxService, OutboxSummary } from "@plexsync/domain/Notification"
import { NotificationOutbox, NotifyEvent } from "@plexsync/domain/Notification"
import { Effect, Either, Layer, Schema } from "effect"
import { Database } from "./Database.js"
import { rowDecoder } from "./SqliteErrors.js"

/**
 * The notification outbox on `notify_events` (one row per event key, unique) and `notify_deliveries` (one row per
 * event and sink). Recording an event and its deliveries is one transaction, so an event is delivered to every sink
 * or recorded for none.
 */

const DeliveryRow = Schema.Struct({
  id: Schema.Int,
  key: Schema.String,
  sink: Schema.String,
  attempts: Schema.Int.pipe(Schema.nonNegative()),
  event: Schema.parseJson(NotifyEvent)
})

const decodeDelivery = rowDecoder(DeliveryRow, "notify_events")
const encodeEvent = Schema.encodeSync(Schema.parseJson(NotifyEvent))

export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const known = Effect.fn("NotificationOutbox.known")(function*(keys: ReadonlyArray<string>) {
    if (keys.length === 0) return new Set<string>()
    const rows = yield* sql<{ readonly key: string }>`SELECT key FROM notify_events WHERE ${sql.in("key", keys)}`
    return new Set(rows.map((r) => r.key))
  }, db.operation)

  const record = Effect.fn("NotificationOutbox.record")(
    function*(key: string, event: NotifyEvent, sinks: ReadonlyArray<string>, now: number) {
      const text = encodeEvent(event)
      return yield* db.immediate(Effect.gen(function*() {
        const inserted = yield* sql<{ readonly id: number }>`INSERT INTO notify_events (key, event, created_at)
          VALUES (${key}, ${text}, ${Math.trunc(now)}) ON CONFLICT (key) DO NOTHING RETURNING id`
        const id = inserted[0]?.id
        if (id === undefined) return false
        for (const sink of new Set(sinks)) {
          yield* sql`INSERT INTO notify_deliveries (event_id, sink, next_attempt_at)
            VALUES (${id}, ${sink}, ${Math.trunc(now)})`
        }
        return true
      }))
    },
    db.operation
  )

  const due = Effect.fn("NotificationOutbox.due")(
    function*(sinks: ReadonlyArray<string>, now: number, limit: number) {
      if (sinks.length === 0) return []
      const rows = yield* sql<{ readonly id: number }>`SELECT d.id AS id, e.key AS key, d.sink AS sink,
          d.attempts AS attempts, e.event AS event
        FROM notify_deliveries d JOIN notify_events e ON e.id = d.event_id
        WHERE d.delivered_at IS NULL AND d.abandoned_at IS NULL AND d.next_attempt_at <= ${Math.trunc(now)}
          AND ${sql.in("d.sink", sinks)}
        ORDER BY d.next_attempt_at, d.id LIMIT ${Math.max(0, Math.trunc(limit))}`
      const out: Array<Delivery> = []
      for (const row of rows) {
        const decoded = decodeDelivery(row, row.id)
        if (Either.isRight(decoded)) {
          out.push(decoded.right)
          continue
        }
        // A damaged row would be due forever; it is given up, with the reason kept on it.
        yield* Effect.logWarning(decoded.left.message)
        yield* sql`UPDATE notify_deliveries SET abandoned_at = ${Math.trunc(now)},
          last_error = ${"the stored event does not decode"} WHERE id = ${row.id}`
      }
      return out
    },
    db.operation
  )

  const delivered = Effect.fn("NotificationOutbox.delivered")(function*(id: number, at: number) {
    yield* sql`UPDATE notify_deliveries SET delivered_at = ${Math.trunc(at)}, attempts = attempts + 1,
      last_attempt_at = ${Math.trunc(at)} WHERE id = ${id}`
  }, db.operation)

  const failed = Effect.fn("NotificationOutbox.failed")(
    function*(id: number, failure: { readonly at: number; readonly error: string; readonly retryAt: number | null }) {
      const at = Math.trunc(failure.at)
      yield* failure.retryAt === null
        ? sql`UPDATE notify_deliveries SET attempts = attempts + 1, last_attempt_at = ${at},
            last_error = ${failure.error}, abandoned_at = ${at} WHERE id = ${id}`
        : sql`UPDATE notify_deliveries SET attempts = attempts + 1, last_attempt_at = ${at},
            last_error = ${failure.error}, next_attempt_at = ${Math.trunc(failure.retryAt)} WHERE id = ${id}`
    },
    db.operation
  )

  const summary = Effect.fn("NotificationOutbox.summary")(function*(sinks: ReadonlyArray<string>) {
    if (sinks.length === 0) return { pending: 0, abandoned: 0, lastFailure: null } satisfies OutboxSummary
    const counts = yield* sql<{ readonly pending: number | null; readonly abandoned: number | null }>`SELECT
        sum(CASE WHEN delivered_at IS NULL AND abandoned_at IS NULL THEN 1 ELSE 0 END) AS pending,
        sum(CASE WHEN abandoned_at IS NOT NULL THEN 1 ELSE 0 END) AS abandoned
      FROM notify_deliveries WHERE ${sql.in("sink", sinks)}`
    const last = yield* sql<
      { readonly at: number; readonly sink: string; readonly key: string; readonly error: string }
    >`SELECT d.last_attempt_at AS at, d.sink AS sink, e.key AS key, d.last_error AS error
      FROM notify_deliveries d JOIN notify_events e ON e.id = d.event_id
      WHERE d.last_error IS NOT NULL AND d.last_attempt_at IS NOT NULL AND ${sql.in("d.sink", sinks)}
      ORDER BY d.last_attempt_at DESC LIMIT 1`
    const failure = last[0]
    return {
      pending: counts[0]?.pending ?? 0,
      abandoned: counts[0]?.abandoned ?? 0,
      lastFailure: failure === undefined
        ? null
        : { at: failure.at, sink: failure.sink, event: failure.key.replace(/:.*$/, ""), error: failure.error }
    } satisfies OutboxSummary
  }, db.operation)

  const purgeOlderThan = Effect.fn("NotificationOutbox.purgeOlderThan")(function*(cutoff: number) {
    return yield* db.immediate(Effect.gen(function*() {
      yield* sql`DELETE FROM notify_deliveries WHERE event_id IN
        (SELECT id FROM notify_events WHERE created_at < ${Math.trunc(cutoff)})`
      const deleted = yield* sql<{ readonly id: number }>`DELETE FROM notify_events
        WHERE created_at < ${Math.trunc(cutoff)} RETURNING id`
      return deleted.length
    }))
  }, db.operation)

  return NotificationOutbox.of(
    { known, record, due, delivered, failed, summary, purgeOlderThan } satisfies NotificationOutboxService
  )
})

export const layer: Layer.Layer<NotificationOutbox, never, Database> = Layer.effect(NotificationOutbox, make)
