import type { SqlError } from "@effect/sql/SqlError"
import { RowDecodeError, StoreError } from "@plexsync/domain/StoreError"
import type { ParseResult } from "effect"
import { Effect, Either, Schema } from "effect"

/**
 * SQLite failures become a domain `StoreError` classified by SQLite's result code (better-sqlite3 puts the
 * extended code, e.g. `SQLITE_BUSY_SNAPSHOT`, on the error's `code`) — never by message text.
 */
export type StoreErrorReason = StoreError["reason"]

/** The first `SQLITE_*` code found on the error or along its `cause` chain. */
export const sqliteCode = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code
    current = (current as { readonly cause?: unknown }).cause
  }
  return undefined
}

const sqliteMessage = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { readonly code?: unknown }).code
    const message = (current as { readonly message?: unknown }).message
    if (typeof code === "string" && code.startsWith("SQLITE_") && typeof message === "string") return message
    current = (current as { readonly cause?: unknown }).cause
  }
  return undefined
}

const startsWithAny = (code: string, prefixes: ReadonlyArray<string>) =>
  prefixes.some((prefix) => code === prefix || code.startsWith(`${prefix}_`))

export const classify = (code: string | undefined): StoreErrorReason => {
  if (code === undefined) return "other"
  if (startsWithAny(code, ["SQLITE_BUSY", "SQLITE_LOCKED"])) return "busy"
  if (startsWithAny(code, ["SQLITE_FULL"])) return "full"
  if (startsWithAny(code, ["SQLITE_CORRUPT", "SQLITE_NOTADB"])) return "corrupt"
  if (startsWithAny(code, ["SQLITE_READONLY"])) return "readonly"
  if (startsWithAny(code, ["SQLITE_IOERR", "SQLITE_CANTOPEN"])) return "io"
  return "other"
}

export interface ErrorContext {
  readonly filename: string
  readonly busyTimeoutMs: number
}

/** What a person reads: what failed, why, and what to do. */
const describe = (reason: StoreErrorReason, code: string | undefined, detail: string, context: ErrorContext) => {
  const file = context.filename
  const why = `${code ?? "no SQLite result code"}: ${detail}`
  switch (reason) {
    case "busy":
      return `The database ${file} is locked by another connection and stayed locked past the busy timeout ` +
        `of ${context.busyTimeoutMs} ms (${why}). Nothing was changed; retry later. If it persists, look for ` +
        `another process holding this file open in a long transaction.`
    case "full":
      return `The disk holding ${file} is full (${why}). The change was rolled back; free some space and retry.`
    case "corrupt":
      return `The database file ${file} is damaged or is not a plexsync database (${why}). It was left ` +
        `untouched: restore it from a backup, or move it away to start over with an empty database.`
    case "readonly":
      return `The database ${file} cannot be written (${why}). Check the permissions of the file and of its ` +
        `directory (SQLite writes -wal and -shm files next to it).`
    case "io":
      return `Reading or writing ${file} failed (${why}). Check that the directory exists, the disk is ` +
        `healthy and the file is accessible.`
    case "other":
      return `A database operation on ${file} failed (${why}).`
  }
}

export const storeErrorFrom = (error: unknown, context: ErrorContext): StoreError => {
  const code = sqliteCode(error)
  const reason = classify(code)
  const detail = sqliteMessage(error) ?? (error instanceof Error ? error.message : String(error))
  return new StoreError({ reason, message: describe(reason, code, detail, context), cause: error })
}

/** The one place `SqlError` becomes `StoreError`. */
export const mapSqlError = (context: ErrorContext) =>
<A, E, R>(
  effect: Effect.Effect<A, E | SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError> | StoreError, R> =>
  Effect.catchIf(
    effect,
    (e): e is SqlError => typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "SqlError",
    (e) => Effect.fail(storeErrorFrom(e, context))
  ) as Effect.Effect<A, Exclude<E, SqlError> | StoreError, R>

export const rowDecodeError = (table: string, rowId: unknown, error: ParseResult.ParseError): RowDecodeError =>
  new RowDecodeError({
    table,
    rowId: String(rowId),
    message: `Row ${String(rowId)} of table ${table} does not decode; it is kept as it is and skipped. ` +
      `Fix or delete that row. ${error.message}`
  })

/** Decodes one row with a schema; a failure names the table and the row. */
export const rowDecoder = <A, I>(schema: Schema.Schema<A, I>, table: string) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (row: object, rowId: unknown): Either.Either<A, RowDecodeError> =>
    Either.mapLeft(decode(row), (error) => rowDecodeError(table, rowId, error))
}

/** A row error where the service's contract only allows `StoreError` (the row is named in the message). */
export const rowErrorAsStoreError = (error: RowDecodeError): StoreError =>
  new StoreError({ reason: "other", message: error.message, cause: error })

/** Decodes `rows` in order; a row that does not decode is logged with `log` (the message names it) and left out. */
export const decodeEach = <Row, A>(
  rows: ReadonlyArray<Row>,
  decode: (row: Row) => Either.Either<A, RowDecodeError>,
  log: (message: string) => Effect.Effect<void> = Effect.logWarning
): Effect.Effect<Array<A>> =>
  Effect.gen(function*() {
    const decoded: Array<A> = []
    for (const row of rows) {
      const result = decode(row)
      if (Either.isRight(result)) decoded.push(result.right)
      else yield* log(result.left.message)
    }
    return decoded
  })
