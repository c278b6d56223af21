import { Data } from "effect"

/**
 * A storage failure the caller can act on. `reason` is classified from SQLite's result codes:
 * `busy` (another process holds the write lock past the busy timeout — back off and retry),
 * `full` (disk full), `corrupt` (not a database / malformed — refuse to run), `readonly`, `io`, `other`.
 */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly reason: "busy" | "full" | "corrupt" | "readonly" | "io" | "other"
  readonly message: string
  readonly cause?: unknown
}> {}

/** A row that does not decode. Names the table and the row so a person can find it; other rows are unaffected. */
export class RowDecodeError extends Data.TaggedError("RowDecodeError")<{
  readonly table: string
  readonly rowId: string
  readonly message: string
}> {}

/** A worker tried to complete or retry a job whose lease it no longer holds (expired and re-claimed). */
export class LeaseLost extends Data.TaggedError("LeaseLost")<{
  readonly jobId: number
  readonly message: string
}> {}
