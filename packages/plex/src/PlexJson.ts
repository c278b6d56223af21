/**
 * Lenient decoders for the JSON Plex Media Server sends with `Accept: application/json`.
 *
 * Real servers deviate from both OpenAPI specs (ids as numbers or strings, `hidden: 0`, flags as
 * `"0"`/`"1"`, lists omitted instead of `[]`), so these decode only the fields plexsync uses and accept
 * every form seen in captures. Everything else in a body is ignored.
 */
import { PlexItem, PlexPart, PlexSection } from "@plexsync/domain/PlexClient"
import { Schema } from "effect"

/** A string or a number, as a string (`ratingKey`, `librarySectionID`, section `key`, tag names). */
export const LooseString = Schema.transform(Schema.Union(Schema.String, Schema.Number), Schema.String, {
  strict: true,
  decode: (value) => String(value),
  encode: (value) => value
})

/** A number, or a numeric string. */
export const LooseNumber = Schema.Union(Schema.Number, Schema.NumberFromString)

/** `true`/`false`, `0`/`1`, `"0"`/`"1"`, `"true"`/`"false"`. */
export const LooseBoolean = Schema.transform(
  Schema.Union(Schema.Boolean, Schema.Literal(0, 1, "0", "1", "true", "false")),
  Schema.Boolean,
  {
    strict: true,
    decode: (value) => value === true || value === 1 || value === "1" || value === "true",
    encode: (value) => value
  }
)

const list = <A, I, R>(item: Schema.Schema<A, I, R>) =>
  Schema.optionalWith(Schema.Array(item), { default: () => [], nullable: true })

const TagJson = Schema.Struct({ tag: LooseString })

const PartJson = Schema.Struct({
  file: Schema.optional(Schema.String),
  /** Bytes. */
  size: Schema.optional(Schema.NullOr(LooseNumber)),
  /** Milliseconds. */
  duration: Schema.optional(Schema.NullOr(LooseNumber))
})

const MediaJson = Schema.Struct({ duration: Schema.optional(Schema.NullOr(LooseNumber)), Part: list(PartJson) })

/** A size or duration as Plex reports it: positive, or unknown. */
const measured = (n: number | null | undefined): number | null =>
  typeof n === "number" && Number.isFinite(n) && n > 0 ? n : null

const FieldJson = Schema.Struct({
  name: Schema.String,
  locked: Schema.optionalWith(LooseBoolean, { default: () => false })
})

export const MetadataJson = Schema.Struct({
  ratingKey: LooseString,
  librarySectionID: Schema.optional(Schema.NullOr(LooseString)),
  title: Schema.optional(Schema.NullOr(LooseString)),
  summary: Schema.optional(Schema.NullOr(Schema.String)),
  studio: Schema.optional(Schema.NullOr(LooseString)),
  originallyAvailableAt: Schema.optional(Schema.NullOr(Schema.String)),
  userRating: Schema.optional(Schema.NullOr(LooseNumber)),
  thumb: Schema.optional(Schema.NullOr(Schema.String)),
  Genre: list(TagJson),
  Role: list(TagJson),
  Collection: list(TagJson),
  Media: list(MediaJson),
  Field: list(FieldJson)
})
export type MetadataJson = typeof MetadataJson.Type

/** `GET /library/metadata/{ratingKey}` and `GET /library/sections/{sid}/all`. */
export const MetadataContainerJson = Schema.Struct({
  MediaContainer: Schema.Struct({
    size: Schema.optional(LooseNumber),
    totalSize: Schema.optional(LooseNumber),
    offset: Schema.optional(LooseNumber),
    librarySectionID: Schema.optional(Schema.NullOr(LooseString)),
    Metadata: list(MetadataJson)
  })
})
export type MetadataContainerJson = typeof MetadataContainerJson.Type

const LocationJson = Schema.Struct({ path: Schema.String })

const SectionJson = Schema.Struct({
  key: LooseString,
  title: LooseString,
  type: Schema.String,
  Location: list(LocationJson)
})

/** `GET /library/sections`. */
export const SectionsContainerJson = Schema.Struct({
  MediaContainer: Schema.Struct({ Directory: list(SectionJson) })
})

/** `GET /identity`. */
export const IdentityJson = Schema.Struct({
  MediaContainer: Schema.Struct({
    machineIdentifier: Schema.String,
    version: Schema.String
  })
})

const blankToNull = (value: string | null | undefined): string | null =>
  value === undefined || value === null || value.trim() === "" ? null : value

const uniqueTags = (tags: ReadonlyArray<{ readonly tag: string }>): Array<string> => {
  const seen = new Set<string>()
  const out: Array<string> = []
  for (const { tag } of tags) {
    if (!seen.has(tag)) {
      seen.add(tag)
      out.push(tag)
    }
  }
  return out
}

/**
 * The domain item from a decoded `Metadata` entry. Empty strings become null (Plex sends `""` and
 * omission interchangeably for an unset field); `fallbackSectionKey` is used when the entry itself
 * does not carry `librarySectionID` (the container often hoists it).
 */
export const toPlexItem = (json: MetadataJson, fallbackSectionKey: string | null): PlexItem =>
  new PlexItem({
    ratingKey: json.ratingKey,
    sectionKey: blankToNull(json.librarySectionID) ?? fallbackSectionKey,
    title: json.title ?? "",
    summary: blankToNull(json.summary),
    studio: blankToNull(json.studio),
    originallyAvailableAt: blankToNull(json.originallyAvailableAt),
    userRating: json.userRating ?? null,
    thumb: blankToNull(json.thumb),
    genres: uniqueTags(json.Genre),
    actors: uniqueTags(json.Role),
    collections: uniqueTags(json.Collection),
    files: json.Media.flatMap((media) => media.Part.flatMap((part) => part.file === undefined ? [] : [part.file])),
    // A part's own duration, or its media's when the media is that one part (Plex gives one of them, or both).
    parts: json.Media.flatMap((media) =>
      media.Part.flatMap((part) =>
        part.file === undefined
          ? []
          : [
            new PlexPart({
              file: part.file,
              size: measured(part.size),
              duration: measured(part.duration) ?? (media.Part.length === 1 ? measured(media.duration) : null)
            })
          ]
      )
    ),
    lockedFields: json.Field.filter((field) => field.locked).map((field) => field.name)
  })

export const toPlexSection = (json: typeof SectionJson.Type): PlexSection =>
  new PlexSection({
    key: json.key,
    title: json.title,
    type: json.type,
    locations: json.Location.map((location) => location.path)
  })
