import type { WantedFields } from "./FieldMapping.js"
import type { PlexEdit, PlexItem, PlexScalarField, PlexTagField } from "./PlexClient.js"
import { Limits, nameKey } from "./Sanitize.js"
import type { WrittenFields } from "./SyncState.js"

export interface DiffOptions {
  /**
   * Preserve edits made in Plex: a field is written only when Plex has no value for it, or still shows what
   * plexsync wrote there last (so the value is plexsync's own, not a person's).
   */
  readonly preservePlexEdits: boolean
}

/** What one sync must send: at most one edit request and one rating call. */
export interface FieldDiff {
  /** The single edit (changed scalars, changed tag lists, all locked); null when nothing differs. */
  readonly edit: PlexEdit | null
  /** The rating to set (null clears it); absent when the rating is already right or not synced. */
  readonly rating: { readonly value: number | null } | null
  /** What plexsync owns on the item once the edit is applied: recorded in the sync state. */
  readonly written: WrittenFields
  /** Fields left alone because Plex holds a value plexsync did not write (preserve mode). */
  readonly preserved: ReadonlyArray<string>
}

export const emptyWritten: WrittenFields = { scalars: {}, rating: null, genres: [], actors: [], collections: [] }

const scalarFields: ReadonlyArray<PlexScalarField> = ["title", "summary", "studio", "originallyAvailableAt"]

const tagFields: ReadonlyArray<
  {
    readonly field: PlexTagField
    readonly wanted: "genres" | "actors" | "collections"
    readonly limit: number
  }
> = [
  { field: "genre", wanted: "genres", limit: Limits.tags },
  { field: "actor", wanted: "actors", limit: Limits.performers },
  { field: "collection", wanted: "collections", limit: Limits.collections }
]

const blankToNull = (
  s: string | null | undefined
): string | null => (s === undefined || s === null || s === "" ? null : s)

const sameRating = (a: number | null, b: number | null) => a === null || b === null ? a === b : Math.abs(a - b) < 0.05

/**
 * Compares what a scene wants with what the Plex item shows and what plexsync wrote last time, and returns the
 * minimal change. Scalars are sent only when they differ. Tag lists are sets (compared without regard to case):
 * names Stash has and Plex lacks are added; names plexsync added before and Stash dropped are removed; names a
 * person added in Plex stay. An unchanged item gives no edit at all.
 */
export const diffFields = (
  wanted: WantedFields,
  current: PlexItem,
  previous: WrittenFields | null,
  options: DiffOptions
): FieldDiff => {
  const prev = previous ?? emptyWritten
  const scalars: Partial<Record<PlexScalarField, string | null>> = {}
  const writtenScalars: Record<string, string | null> = {}
  const tags: { -readonly [K in PlexTagField]?: { set: ReadonlyArray<string>; remove: ReadonlyArray<string> } } = {}
  const preserved: Array<string> = []

  for (const field of scalarFields) {
    const want = wanted[field]
    if (want === undefined) continue
    const have = blankToNull(current[field])
    if (have === want) {
      writtenScalars[field] = want
      continue
    }
    const ours = field in prev.scalars && blankToNull(prev.scalars[field]) === have
    if (options.preservePlexEdits && have !== null && !ours) {
      preserved.push(field)
      continue
    }
    scalars[field] = want
    writtenScalars[field] = want
  }

  let rating: FieldDiff["rating"] = null
  let writtenRating: number | null = null
  if (wanted.rating !== undefined) {
    const have = current.userRating
    if (sameRating(have, wanted.rating)) writtenRating = wanted.rating
    else if (options.preservePlexEdits && have !== null && !sameRating(prev.rating, have)) preserved.push("rating")
    else {
      rating = { value: wanted.rating }
      writtenRating = wanted.rating
    }
  }

  const writtenTags: { genres: Array<string>; actors: Array<string>; collections: Array<string> } = {
    genres: [],
    actors: [],
    collections: []
  }
  for (const { field, limit, wanted: key } of tagFields) {
    const want = wanted[key]
    if (want === undefined) continue
    const have = current[key]
    const ownKeys = new Set(prev[key].map(nameKey))
    const wantKeys = new Set(want.map(nameKey))
    const haveKeys = new Set(have.map(nameKey))
    if (options.preservePlexEdits && have.some((name) => !ownKeys.has(nameKey(name)))) {
      const same = have.length === want.length && want.every((name) => haveKeys.has(nameKey(name)))
      if (!same) preserved.push(field)
      continue
    }
    const kept = have.filter((name) => !ownKeys.has(nameKey(name)) && !wantKeys.has(nameKey(name)))
    // Wanted names first (keeping Plex's spelling of a name it already has), then what a person added.
    const spelling = new Map(have.map((name) => [nameKey(name), name]))
    const finalList = [...want.map((name) => spelling.get(nameKey(name)) ?? name), ...kept].slice(0, limit)
    const finalKeys = new Set(finalList.map(nameKey))
    // What plexsync added and Stash dropped, plus anything the cap pushed out.
    const dropped = have.filter((name) => !finalKeys.has(nameKey(name)))
    const added = finalList.some((name) => !haveKeys.has(nameKey(name)))
    if (added || dropped.length > 0) {
      tags[field] = { set: finalList, remove: dropped }
    }
    writtenTags[key] = want.filter((name) =>
      finalKeys.has(nameKey(name)) && (ownKeys.has(nameKey(name)) || !haveKeys.has(nameKey(name)))
    )
  }

  const hasEdit = Object.keys(scalars).length > 0 || Object.keys(tags).length > 0
  return {
    edit: hasEdit ? { scalars, tags, lock: true } : null,
    rating,
    written: {
      scalars: writtenScalars,
      rating: writtenRating,
      genres: writtenTags.genres,
      actors: writtenTags.actors,
      collections: writtenTags.collections
    },
    preserved
  }
}

/** True when the diff sends nothing to Plex. */
export const isEmptyDiff = (diff: FieldDiff): boolean => diff.edit === null && diff.rating === null
