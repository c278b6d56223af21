import type { KnownObjectsService, RelatedKind } from "@plexsync/domain/RelatedObjects"
import { KnownObjects } from "@plexsync/domain/RelatedObjects"
import { Effect, Layer, Option } from "effect"
import { Database } from "./Database.js"
import { chunksOf } from "./JobRows.js"

const IN_CHUNK = 500

/**
 * The Stash objects (tags, performers, studios, groups) known to exist, on `stash_objects`, with their number per
 * kind in `stash_object_kinds` kept in the same transaction: the change feed compares that one row with Stash's
 * count every poll and reads the whole list only when they differ.
 */
export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const count = Effect.fn("KnownObjects.count")(function*(kind: RelatedKind) {
    const rows = yield* sql<{ readonly count: number }>`SELECT count FROM stash_object_kinds WHERE kind = ${kind}`
    return Option.map(Option.fromNullable(rows[0]), (row) => row.count)
  }, db.operation)

  const versions = Effect.fn("KnownObjects.versions")(function*(kind: RelatedKind, ids: ReadonlyArray<string>) {
    const out = new Map<string, string | null>()
    for (const chunk of chunksOf([...new Set(ids)], IN_CHUNK)) {
      const rows = yield* sql<{ readonly object_id: string; readonly updated_at: string | null }>`
        SELECT object_id, updated_at FROM stash_objects WHERE kind = ${kind} AND object_id IN ${sql.in(chunk)}`
      for (const row of rows) out.set(row.object_id, row.updated_at)
    }
    return out as ReadonlyMap<string, string | null>
  }, db.operation)

  const ids = Effect.fn("KnownObjects.ids")(function*(kind: RelatedKind) {
    const rows = yield* sql<{ readonly object_id: string }>`SELECT object_id FROM stash_objects WHERE kind = ${kind}`
    return rows.map((row) => row.object_id) as ReadonlyArray<string>
  }, db.operation)

  const record = Effect.fn("KnownObjects.record")(function*(
    kind: RelatedKind,
    objects: ReadonlyArray<{ readonly id: string; readonly updatedAt: string | null }>
  ) {
    const latest = new Map<string, string | null>()
    for (const object of objects) latest.set(object.id, object.updatedAt ?? latest.get(object.id) ?? null)
    yield* db.immediate(Effect.gen(function*() {
      let added = 0
      for (const chunk of chunksOf([...latest.keys()], IN_CHUNK)) {
        const known = yield* sql<{ readonly object_id: string }>`SELECT object_id FROM stash_objects
          WHERE kind = ${kind} AND object_id IN ${sql.in(chunk)}`
        added += chunk.length - known.length
        const rows = chunk.map((id) => ({ kind, object_id: id, updated_at: latest.get(id) ?? null }))
        yield* sql`INSERT INTO stash_objects ${sql.insert(rows)} ON CONFLICT (kind, object_id) DO UPDATE SET
          updated_at = COALESCE(excluded.updated_at, stash_objects.updated_at)`
      }
      yield* sql`INSERT INTO stash_object_kinds (kind, count) VALUES (${kind}, ${added})
        ON CONFLICT (kind) DO UPDATE SET count = count + excluded.count`
    }))
  }, db.operation)

  const forget = Effect.fn("KnownObjects.forget")(function*(kind: RelatedKind, ids: ReadonlyArray<string>) {
    if (ids.length === 0) return
    yield* db.immediate(Effect.gen(function*() {
      let removed = 0
      for (const chunk of chunksOf([...new Set(ids)], IN_CHUNK)) {
        const rows = yield* sql<{ readonly object_id: string }>`DELETE FROM stash_objects
          WHERE kind = ${kind} AND object_id IN ${sql.in(chunk)} RETURNING object_id`
        removed += rows.length
      }
      yield* sql`UPDATE stash_object_kinds SET count = MAX(0, count - ${removed}) WHERE kind = ${kind}`
    }))
  }, db.operation)

  return KnownObjects.of({ count, versions, ids, record, forget } satisfies KnownObjectsService)
})

export const layer: Layer.Layer<KnownObjects, never, Database> = Layer.effect(KnownObjects, make)
