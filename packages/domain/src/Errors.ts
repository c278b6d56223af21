import { Schema } from "effect"

/**
 * The error taxonomy. These are `Schema.TaggedError` classes because they are persisted in the DLQ
 * (tag + message + detail) and cross process boundaries. Classification happens in the clients, by HTTP
 * status and Node error code — never by message text.
 */

const common = {
  message: Schema.String,
  /** HTTP status when there was a response. */
  status: Schema.optional(Schema.Int),
  /** Node error code (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, …) when there was no response. */
  code: Schema.optional(Schema.String)
}

/** Plex cannot be reached: refused, DNS, unreachable, reset before a response, 503 maintenance. */
export class PlexServerDown extends Schema.TaggedError<PlexServerDown>()("PlexServerDown", common) {}

/** Plex answered but failed transiently: timeout, 429, other 5xx. */
export class PlexTemporaryError extends Schema.TaggedError<PlexTemporaryError>()("PlexTemporaryError", common) {}

/** No Plex item for the file (yet): Plex may not have scanned it. */
export class PlexNotFound extends Schema.TaggedError<PlexNotFound>()("PlexNotFound", {
  message: Schema.String,
  path: Schema.optional(Schema.String)
}) {}

/** 401: the token is wrong or missing. A configuration problem: stops the worker. */
export class PlexAuthError extends Schema.TaggedError<PlexAuthError>()("PlexAuthError", common) {}

/** 403: the token may not do this (a shared, non-admin token). Stops the worker. */
export class PlexPermissionError extends Schema.TaggedError<PlexPermissionError>()("PlexPermissionError", common) {}

/** Any other 4xx or an invalid request: retrying cannot help. */
export class PlexPermanentError extends Schema.TaggedError<PlexPermanentError>()("PlexPermanentError", common) {}

export const MatchCandidate = Schema.Struct({
  ratingKey: Schema.String,
  title: Schema.String,
  file: Schema.String
})
export type MatchCandidate = typeof MatchCandidate.Type

/** Several Plex items fit one file under strict matching. Carries the candidates for a person to decide. */
export class MatchAmbiguous extends Schema.TaggedError<MatchAmbiguous>()("MatchAmbiguous", {
  message: Schema.String,
  path: Schema.String,
  candidates: Schema.Array(MatchCandidate)
}) {}

/** Stash refused, timed out or answered 5xx. */
export class StashUnavailable extends Schema.TaggedError<StashUnavailable>()("StashUnavailable", common) {}

/** Stash answered 401: the API key is wrong, or one was sent to a Stash that has none. Stops the worker. */
export class StashAuthError extends Schema.TaggedError<StashAuthError>()("StashAuthError", common) {}

/** Stash answered with GraphQL `errors` (or 422 for a document it rejected): carries Stash's message. */
export class StashQueryError extends Schema.TaggedError<StashQueryError>()("StashQueryError", {
  message: Schema.String,
  status: Schema.optional(Schema.Int)
}) {}

/** The scene no longer exists in Stash: the job is dropped and counted, never dead-lettered. */
export class SceneMissing extends Schema.TaggedError<SceneMissing>()("SceneMissing", {
  message: Schema.String,
  sceneId: Schema.String
}) {}

/**
 * A job row in the queue that does not decode (an unknown reason, a field out of range): the claim that found it
 * moves it to the DLQ as it was, in the same transaction, so it is neither run nor left running. It belongs to
 * neither target; `dlq retry` queues the scene again when the scene id and reason were intact.
 */
export class JobUndecodable extends Schema.TaggedError<JobUndecodable>()("JobUndecodable", {
  message: Schema.String
}) {}

/** Every error class of the taxonomy, once: `SyncError` and `ErrorTag` are built from this list. */
const syncErrorClasses = [
  PlexServerDown,
  PlexTemporaryError,
  PlexNotFound,
  PlexAuthError,
  PlexPermissionError,
  PlexPermanentError,
  MatchAmbiguous,
  StashUnavailable,
  StashAuthError,
  StashQueryError,
  SceneMissing,
  JobUndecodable
] as const

export const SyncError = Schema.Union(...syncErrorClasses)
export type SyncError = typeof SyncError.Type

export type PlexError =
  | PlexServerDown
  | PlexTemporaryError
  | PlexAuthError
  | PlexPermissionError
  | PlexPermanentError

export type StashError = StashUnavailable | StashAuthError | StashQueryError

type TagsOf<Classes extends ReadonlyArray<{ readonly _tag: string }>> = {
  readonly [K in keyof Classes]: Classes[K]["_tag"]
}

const tagsOf = <const Classes extends ReadonlyArray<{ readonly _tag: string }>>(classes: Classes) =>
  classes.map((cls) => cls._tag) as unknown as TagsOf<Classes>

/** The tags of `SyncError`, derived from its classes so a new error class cannot be left out. */
export const ErrorTag = Schema.Literal(...tagsOf(syncErrorClasses))
export type ErrorTag = typeof ErrorTag.Type

export const allErrorTags: ReadonlyArray<ErrorTag> = ErrorTag.literals
