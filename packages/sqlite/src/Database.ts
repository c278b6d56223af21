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
import migration0004 from "./migrations/0004_queue_indexes.js"
import type { ErrorContext } from "./SqliteErrors.js"
import { mapSqlError, storeErrorFrom } from "./SqliteErrors.js"

/** Migrations are imported statically so they load the same under tsx, vitest and the compiled build. */
const migrations = Migrator.fromRecord({
  "0001_create_tables": migration0001,
  "0002_related_objects": migration0002,
  "0003_item_writes": migration0003,
  "0004_queue_indexes": migration0004
})

export interface DatabaseOptions {
  /** Path of the one database file. It is created when missing; an existing non-database file is refused. */
  readonly filename: string
  /** How long a statement waits for another connection's write lock before failing `busy`. Default 5000 ms. */
  readonly busyTimeoutMs?: number
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

    // WAL is switched on below, after the busy timeout, so every failure is a typed SqlError.
    const clientContext = yield* Layer.build(
      SqliteClient.layer({ filename: options.filename, disableWAL: true })
    ).pipe(
      Effect.catchAllDefect(fail),
      Effect.catchTag("ConfigError", fail)
    )
    const sql = Context.get(clientContext, SqlClient.SqlClient)

    const setup = Effect.gen(function*() {
      yield* sql.unsafe(`PRAGMA busy_timeout = ${busyTimeoutMs}`)
      // Reading the header happens here: a file that is not a database fails with SQLITE_NOTADB, unchanged.
      yield* sql`PRAGMA journal_mode = WAL`
      yield* sql`PRAGMA synchronous = NORMAL`
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
      yield* Migrator.make({})({ loader: migrations }).pipe(
        Effect.catchTag("MigrationError", fail)
      )
    }).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      toStore,
      Effect.catchAllDefect(fail)
    )
    yield* setup

    // SqliteClient keeps one connection; this is it. Statements on it run synchronously.
    const conn = yield* Effect.scoped(sql.reserve).pipe(toStore)
    const lock = yield* Effect.makeSemaphore(1)
    const service: DatabaseService = {
      ...context,
      sql,
      immediate: makeImmediate(sql, conn),
      query: (text, params) => conn.execute(text, params, undefined),
      execute: (text, params) => Effect.map(conn.executeRaw(text, params), changesOf),
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
