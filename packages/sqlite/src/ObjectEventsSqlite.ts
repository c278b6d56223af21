import type { ObjectEvent, ObjectEventInput, ObjectEventsService } from "@plexsync/domain/ObjectEvents"
import { ObjectChange, ObjectEvents } from "@plexsync/domain/ObjectEvents"
import { RelatedKind } from "@plexsync/domain/RelatedObjects"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import { Database } from "./Database.js"
import { chunksOf } from "./JobRows.js"
import { mergedFromColumn, RECORD_OBJECT_EVENT } from "./ObjectEventStatements.js"

/**
 * The Stash object events the plugin hooks recorded, on `object_events`, until they are expanded into scene jobs.
 * Recording is the one statement the hook's fast path also runs (`ObjectEventStatements`).
 */

interface Row {
  readonly id: number
  readonly kind: string
  readonly object_id: string
  readonly change: string
  readonly merged_from: string | null
  readonly recorded_at: number
}

const isKind = Schema.is(RelatedKind)
const isChange = Schema.is(ObjectChange)
const decodeIds = Schema.decodeUnknownOption(Schema.parseJson(Schema.Array(Schema.String)))

const decodeRow = (row: Row): Option.Option<ObjectEvent> => {
  if (!isKind(row.kind) || !isChange(row.change) || row.object_id === "") return Option.none()
  const mergedFrom = row.merged_from === null ? Option.some<ReadonlyArray<string>>([]) : decodeIds(row.merged_from)
  return Option.map(mergedFrom, (ids) => ({
    id: row.id,
    kind: row.kind as RelatedKind,
    objectId: row.object_id,
    change: row.change as ObjectChange,
    mergedFrom: ids,
    recordedAt: row.recorded_at
  }))
}

const IN_CHUNK = 500

export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const record = Effect.fn("ObjectEvents.record")(function*(event: ObjectEventInput) {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* sql.unsafe<{ readonly id: number }>(RECORD_OBJECT_EVENT, [
      event.kind,
      event.objectId,
      event.change,
      mergedFromColumn(event.mergedFrom),
      now
    ])
    return { eventId: rows[0]!.id }
  }, db.operation)

  const pending = Effect.fn("ObjectEvents.pending")(function*(limit: number) {
    const rows = yield* sql<Row>`SELECT id, kind, object_id, change, merged_from, recorded_at FROM object_events
      ORDER BY id LIMIT ${Math.max(1, Math.trunc(limit))}`
    const events: Array<ObjectEvent> = []
    const unreadable: Array<number> = []
    for (const row of rows) {
      const event = decodeRow(row)
      if (Option.isSome(event)) events.push(event.value)
      else unreadable.push(row.id)
    }
    return { events, unreadable }
  }, db.operation)

  const remove = Effect.fn("ObjectEvents.remove")(function*(ids: ReadonlyArray<number>) {
    if (ids.length === 0) return
    yield* db.immediate(Effect.forEach(
      chunksOf([...new Set(ids)], IN_CHUNK),
      (chunk) => sql`DELETE FROM object_events WHERE id IN ${sql.in(chunk)}`,
      { discard: true }
    ))
  }, db.operation)

  const count = Effect.map(
    sql<{ readonly n: number }>`SELECT count(*) AS n FROM object_events`,
    (rows) => rows[0]?.n ?? 0
  ).pipe(db.operation, Effect.withSpan("ObjectEvents.count"))

  return ObjectEvents.of({ record, pending, remove, count } satisfies ObjectEventsService)
})

export const layer: Layer.Layer<ObjectEvents, never, Database> = Layer.effect(ObjectEvents, make)
