import { DeadLetterPayload } from "@plexsync/domain/DeadLetterQueue"
import { ErrorTag } from "@plexsync/domain/Errors"
import { JobId, Millis, SceneId } from "@plexsync/domain/Ids"
import { JobReason, JobState, SyncJob } from "@plexsync/domain/SyncJob"
import type { ParseResult } from "effect"
import { Either, Schema } from "effect"
import { rowDecodeError } from "./SqliteErrors.js"

/** A `jobs` row as SQLite returns it. */
export interface JobRecord {
  readonly id: number
  readonly scene_id: string
  readonly reason: string
  readonly state: string
  readonly attempts: number
  readonly available_at: number
  readonly created_at: number
  readonly updated_at: number
  readonly lease_until: number | null
  readonly lease_token: string | null
  readonly last_error_tag: string | null
  readonly last_error: string | null
  readonly held_since: number | null
}

const JobRow = Schema.Struct({
  id: JobId,
  scene_id: SceneId,
  reason: JobReason,
  state: JobState,
  attempts: Schema.Int.pipe(Schema.nonNegative()),
  available_at: Millis,
  created_at: Millis,
  updated_at: Millis,
  lease_until: Schema.NullOr(Millis),
  last_error_tag: Schema.NullOr(ErrorTag),
  last_error: Schema.NullOr(Schema.String),
  held_since: Schema.NullOr(Millis)
})

const decodeJobRow = Schema.decodeUnknownEither(JobRow)

// The row schema has validated every field already.
const toJob = (r: typeof JobRow.Type) =>
  new SyncJob({
    id: r.id,
    sceneId: r.scene_id,
    reason: r.reason,
    state: r.state,
    attempts: r.attempts,
    availableAt: r.available_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    leaseUntil: r.lease_until,
    lastErrorTag: r.last_error_tag,
    lastError: r.last_error,
    heldSince: r.held_since
  }, true)

/** Decodes a job row; a failure names the table and the row. */
export const decodeJob = (row: JobRecord) =>
  Either.mapLeft(decodeJobClaimed(row), (error) => rowDecodeError("jobs", row.id, error))

/** Decodes a claimed job row; a failure is the parse error itself (the claim moves that row to the DLQ). */
export const decodeJobClaimed = (row: JobRecord): Either.Either<SyncJob, ParseResult.ParseError> =>
  Either.map(decodeJobRow(row), toJob)

const encodePayloadEither = Schema.encodeEither(Schema.parseJson(DeadLetterPayload))
const encodeJsonEither = Schema.encodeEither(Schema.parseJson())

/** The DLQ payload column: the job as it was (scene id and reason), JSON encoded by its schema. */
export const encodePayload = (payload: DeadLetterPayload) => encodePayloadEither(payload)

/**
 * The DLQ detail column. A detail that is not JSON-encodable (a cycle, a bigint) is kept as its string form
 * rather than failing the move to the DLQ.
 */
export const encodeDetail = (detail: unknown): string | null => {
  if (detail === undefined) return null
  return Either.getOrElse(encodeJsonEither(detail), () => JSON.stringify({ unencodable: String(detail) }))
}

/** Splits `items` into chunks that stay well under SQLite's bound-parameter limit. */
export const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
