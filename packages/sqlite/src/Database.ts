import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import { StoreError } from "@plexsync/domain/StoreError"
import { Context, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import migration0001 from "./migrations/0001_create_tables.js"
import migration0002 from "./migrations/0002_related_objects.js"
import migration0003 from "./migrations/0003_item_writes.js"
import migration0004 from "./migrations/0004_dlq_resolution_run_audit.js"
import migration0005 from "./migrations/0005_notify_outbox.js"
import migration0006 from "./migrations/0006_queue_indexes.js"
import migration0007 from "./migrations/0007_reconcile_runs.js"
import type { ErrorContext } from "./SqliteErrors.js"
import { mapSqlError, storeErrorFrom } from "./SqliteErrors.js"

/** Migrations are imported statically so they load the same under tsx, vitest and the compiled build. */
const migrationRecord = {
  "0001_create_tables": migration0001,
  "0002_related_objects": migration0002,
  "0003_item_writes": migration0003,
  "0004_dlq_resolution_run_audit": migration0004,
  "0005_notify_outbox": migration0005,
  "0006_queue_indexes": migration0006,
  "0007_reconcile_runs": migration0007
}
const migrations = Migrator.fromRecord(migrationRecord)

/** The newest schema this build knows: a database migrated past it was written by a newer plexsync. */
export const schemaVersion = Math.max(...Object.keys(migrationRecord).map((name) => Number.parseInt(name, 10)))

export interface DatabaseOptions {
  /** Path of the one database file. It is created when missing; an existing non-database file is refused. */
  readonly filename: string
  /** How long a statement waits for another connection's write lock before failing `busy`. Default 5000 ms. */
  readonly busyTimeoutMs?: number
  /**
   * `PRAGMA synchronous` of this connection. `NORMAL` (the default) may lose the last commits on power loss (never
   * corrupt); `FULL` syncs the WAL at every commit, for a writer that acknowledges each write to someone (the hook).
   */
  readonly synchronous?: "NORMAL" | "FULL"
  /**
   * Run `PRAGMA quick_check` when opening, so a damaged file is refused at startup instead of failing
   * mid-run. Default true; it reads the whole file once.
   */
  readonly quickCheck?: boolean
}

export interface DatabaseService extends ErrorContext {
  /** The client, for dynamic statements (`sql\`...\``) inside `operation` and for tests. */
  readonly sql: SqlClient.SqlClient
  /**
   * Runs `effect` as one `BEGIN IMMEDIATE` transaction: the write lock is taken up front (waiting up to the busy
   * timeout), so a read-then-write never fails half way on another connection's commit. Inside an open
   * transaction it becomes a savepoint. Call it inside `operation`.
   */
  readonly immediate: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  /**
   * Runs one statement, prepared once and cached by its text, straight on the connection: the hot paths of the
   * queue use this instead of the statement builder, which costs several times more per statement. Call it
   * inside `operation`.
   */
  readonly query: <Row = any>(
    text: string,
    params: ReadonlyArray<unknown>
  ) => Effect.Effect<ReadonlyArray<Row>, SqlError>
  /** Like `query` for a statement without rows; returns how many rows it changed. */
  readonly execute: (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<number, SqlError>
  /**
   * Fails when the file at `filename` is no longer the one this connection opened: deleted, or replaced by another
   * file. Writes would then go to a file nobody else sees, so a long-running writer checks this now and then.
   */
  readonly checkFile: Effect.Effect<void, StoreError>
  /**
   * Puts on disk what this connection has committed. Under `synchronous=NORMAL` a commit reaches the WAL file
   * without an fsync (a power loss may take the last ones); a writer that acknowledges one write to someone (the
   * scheduler's hook endpoint) calls this before answering: one fsync of the WAL, as `FULL` does at each commit,
   * without making every other commit of the process pay for one.
   */
  readonly flush: Effect.Effect<void, StoreError>
  /** Maps the `SqlError`s of `effect` to `StoreError`s classified by SQLite result code. */
  readonly mapError: <A, E, R>(
    effect: Effect.Effect<A, E | SqlError, R>
  ) => Effect.Effect<A, Exclude<E, SqlError> | StoreError, R>
  /**
   * A store operation: `effect` runs holding the store lock (so no statement of this process lands inside another
   * operation's transaction), its `SqlError`s mapped to `StoreError`s. Operations do not nest.
   */
  readonly operation: <A, E, R>(
    effect: Effect.Effect<A, E | SqlError, R>
  ) => Effect.Effect<A, Exclude<E, SqlError> | StoreError, R>
}

/** The opened, migrated database that every store service is built on. */
export class Database extends Context.Tag("@plexsync/sqlite/Database")<Database, DatabaseService>() {}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000

/**
 * Written with plain combinators rather than a generator: the queue takes this path once or twice per job, and the
 * generator, `Effect.exit` and re-failing cost more than the BEGIN and COMMIT statements themselves.
 */
const makeImmediate = (sql: SqlClient.SqlClient, conn: Connection) => {
  const begin = conn.execute("BEGIN IMMEDIATE", [], undefined)
  const commit = conn.execute("COMMIT", [], undefined)
  // SQLite may already have rolled back (e.g. disk full); a failing ROLLBACK changes nothing then.
  const rollback = Effect.ignore(conn.execute("ROLLBACK", [], undefined))
  const transaction = [conn, 0] as const
  return <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
    Effect.flatMap(
      Effect.serviceOption(SqlClient.TransactionConnection),
      (open): Effect.Effect<A, E | SqlError, R> =>
        Option.isSome(open) ?
          sql.withTransaction(effect) :
          Effect.uninterruptibleMask((restore) =>
            Effect.zipRight(
              begin,
              Effect.matchCauseEffect(
                restore(Effect.provideService(effect, SqlClient.TransactionConnection, transaction)),
                {
                  onFailure: (cause) => Effect.zipRight(rollback, Effect.failCause(cause)),
                  onSuccess: (value) =>
                    Effect.matchCauseEffect(commit, {
                      onFailure: (cause) => Effect.zipRight(rollback, Effect.failCause(cause)),
                      onSuccess: () => Effect.succeed(value)
                    })
                }
              )
            )
          )
    )
}

const changesOf = (result: unknown): number => {
  const n = (result as { readonly changes?: unknown } | null)?.changes
  return typeof n === "number" ? n : 0
}

/** The device and inode of a file, or null when it does not exist (or cannot be looked at). */
/** fsync(2) of a file: its written data and size reach the disk. */
const fsyncFile = (filename: string): void => {
  const fd = fs.openSync(filename, "r")
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

const fileIdentity = (filename: string): { readonly dev: number; readonly ino: number } | null => {
  try {
    const stat = fs.statSync(filename)
    return { dev: stat.dev, ino: stat.ino }
  } catch {
    return null
  }
}

/** Refuses a database migrated past what this build knows: its tables may mean something else now. */
const refuseNewerSchema = (sql: SqlClient.SqlClient, filename: string) =>
  Effect.gen(function*() {
    const table = yield* sql<{ readonly name: string }>`SELECT name FROM sqlite_master
      WHERE type = 'table' AND name = 'effect_sql_migrations'`
    if (table.length === 0) return
    const rows = yield* sql<{ readonly version: number | null }>`SELECT max(migration_id) AS version
      FROM effect_sql_migrations`
    const found = rows[0]?.version ?? 0
    if (found > schemaVersion) {
      return yield* new StoreError({
        reason: "other",
        message: `The database ${filename} was written by a newer plexsync (schema version ${found}; this ` +
          `plexsync knows versions up to ${schemaVersion}). It was left untouched: upgrade plexsync, or set ` +
          `PLEXSYNC_DATA_DIR to another directory.`
      })
    }
  })

const openDatabase = (options: DatabaseOptions) =>
  Effect.gen(function*() {
    const busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))
    const context: ErrorContext = { filename: options.filename, busyTimeoutMs }
    const toStore = mapSqlError(context)
    const fail = (cause: unknown) => Effect.fail(storeErrorFrom(cause, context))

    const directory = path.dirname(path.resolve(options.filename))
    if (options.filename !== ":memory:" && !fs.existsSync(directory)) {
      return yield* new StoreError({
        reason: "io",
        message: `Cannot open the database ${options.filename}: the directory ${directory} does not exist. ` +
          `Create it, or choose another database path.`
      })
    }

    if (options.filename !== ":memory:" && !fs.existsSync(options.filename)) {
      // A journal without its database: the database was deleted while a process still had it open (or was
      // deleted with its journal left behind). Creating a new one here would start a second, empty queue next to
      // the one that process keeps writing to.
      const journal = [`${options.filename}-wal`, `${options.filename}-journal`].find((f) => fs.existsSync(f))
      if (journal !== undefined) {
        return yield* new StoreError({
          reason: "io",
          message: `The database ${options.filename} is missing but its journal ${journal} is there: a process may ` +
            `still be writing to the deleted file, or the file was removed by hand. Stop every plexsync process ` +
            `using this directory, then restore the database from a backup, or remove ${journal} (and ` +
            `${options.filename}-shm) to start over with an empty database.`
        })
      }
      // The queue and what was synced are nobody else's business: the file (and SQLite's -wal and -shm, which take
      // its permissions) is the owner's only. An empty file is an empty database to SQLite.
      yield* Effect.try({
        try: () => fs.closeSync(fs.openSync(options.filename, "wx", 0o600)),
        catch: (cause) => cause
      }).pipe(
        Effect.catchAll((cause) => (cause as NodeJS.ErrnoException).code === "EEXIST" ? Effect.void : fail(cause))
      )
    }

    // WAL is switched on below, after the busy timeout, so every failure is a typed SqlError.
    const clientContext = yield* Layer.build(
      SqliteClient.layer({ filename: options.filename, disableWAL: true })
    ).pipe(
      Effect.catchAllDefect(fail),
      Effect.catchTag("ConfigError", fail)
    )
    const sql = Context.get(clientContext, SqlClient.SqlClient)
    const opened = options.filename === ":memory:" ? null : fileIdentity(options.filename)
    // SqliteClient keeps one connection; this is it. Statements on it run synchronously.
    const conn = yield* Effect.scoped(sql.reserve).pipe(toStore)

    const setup = Effect.gen(function*() {
      yield* sql.unsafe(`PRAGMA busy_timeout = ${busyTimeoutMs}`)
      // Reading the header happens here: a file that is not a database fails with SQLITE_NOTADB, unchanged.
      yield* sql`PRAGMA journal_mode = WAL`
      yield* sql.unsafe(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`)
      yield* sql`PRAGMA foreign_keys = ON`
      if (options.quickCheck ?? true) {
        const rows = yield* sql<{ readonly quick_check: string }>`PRAGMA quick_check(1)`
        const verdict = rows[0]?.quick_check
        if (verdict !== "ok") {
          return yield* new StoreError({
            reason: "corrupt",
            message:
              `The database file ${options.filename} failed its integrity check (${
                verdict ?? "no answer"
              }). It was left untouched: restore it from a backup, or move it away to start over with an ` +
              `empty database.`
          })
        }
      }
      // Under the write lock: another process opening a new file at the same moment waits here until the
      // migrations are in, instead of reading "nothing migrated", failing to record it and going on unmigrated.
      yield* makeImmediate(sql, conn)(Effect.gen(function*() {
        yield* refuseNewerSchema(sql, options.filename)
        yield* Migrator.make({})({ loader: migrations }).pipe(
          Effect.catchTag("MigrationError", fail)
        )
      }))
    }).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      toStore,
      Effect.catchAllDefect(fail)
    )
    yield* setup
    const lock = yield* Effect.makeSemaphore(1)
    const service: DatabaseService = {
      ...context,
      sql,
      immediate: makeImmediate(sql, conn),
      query: (text, params) => conn.execute(text, params, undefined),
      execute: (text, params) => Effect.map(conn.executeRaw(text, params), changesOf),
      checkFile: opened === null ? Effect.void : Effect.suspend(() => {
        const now = fileIdentity(options.filename)
        if (now !== null && now.dev === opened.dev && now.ino === opened.ino) return Effect.void
        return Effect.fail(
          new StoreError({
            reason: "io",
            message:
              `The database ${options.filename} was ${
                now === null ? "deleted" : "replaced by another file"
              } while plexsync had it open: what it writes now would be lost. Stop, put the right database back ` +
              `(or let plexsync start over with an empty one), and start again.`
          })
        )
      }),
      flush: opened === null ? Effect.void : Effect.try({
        try: () => fsyncFile(fs.existsSync(`${options.filename}-wal`) ? `${options.filename}-wal` : options.filename),
        catch: (cause) =>
          new StoreError({
            reason: "io",
            message: `Could not sync the database ${options.filename} to disk: ${
              cause instanceof Error ? cause.message : String(cause)
            }`
          })
      }),
      mapError: toStore,
      operation: (effect) => toStore(lock.withPermits(1)(effect))
    }
    return Context.make(Database, service).pipe(Context.add(SqlClient.SqlClient, sql))
  })

/**
 * Opens (or creates) the database file, applies the pragmas (WAL, busy timeout, `synchronous=NORMAL`, foreign
 * keys) and runs the migrations. A file that is not a SQLite database fails with `StoreError({ reason: "corrupt" })`
 * and is never replaced.
 */
export const layer = (options: DatabaseOptions): Layer.Layer<Database | SqlClient.SqlClient, StoreError> =>
  Layer.scopedContext(openDatabase(options))
