import { Millis, SceneId } from "@plexsync/domain/Ids"
import type { RelatedKind } from "@plexsync/domain/RelatedObjects"
import { RelatedIds, relatedKinds } from "@plexsync/domain/RelatedObjects"
import type { SyncStateService } from "@plexsync/domain/SyncState"
import { ItemWrite, SceneSyncState, SyncState, WrittenFields } from "@plexsync/domain/SyncState"
import { Effect, Either, Layer, Option, Schema } from "effect"
import { Database } from "./Database.js"
import { chunksOf } from "./JobRows.js"
import { rowDecoder } from "./SqliteErrors.js"

interface SyncStateRecord {
  readonly scene_id: string
}

const SyncStateRow = Schema.Struct({
  scene_id: SceneId,
  stash_updated_at: Schema.String,
  content_hash: Schema.String,
  rating_key: Schema.NullOr(Schema.String),
  plex_file: Schema.NullOr(Schema.String),
  image_hash: Schema.NullOr(Schema.String),
  written: Schema.parseJson(WrittenFields),
  synced_at: Millis,
  related: Schema.optional(Schema.NullOr(Schema.parseJson(RelatedIds))),
  copies: Schema.optional(Schema.NullOr(Schema.parseJson(Schema.Array(Schema.String))))
})

const ItemWriteRow = Schema.Struct({
  rating_key: Schema.String,
  scene_id: SceneId,
  written: Schema.parseJson(WrittenFields),
  image_hash: Schema.NullOr(Schema.String),
  written_at: Millis
})

interface ItemWriteRecord {
  readonly rating_key: string
}

const decodeRow = rowDecoder(SyncStateRow, "sync_state")
const decodeItemRow = rowDecoder(ItemWriteRow, "item_writes")
const encodeKeys = Schema.encode(Schema.parseJson(Schema.Array(Schema.String)))
const encodeWritten = Schema.encode(Schema.parseJson(WrittenFields))
const encodeRelated = Schema.encode(Schema.parseJson(RelatedIds))

const IN_CHUNK = 500

/**
 * Per-scene sync state on the `sync_state` table. A damaged row is logged and read as "no state": the scene is
 * then matched and written afresh, and `put` replaces the row — safer than failing every sync of that scene.
 */
export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const decode = (row: SyncStateRecord) =>
    Either.match(decodeRow(row, row.scene_id), {
      onLeft: (error) =>
        Effect.as(
          Effect.logWarning(`${error.message} The scene is treated as never synced.`),
          Option.none<SceneSyncState>()
        ),
      onRight: (r) =>
        Effect.succeedSome(
          new SceneSyncState({
            sceneId: r.scene_id,
            stashUpdatedAt: r.stash_updated_at,
            contentHash: r.content_hash,
            ratingKey: r.rating_key,
            copies: r.copies ?? [],
            plexFile: r.plex_file,
            imageHash: r.image_hash,
            written: r.written,
            syncedAt: r.synced_at,
            ...(r.related === null || r.related === undefined ? {} : { related: r.related })
          }, true)
        )
    })

  const get = Effect.fn("SyncState.get")(function*(sceneId: SceneId) {
    const rows = yield* sql<SyncStateRecord>`SELECT * FROM sync_state WHERE scene_id = ${sceneId}`
    return rows[0] === undefined ? Option.none<SceneSyncState>() : yield* decode(rows[0])
  }, db.operation)

  const getMany = Effect.fn("SyncState.getMany")(function*(sceneIds: ReadonlyArray<SceneId>) {
    const out: Array<SceneSyncState> = []
    for (const chunk of chunksOf([...new Set(sceneIds)], IN_CHUNK)) {
      const rows = yield* sql<SyncStateRecord>`SELECT * FROM sync_state WHERE scene_id IN ${sql.in(chunk)}`
      for (const row of rows) {
        const state = yield* decode(row)
        if (Option.isSome(state)) out.push(state.value)
      }
    }
    return out as ReadonlyArray<SceneSyncState>
  }, db.operation)

  /** The row and its related-object links (in a transaction of its own, or the caller's). */
  const putRow = Effect.fnUntraced(function*(state: SceneSyncState) {
    const written = yield* Effect.orDie(encodeWritten(state.written))
    const copies = state.copies.length === 0 ? null : yield* Effect.orDie(encodeKeys(state.copies))
    const row = {
      scene_id: state.sceneId,
      stash_updated_at: state.stashUpdatedAt,
      content_hash: state.contentHash,
      rating_key: state.ratingKey,
      plex_file: state.plexFile,
      image_hash: state.imageHash,
      written,
      synced_at: state.syncedAt,
      copies
    }
    const related = state.related
    if (related === undefined) {
      // A state without related ids (read from an older row, or built without them) keeps what is stored.
      yield* sql`INSERT INTO sync_state ${sql.insert(row)} ON CONFLICT (scene_id) DO UPDATE SET
        stash_updated_at = excluded.stash_updated_at, content_hash = excluded.content_hash,
        rating_key = excluded.rating_key, plex_file = excluded.plex_file, image_hash = excluded.image_hash,
        written = excluded.written, synced_at = excluded.synced_at, copies = excluded.copies`
      return
    }
    const relatedJson = yield* Effect.orDie(encodeRelated(related))
    const links = relatedKinds.flatMap((kind) =>
      [...new Set(related[kind])].map((objectId) => ({ kind, object_id: objectId, scene_id: state.sceneId }))
    )
    yield* db.immediate(Effect.gen(function*() {
      yield* sql`INSERT INTO sync_state ${sql.insert({ ...row, related: relatedJson })}
        ON CONFLICT (scene_id) DO UPDATE SET
        stash_updated_at = excluded.stash_updated_at, content_hash = excluded.content_hash,
        rating_key = excluded.rating_key, plex_file = excluded.plex_file, image_hash = excluded.image_hash,
        written = excluded.written, synced_at = excluded.synced_at, related = excluded.related,
        copies = excluded.copies`
      yield* sql`DELETE FROM sync_related INDEXED BY sync_related_scene WHERE scene_id = ${state.sceneId}`
      for (const chunk of chunksOf(links, 300)) {
        yield* sql`INSERT OR IGNORE INTO sync_related ${sql.insert(chunk)}`
      }
    }))
  })

  const put = Effect.fn("SyncState.put")((state: SceneSyncState) => putRow(state), db.operation)

  const writtenOn = Effect.fn("SyncState.writtenOn")(function*(ratingKeys: ReadonlyArray<string>) {
    const out = new Map<string, ItemWrite>()
    for (const chunk of chunksOf([...new Set(ratingKeys)], IN_CHUNK)) {
      const rows = yield* sql<ItemWriteRecord>`SELECT * FROM item_writes WHERE rating_key IN ${sql.in(chunk)}`
      for (const row of rows) {
        const decoded = decodeItemRow(row, row.rating_key)
        if (Either.isLeft(decoded)) {
          // Read as "nothing written there": the next sync writes the item in full and replaces the row.
          yield* Effect.logWarning(`${decoded.left.message} What plexsync wrote to the item is treated as unknown.`)
          continue
        }
        const r = decoded.right
        out.set(
          r.rating_key,
          new ItemWrite({
            ratingKey: r.rating_key,
            sceneId: r.scene_id,
            written: r.written,
            imageHash: r.image_hash,
            writtenAt: r.written_at
          }, true)
        )
      }
    }
    return out as ReadonlyMap<string, ItemWrite>
  }, db.operation)

  const record = Effect.fn("SyncState.record")(function*(state: SceneSyncState, items: ReadonlyArray<ItemWrite>) {
    const rows: Array<Record<string, unknown>> = []
    for (const item of items) {
      rows.push({
        rating_key: item.ratingKey,
        scene_id: item.sceneId,
        written: yield* Effect.orDie(encodeWritten(item.written)),
        image_hash: item.imageHash,
        written_at: item.writtenAt
      })
    }
    yield* db.immediate(Effect.gen(function*() {
      for (const row of rows) {
        // The scene the item was written for before, if another: its remembered match to the item is forgotten.
        yield* sql`UPDATE sync_state SET rating_key = NULL, plex_file = NULL WHERE scene_id IN (
          SELECT scene_id FROM item_writes WHERE rating_key = ${row["rating_key"] as string}
            AND scene_id <> ${state.sceneId}) AND rating_key = ${row["rating_key"] as string}`
        yield* sql`INSERT INTO item_writes ${sql.insert(row)} ON CONFLICT (rating_key) DO UPDATE SET
          scene_id = excluded.scene_id, written = excluded.written, image_hash = excluded.image_hash,
          written_at = excluded.written_at`
      }
      yield* putRow(state)
    }))
  }, db.operation)

  const remove = Effect.fn("SyncState.remove")(function*(sceneId: SceneId) {
    yield* db.immediate(Effect.gen(function*() {
      yield* sql`DELETE FROM sync_state WHERE scene_id = ${sceneId}`
      yield* sql`DELETE FROM sync_related INDEXED BY sync_related_scene WHERE scene_id = ${sceneId}`
    }))
  }, db.operation)

  const scenesRelatedTo = Effect.fn("SyncState.scenesRelatedTo")(function*(
    kind: RelatedKind,
    objectIds: ReadonlyArray<string>
  ) {
    const out = new Set<SceneId>()
    for (const chunk of chunksOf([...new Set(objectIds)], IN_CHUNK)) {
      const rows = yield* sql<{ readonly scene_id: string }>`SELECT DISTINCT scene_id FROM sync_related
        WHERE kind = ${kind} AND object_id IN ${sql.in(chunk)}`
      for (const row of rows) out.add(row.scene_id as SceneId)
    }
    return [...out] as ReadonlyArray<SceneId>
  }, db.operation)

  const scenesWithUnknownRelated = Effect.map(
    sql<{ readonly scene_id: string }>`SELECT scene_id FROM sync_state INDEXED BY sync_state_related_unknown
      WHERE related IS NULL ORDER BY scene_id`,
    (rows) => rows.map((row) => row.scene_id as SceneId) as ReadonlyArray<SceneId>
  ).pipe(db.operation, Effect.withSpan("SyncState.scenesWithUnknownRelated"))

  const forgetMatch = Effect.fn("SyncState.forgetMatch")(function*(sceneId: SceneId) {
    yield* sql`UPDATE sync_state SET rating_key = NULL, plex_file = NULL WHERE scene_id = ${sceneId}`
  }, db.operation)

  const lastSyncedAt = Effect.map(
    sql<{ readonly at: number | null }>`SELECT max(synced_at) AS at FROM sync_state`,
    (rows) => Option.fromNullable(rows[0]?.at)
  ).pipe(db.operation, Effect.withSpan("SyncState.lastSyncedAt"))

  const syncedPerBucket = Effect.fn("SyncState.syncedPerBucket")(function*(window: {
    readonly from: number
    readonly bucketMs: number
    readonly buckets: number
  }) {
    const from = Math.trunc(window.from)
    const bucketMs = Math.max(1, Math.trunc(window.bucketMs))
    const buckets = Math.max(0, Math.trunc(window.buckets))
    const to = from + bucketMs * buckets
    const rows = yield* sql<{ readonly bucket: number; readonly n: number }>`SELECT
      CAST((synced_at - ${from}) / ${bucketMs} AS INTEGER) AS bucket, count(*) AS n
      FROM sync_state WHERE synced_at >= ${from} AND synced_at < ${to} GROUP BY bucket`
    const counts = Array.from({ length: buckets }, () => 0)
    for (const row of rows) if (row.bucket >= 0 && row.bucket < buckets) counts[row.bucket] = row.n
    return counts as ReadonlyArray<number>
  }, db.operation)

  return SyncState.of(
    {
      get,
      getMany,
      put,
      record,
      writtenOn,
      remove,
      forgetMatch,
      scenesRelatedTo,
      scenesWithUnknownRelated,
      lastSyncedAt,
      syncedPerBucket
    } satisfies SyncStateService
  )
})

export const layer: Layer.Layer<SyncState, never, Database> = Layer.effect(SyncState, make)
