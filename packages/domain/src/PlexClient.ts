import type { Effect, Option } from "effect"
import { Context, Schema } from "effect"
import type { PlexError } from "./Errors.js"

export class PlexSection extends Schema.Class<PlexSection>("PlexSection")({
  key: Schema.String,
  title: Schema.String,
  /** `movie`, `show`, `artist`, `photo`. */
  type: Schema.String,
  /** Root folders as Plex sees them: what the path map maps to. */
  locations: Schema.Array(Schema.String)
}) {}

/**
 * One file of an item (`Media[].Part[]`) with what identifies its content: the size in bytes and the duration in
 * milliseconds, null when Plex has not analysed the file (or a caller built the item without them).
 */
export class PlexPart extends Schema.Class<PlexPart>("PlexPart")({
  file: Schema.String,
  size: Schema.NullOr(Schema.Number),
  /** Milliseconds. */
  duration: Schema.NullOr(Schema.Number)
}) {}

/** A Plex video item with the fields plexsync reads and writes. */
export class PlexItem extends Schema.Class<PlexItem>("PlexItem")({
  ratingKey: Schema.String,
  sectionKey: Schema.NullOr(Schema.String),
  title: Schema.String,
  summary: Schema.NullOr(Schema.String),
  studio: Schema.NullOr(Schema.String),
  /** `YYYY-MM-DD` */
  originallyAvailableAt: Schema.NullOr(Schema.String),
  /** 0–10, the token user's rating. */
  userRating: Schema.NullOr(Schema.Number),
  thumb: Schema.NullOr(Schema.String),
  genres: Schema.Array(Schema.String),
  actors: Schema.Array(Schema.String),
  collections: Schema.Array(Schema.String),
  /** `Media[].Part[].file` */
  files: Schema.Array(Schema.String),
  /** The parts of `files` with their size and duration, where Plex reported them. */
  parts: Schema.optionalWith(Schema.Array(PlexPart), { default: () => [] }),
  /** Names of locked fields (`title`, `genre`, `thumb`, …). */
  lockedFields: Schema.Array(Schema.String)
}) {}

export type PlexItemFields = ConstructorParameters<typeof PlexItem>[0]

/**
 * An item as Plex shows a file it scanned and nobody described: its identity and files, every other field empty.
 * `fields` may set any of them.
 */
export const blankPlexItem = (
  fields: Pick<PlexItemFields, "ratingKey" | "title" | "files"> & Partial<PlexItemFields>
): PlexItem =>
  new PlexItem({
    sectionKey: null,
    summary: null,
    studio: null,
    originallyAvailableAt: null,
    userRating: null,
    thumb: null,
    genres: [],
    actors: [],
    collections: [],
    lockedFields: [],
    ...fields
  })

export const PlexScalarField = Schema.Literal("title", "summary", "studio", "originallyAvailableAt")
export type PlexScalarField = typeof PlexScalarField.Type

export const PlexTagField = Schema.Literal("genre", "actor", "collection")
export type PlexTagField = typeof PlexTagField.Type

/**
 * One edit request. Scalars set (`null` clears); each tag list given is the complete wanted list (Plex
 * replaces lists), with the names to remove listed explicitly. Every field sent is locked when `lock`.
 */
export interface PlexEdit {
  readonly scalars: Partial<Record<PlexScalarField, string | null>>
  readonly tags: Partial<
    Record<PlexTagField, { readonly set: ReadonlyArray<string>; readonly remove: ReadonlyArray<string> }>
  >
  readonly lock: boolean
}

export interface PlexHealth {
  readonly version: string
  readonly machineIdentifier: string
  readonly sections: number
}

/**
 * What the file filter found, exactly; `candidates`, where known, is how many items Plex answered before they were
 * checked (a server that answers a whole folder shows it here).
 */
export type FoundByFile = ReadonlyArray<PlexItem> & { readonly candidates?: number }

export interface PlexClientService {
  /** Deep health: lists the sections with the token, so a bad token fails here. */
  readonly health: Effect.Effect<PlexHealth, PlexError>
  readonly sections: Effect.Effect<ReadonlyArray<PlexSection>, PlexError>
  /** Items of a section whose `Part.file` is exactly `path` (Plex's `file` filter, then verified). */
  readonly findByFile: (sectionKey: string, path: string) => Effect.Effect<FoundByFile, PlexError>
  /** The item with its tags and locked fields; none when Plex answers 404. */
  readonly getItem: (ratingKey: string) => Effect.Effect<Option.Option<PlexItem>, PlexError>
  /** One page of a whole section's video items (0-based `start`). */
  readonly listSection: (
    sectionKey: string,
    options: { readonly start: number; readonly size: number }
  ) => Effect.Effect<{ readonly items: ReadonlyArray<PlexItem>; readonly totalSize: number }, PlexError>
  /** All scalar and tag changes in one request. */
  readonly edit: (item: PlexItem, edit: PlexEdit) => Effect.Effect<void, PlexError>
  /** 0–10; null clears the rating. */
  readonly rate: (ratingKey: string, rating: number | null) => Effect.Effect<void, PlexError>
  readonly uploadPoster: (
    ratingKey: string,
    image: { readonly bytes: Uint8Array; readonly contentType: string }
  ) => Effect.Effect<void, PlexError>
  /** Asks Plex to scan one folder of a section (async on Plex's side). */
  readonly scan: (sectionKey: string, folder: string) => Effect.Effect<void, PlexError>
}

export class PlexClient extends Context.Tag("@plexsync/domain/PlexClient")<PlexClient, PlexClientService>() {}
