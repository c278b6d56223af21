import type { WantedFields } from "./FieldMapping.js"
import type { PlexEdit, PlexItem, PlexScalarField, PlexTagField } from "./PlexClient.js"
import { Limits, nameKey } from "./Sanitize.js"
import type { WrittenFields } from "./SyncState.js"

export interface DiffOptions {
  /**
   * Preserve edits made in Plex: a scalar field a person edited is left alone. Plex locks a field a person edits
   * in its UI, so a field is a person's when it is locked and shows something other than what plexsync wrote there
   * last (plexsync locks what it writes too, so a lock alone proves nothing). Unlocked values — the scanner's
   * file-name title, an agent's summary, an empty field — are replaced. The token user's rating cannot be locked and
   * no scanner or agent sets it, so a rating plexsync did not write is a person's. Tag lists follow the set rule in
   * every mode (see `diffFields`).
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
  /** Fields left alone because a person set them in Plex: locked, and not what plexsync wrote (preserve mode). */
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
 * A scalar Plex shows is a person's edit when the field is locked and its value is not what plexsync wrote there
 * last. `previous` holds what plexsync wrote to this item; a field absent from it was never plexsync's.
 */
export const isPersonsEdit = (
  field: PlexScalarField,
  current: PlexItem,
  previous: WrittenFields
): boolean => {
  if (!current.lockedFields.includes(field)) return false
  const ours = field in previous.scalars && blankToNull(previous.scalars[field]) === blankToNull(current[field])
  return !ours
}

/**
 * Compares what a scene wants with what the Plex item shows and what plexsync wrote last time, and returns the
 * minimal change. Scalars are sent only when they differ (and, in preserve mode, not when they are a person's edit:
 * `isPersonsEdit`). Tag lists are sets (compared without regard to case) in every mode: names Stash has and Plex
 * lacks are added; names plexsync owns and Stash dropped are removed; names a person added in Plex stay. plexsync
 * owns every Stash name it leaves on the item, except in preserve mode one Plex had before plexsync wrote it.
 * An unchanged item gives no edit at all.
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
    if (options.preservePlexEdits && isPersonsEdit(field, current, prev)) {
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
    // What plexsync owns from now on. By default every Stash name the item shows, also one Plex had already (a
    // reinstall, a lost database, an agent's genre): were it left to a person, a later rename or removal in Stash
    // would never reach it. In preserve mode a name Plex had before plexsync wrote it stays the person's.
    writtenTags[key] = want.filter((name) =>
      finalKeys.has(nameKey(name)) &&
      (!options.preservePlexEdits || ownKeys.has(nameKey(name)) || !haveKeys.has(nameKey(name)))
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
