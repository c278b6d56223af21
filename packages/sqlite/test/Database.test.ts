import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { SqlClient } from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { StoreError } from "@plexsync/domain/StoreError"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Context, Effect, Layer, Option, Scope } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Database from "../src/Database.js"
import { classify, storeErrorFrom } from "../src/SqliteErrors.js"
import type { StoreFileOptions, StoreServices } from "../src/StoreLive.js"
import { storeOnFile } from "../src/StoreLive.js"
import { dbFile, scene, tempDir } from "./support.js"

/** Opens the store on `filename` in its own scope, runs `effect`, closes the file. */
const withStore = <A, E>(
  filename: string,
  effect: Effect.Effect<A, E, StoreServices>,
  options?: StoreFileOptions
) => Effect.scoped(Effect.provide(effect, storeOnFile(filename, options)))

const openError = (filename: string, options?: StoreFileOptions) =>
  Effect.scoped(Effect.flip(Layer.build(Database.layer({ filename, ...options }))))

/** Queues `scenes` scenes, then checkpoints the WAL so that every page is in the database file itself. */
const fillAndCheckpoint = (scenes: number) =>
  Effect.gen(function*() {
    const q = yield* SyncQueue
    yield* q.enqueueMany(Array.from({ length: scenes }, (_, i) => ({ sceneId: scene(i + 1), reason: "bulk" })))
    yield* (yield* SqlClient)`PRAGMA wal_checkpoint(TRUNCATE)`
  })

describe("Database", () => {
  it.scoped("opens in WAL mode with the busy timeout, synchronous=NORMAL and foreign keys", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      yield* withStore(
        filename,
        Effect.gen(function*() {
          const sql = yield* SqlClient
          const [journal] = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
          const [sync] = yield* sql<{ synchronous: number }>`PRAGMA synchronous`
          const [busy] = yield* sql<{ timeout: number }>`PRAGMA busy_timeout`
          const [fk] = yield* sql<{ foreign_keys: number }>`PRAGMA foreign_keys`
          assert.strictEqual(journal!.journal_mode, "wal")
          assert.strictEqual(sync!.synchronous, 1)
          assert.strictEqual(busy!.timeout, 1234)
          assert.strictEqual(fk!.foreign_keys, 1)
        }),
        { busyTimeoutMs: 1234 }
      )
      yield* withStore(
        filename,
        Effect.gen(function*() {
          const [busy] = yield* (yield* SqlClient)<{ timeout: number }>`PRAGMA busy_timeout`
          assert.strictEqual(busy!.timeout, Database.DEFAULT_BUSY_TIMEOUT_MS)
        })
      )
    }))

  it.scoped("keeps its data across reopening; migrations run once", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      const { jobId } = yield* withStore(
        filename,
        Effect.flatMap(SyncQueue, (q) => q.enqueue({ sceneId: scene(7), reason: "manual" }))
      )
      yield* withStore(
        filename,
        Effect.gen(function*() {
          const q = yield* SyncQueue
          const sql = yield* SqlClient
          const job = Option.getOrThrow(yield* q.get(jobId))
          assert.strictEqual(job.sceneId, "7")
          const migrations = yield* sql<{ migration_id: number }>`SELECT migration_id FROM effect_sql_migrations`
          assert.deepStrictEqual(migrations.map((m) => m.migration_id), [1, 2, 3, 4, 5, 6, 7])
        })
      )
    }))

  it.scoped("refuses a file that is not a database, says what to do, and leaves it untouched", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      const garbage = Buffer.alloc(8192)
      for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) % 256
      yield* Effect.promise(() => fs.writeFile(filename, garbage))
      const error = yield* openError(filename)
      assert.instanceOf(error, StoreError)
      assert.strictEqual(error.reason, "corrupt")
      assert.include(error.message, filename)
      assert.include(error.message, "backup")
      assert.include(error.message, "move it away")
      const after = yield* Effect.promise(() => fs.readFile(filename))
      assert.isTrue(after.equals(garbage))
    }))

  it.scoped("refuses a database whose pages are damaged (quick_check at open)", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      yield* withStore(filename, fillAndCheckpoint(3000))
      const bytes = yield* Effect.promise(() => fs.readFile(filename))
      const pageSize = bytes.readUInt16BE(16)
      // Scribble over the middle of the file, leaving the header intact.
      const start = pageSize * Math.floor(bytes.length / pageSize / 2)
      for (let i = start; i < start + pageSize * 4 && i < bytes.length; i++) bytes[i] = 0xa5
      yield* Effect.promise(() => fs.writeFile(filename, bytes))
      const error = yield* openError(filename)
      assert.strictEqual(error.reason, "corrupt")
      assert.isTrue((yield* Effect.promise(() => fs.readFile(filename))).equals(bytes))
    }))

  it.scoped("a missing directory is an io error naming the file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const filename = path.join(dir, "no", "such", "dir", "plexsync.db")
      const error = yield* openError(filename)
      assert.strictEqual(error.reason, "io")
      assert.include(error.message, filename)
    }))

  it.scoped("another connection holding the write lock past the busy timeout is StoreError busy", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      const scope = yield* Scope.make()
      const store = yield* Layer.buildWithScope(storeOnFile(filename, { busyTimeoutMs: 50 }), scope)
      const q = Context.get(store, SyncQueue)
      yield* q.enqueue({ sceneId: scene(1), reason: "hook" })
      const other = Context.get(yield* Layer.build(SqliteClient.layer({ filename })), SqlClient)
      yield* other`BEGIN IMMEDIATE`
      const busy = yield* Effect.flip(q.enqueue({ sceneId: scene(2), reason: "hook" }))
      assert.strictEqual(busy.reason, "busy")
      assert.include(busy.message, "50 ms")
      const claimBusy = yield* Effect.flip(q.claim({ limit: 1, leaseMs: 1000 }))
      assert.strictEqual(claimBusy.reason, "busy")
      // Reads still work under WAL while another connection writes.
      assert.strictEqual((yield* q.counts).queued, 1)
      yield* other`COMMIT`
      yield* q.enqueue({ sceneId: scene(2), reason: "hook" })
      assert.strictEqual((yield* q.claim({ limit: 5, leaseMs: 1000 })).length, 2)
      yield* Scope.close(scope, { _tag: "Success", value: undefined } as never)
    }))

  it.scoped("a process opening a new file while another migrates it waits for the migrations, never runs without", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      // Another process has created the migrations table and now holds the write lock, migrating.
      const other = Context.get(yield* Layer.build(SqliteClient.layer({ filename })), SqlClient)
      yield* other`CREATE TABLE effect_sql_migrations (
        migration_id integer PRIMARY KEY NOT NULL,
        created_at datetime NOT NULL DEFAULT current_timestamp,
        name VARCHAR(255) NOT NULL
      )`
      yield* other`BEGIN IMMEDIATE`
      // This one cannot tell when the other finishes (the lock outlives its busy timeout here): it must say so, not
      // open a database without its tables.
      const opened = yield* Effect.either(
        withStore(filename, Effect.flatMap(SyncQueue, (q) => q.enqueue({ sceneId: scene(1), reason: "hook" })), {
          busyTimeoutMs: 50
        })
      )
      assert.isTrue(opened._tag === "Left", "opened while another connection held the migration lock")
      if (opened._tag === "Left") assert.strictEqual(opened.left.reason, "busy", opened.left.message)
      yield* other`ROLLBACK`
      const { jobId } = yield* withStore(
        filename,
        Effect.flatMap(SyncQueue, (q) => q.enqueue({ sceneId: scene(1), reason: "hook" }))
      )
      assert.isAbove(jobId, 0)
    }))

  it.scoped("refuses a database written by a newer plexsync and leaves it untouched", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      yield* withStore(filename, Effect.flatMap(SyncQueue, (q) => q.enqueue({ sceneId: scene(1), reason: "hook" })))
      const other = Context.get(yield* Layer.build(SqliteClient.layer({ filename })), SqlClient)
      const newer = Database.schemaVersion + 1
      yield* other`INSERT INTO effect_sql_migrations (migration_id, name) VALUES (${newer}, 'from_the_future')`
      yield* other`PRAGMA wal_checkpoint(TRUNCATE)`
      const before = yield* Effect.promise(() => fs.readFile(filename))
      const error = yield* openError(filename)
      assert.strictEqual(error.reason, "other")
      assert.include(error.message, `schema version ${newer}`)
      assert.include(error.message, "newer plexsync")
      assert.include(error.message, "upgrade plexsync")
      assert.isTrue((yield* Effect.promise(() => fs.readFile(filename))).equals(before))
    }))

  it.scoped("creates the database readable and writable by its owner only", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      // Looked at while open: SQLite removes -wal and -shm when the last connection closes.
      const modes = yield* withStore(
        filename,
        Effect.flatMap(SyncQueue, (q) => q.enqueue({ sceneId: scene(1), reason: "hook" })).pipe(
          Effect.zipRight(Effect.promise(() =>
            Promise.all(
              [filename, `${filename}-wal`, `${filename}-shm`].map((f) =>
                fs.stat(f).then((st) => `${path.basename(f)} ${(st.mode & 0o777).toString(8)}`)
              )
            )
          ))
        )
      )
      assert.deepStrictEqual(modes, ["plexsync.db 600", "plexsync.db-wal 600", "plexsync.db-shm 600"])
    }))

  it.scoped("checkFile fails once the open file is deleted or replaced", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      const check = Effect.flatMap(Database.Database, (db) => Effect.either(db.checkFile))
      yield* withStore(
        filename,
        Effect.gen(function*() {
          assert.strictEqual((yield* check)._tag, "Right")
          yield* Effect.promise(() => fs.rename(filename, `${filename}.moved`))
          const deleted = yield* check
          assert.isTrue(deleted._tag === "Left" && deleted.left.message.includes("was deleted"))
          yield* Effect.promise(() => fs.writeFile(filename, ""))
          const replaced = yield* check
          assert.isTrue(replaced._tag === "Left" && replaced.left.message.includes("replaced by another file"))
        })
      )
    }))

  it.scoped("refuses to create a database next to the journal of a deleted one", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      yield* Effect.promise(() => fs.writeFile(`${filename}-wal`, "still open elsewhere"))
      const error = yield* openError(filename)
      assert.strictEqual(error.reason, "io")
      assert.include(error.message, "is missing but its journal")
      assert.isFalse(yield* Effect.promise(() => fs.access(filename).then(() => true, () => false)))
    }))

  it.scoped("opens with synchronous=FULL when asked", () =>
    Effect.gen(function*() {
      const filename = yield* dbFile
      yield* withStore(
        filename,
        Effect.gen(function*() {
          const [sync] = yield* (yield* SqlClient)<{ synchronous: number }>`PRAGMA synchronous`
          assert.strictEqual(sync!.synchronous, 2)
        }),
        { synchronous: "FULL" }
      )
    }))

  it("classifies by SQLite result code, never by message", () => {
    const cases: Array<[string | undefined, StoreError["reason"]]> = [
      ["SQLITE_BUSY", "busy"],
      ["SQLITE_BUSY_SNAPSHOT", "busy"],
      ["SQLITE_LOCKED", "busy"],
      ["SQLITE_FULL", "full"],
      ["SQLITE_CORRUPT", "corrupt"],
      ["SQLITE_CORRUPT_INDEX", "corrupt"],
      ["SQLITE_NOTADB", "corrupt"],
      ["SQLITE_READONLY", "readonly"],
      ["SQLITE_READONLY_DBMOVED", "readonly"],
      ["SQLITE_IOERR", "io"],
      ["SQLITE_IOERR_SHORT_READ", "io"],
      ["SQLITE_CANTOPEN", "io"],
      ["SQLITE_CONSTRAINT_UNIQUE", "other"],
      ["SQLITE_BUSYNESS", "other"],
      [undefined, "other"]
    ]
    for (const [code, reason] of cases) assert.strictEqual(classify(code), reason, String(code))
    const wrapped = { _tag: "SqlError", cause: Object.assign(new Error("database is locked"), { code: "SQLITE_FULL" }) }
    assert.strictEqual(storeErrorFrom(wrapped, { filename: "x.db", busyTimeoutMs: 1 }).reason, "full")
    const misleading = new Error("SQLITE_BUSY: database is locked")
    assert.strictEqual(storeErrorFrom(misleading, { filename: "x.db", busyTimeoutMs: 1 }).reason, "other")
  })
})
