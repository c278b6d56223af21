import { Effect, Fiber } from "effect"
import type { PlexError } from "./Errors.js"
import type { WantedFields } from "./FieldMapping.js"
import { pathKey, sectionsForPath } from "./PathMap.js"
import type { PlexItem, PlexSection } from "./PlexClient.js"
import { PlexClient } from "./PlexClient.js"
import { Limits, nameKey } from "./Sanitize.js"
import type { WrittenFields } from "./SyncState.js"

/**
 * The Plex side of a reconciliation: every item of the chosen sections, read once from paged section listings,
 * keyed by file path and held compactly (the one structure that grows with the library).
 *
 * What a listing shows. Plex's section listing carries every scalar we sync (title, summary, studio, date, the
 * token user's rating) but cuts tag lists short: current servers list at most 2 genres and 3 actors per item
 * (collections in full), and no field locks. So the comparison is exact for scalars and rating, and for tag lists
 * it is exact only where the list is known to be complete. A list is complete when it is shorter than the longest
 * list of that kind seen anywhere in the listing (a server that cuts at N never shows more than N, so a list
 * shorter than the longest seen was not cut). A list that may have been cut is checked only for what it does show:
 * a name plexsync added and the scene no longer has is a difference; a name it does not show proves nothing. A
 * kind no item shows at all is taken as not listed, and not compared. This never reports an item that a sync would
 * leave unchanged, so a reconciliation right after a repair finds nothing; what it can miss is a tag removed in
 * Plex from a list longer than the cut, which the next sync of that scene repairs.
 */

// ---------------------------------------------------------------------------------------------------------
// Compact values

/** A 53-bit string hash (cyrb53): scalars are kept as hashes, so a summary costs 8 bytes, not its length. */
export const textHash = (text: string): number => {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0)
}

/** The hash of "no value" (an absent or blank field); real hashes are never negative. */
export const noValue = -1

const blankToNull = (
  s: string | null | undefined
): string | null => (s === undefined || s === null || s === "" ? null : s)

/** A scalar as the comparison sees it: blank is no value, as in `diffFields`. */
export const scalarHash = (value: string | null | undefined): number => {
  const v = blankToNull(value)
  return v === null ? noValue : textHash(v)
}

export const scalarFields = ["title", "summary", "studio", "originallyAvailableAt"] as const
export type ListedScalar = typeof scalarFields[number]

export const tagKinds = ["genres", "actors", "collections"] as const
export type TagKind = typeof tagKinds[number]

const tagLimits: Record<TagKind, number> = {
  genres: Limits.tags,
  actors: Limits.performers,
  collections: Limits.collections
}

/** Separates name keys in one stored string (never part of a sanitised name). */
const sep = "\u0000"

/** What a listing shows of an item, compactly: scalar hashes, the rating, and each tag list's name keys. */
export interface ListedItem {
  readonly scalars: Readonly<Record<ListedScalar, number>>
  readonly rating: number | null
  /** Name keys (`nameKey`) in the order shown, joined by NUL; "" for none. */
  readonly tags: Readonly<Record<TagKind, string>>
}

// Every shown name is kept, duplicates too: how many a listing shows is what tells a whole list from a cut one.
const joinKeys = (names: ReadonlyArray<string>): string => names.map(nameKey).filter((key) => key !== "").join(sep)

export const splitKeys = (joined: string): ReadonlyArray<string> => (joined === "" ? [] : joined.split(sep))

export const toListed = (item: PlexItem): ListedItem => ({
  scalars: {
    title: scalarHash(item.title),
    summary: scalarHash(item.summary),
    studio: scalarHash(item.studio),
    originallyAvailableAt: scalarHash(item.originallyAvailableAt)
  },
  rating: item.userRating,
  tags: { genres: joinKeys(item.genres), actors: joinKeys(item.actors), collections: joinKeys(item.collections) }
})

/** The longest list of each kind seen in the listing (see the module note); `Infinity` means lists are whole. */
export type TagCaps = Readonly<Record<TagKind, number>>

export const wholeLists: TagCaps = { genres: Infinity, actors: Infinity, collections: Infinity }

const sameRating = (a: number | null, b: number | null) => a === null || b === null ? a === b : Math.abs(a - b) < 0.05

/**
 * The fields a sync would change on an item as its listing shows it: the rule of `diffFields`, applied to the
 * compact listed view. `previous` is what plexsync last wrote to this item. Empty: nothing to repair.
 */
export const listedDifferences = (
  wanted: WantedFields,
  listed: ListedItem,
  previous: WrittenFields,
  options: { readonly preservePlexEdits: boolean; readonly caps: TagCaps }
): ReadonlyArray<string> => {
  const out: Array<string> = []
  const preserve = options.preservePlexEdits

  for (const field of scalarFields) {
    const want = wanted[field]
    if (want === undefined) continue
    const have = listed.scalars[field]
    if (have === scalarHash(want)) continue
    const ours = field in previous.scalars && scalarHash(previous.scalars[field]) === have
    // Preserve mode keeps a person's edit: a locked field showing what plexsync did not write. A listing shows no
    // locks, but plexsync locks every field it writes and Plex locks every field a person edits, so on a synced item
    // a value that is not plexsync's is a person's (set or cleared). What this can miss, an unlocked field changed
    // since, the next sync of the scene repairs; it never reports a person's edit, which a sync would keep.
    if (preserve && !ours) continue
    out.push(field)
  }

  if (wanted.rating !== undefined) {
    const have = listed.rating
    const kept = preserve && have !== null && !sameRating(previous.rating, have)
    if (!sameRating(have, wanted.rating) && !kept) out.push("rating")
  }

  for (const kind of tagKinds) {
    const want = wanted[kind]
    if (want === undefined) continue
    const cap = options.caps[kind]
    if (cap === 0) continue // this server's listings do not show the kind at all
    const shown = splitKeys(listed.tags[kind])
    const own = new Set(previous[kind].map(nameKey))
    const wantKeys = new Set(want.map(nameKey))
    // Lists follow the set rule in every mode (as in `diffFields`).
    const complete = shown.length < cap
    if (!complete) {
      // Only what is shown can be judged: a sync removes plexsync's own dropped names.
      if (shown.some((key) => own.has(key) && !wantKeys.has(key))) out.push(kind)
      continue
    }
    const shownSet = new Set(shown)
    const kept = shown.filter((key) => !own.has(key) && !wantKeys.has(key))
    const missing = [...wantKeys].some((key) => !shownSet.has(key))
    const dropped = shown.some((key) => own.has(key) && !wantKeys.has(key))
    const overflow = wantKeys.size + kept.length > tagLimits[kind]
    if (missing || dropped || overflow) out.push(kind)
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------
// The index

/** Looks up the items holding a file. */
export type Lookup =
  | { readonly _tag: "None" }
  | { readonly _tag: "One"; readonly item: number }
  | { readonly _tag: "Several"; readonly items: ReadonlyArray<number> }

export interface PlexIndex {
  readonly sections: ReadonlyArray<PlexSection>
  /** Items indexed (each once, however many files it has). */
  readonly size: number
  readonly caps: TagCaps
  /**
   * The items holding the file (a Plex path), looked for like the matcher does: in every section whose location
   * holds the path (one file is an item in each of overlapping libraries), or everywhere for a path outside all.
   */
  readonly lookup: (plexPath: string) => Lookup
  readonly ratingKey: (item: number) => string
  /** The item's section (its position in `sections`). */
  readonly section: (item: number) => number
  readonly listed: (item: number) => ListedItem
  /** Marks an item as the file of some Stash scene (for orphan detection). */
  readonly markSeen: (item: number) => void
  /** Items never marked seen. */
  readonly unseen: () => Iterable<number>
}

/** Builds the index incrementally from listing pages. */
export class PlexIndexBuilder {
  private readonly keys: Array<string> = []
  private readonly sectionOf: Array<number> = []
  private readonly scalars: Array<number> = []
  private readonly ratings: Array<number> = []
  private readonly tagLists: Array<string> = []
  private readonly byRatingKey = new Map<string, number>()
  private readonly byPath = new Map<string, number>()
  private readonly shared = new Map<string, Array<number>>()
  private readonly interned = new Map<string, string>()
  private readonly maxShown: Record<TagKind, number> = { genres: 0, actors: 0, collections: 0 }

  constructor(readonly sections: ReadonlyArray<PlexSection>) {}

  private intern(text: string): string {
    if (text === "") return text
    const existing = this.interned.get(text)
    if (existing !== undefined) return existing
    this.interned.set(text, text)
    return text
  }

  /** Adds one listed item of section `section` (its position in `sections`). */
  add(item: PlexItem, section: number): void {
    // A listing that shifts between pages can show an item twice: keep the first.
    if (this.byRatingKey.has(item.ratingKey)) return
    const index = this.keys.length
    const listed = toListed(item)
    this.byRatingKey.set(item.ratingKey, index)
    this.keys.push(item.ratingKey)
    this.sectionOf.push(section)
    for (const field of scalarFields) this.scalars.push(listed.scalars[field])
    this.ratings.push(listed.rating === null ? NaN : listed.rating)
    for (const kind of tagKinds) {
      const joined = listed.tags[kind]
      this.tagLists.push(this.intern(joined))
      const count = splitKeys(joined).length
      if (count > this.maxShown[kind]) this.maxShown[kind] = count
    }
    const seenFiles = new Set<string>()
    for (const file of item.files) {
      const key = pathKey(file)
      if (seenFiles.has(key)) continue
      seenFiles.add(key)
      const many = this.shared.get(key)
      if (many !== undefined) {
        many.push(index)
        continue
      }
      const one = this.byPath.get(key)
      if (one === undefined) this.byPath.set(key, index)
      else {
        this.byPath.delete(key)
        this.shared.set(key, [one, index])
      }
    }
  }

  build(): PlexIndex {
    const { byPath, keys, ratings, scalars, sectionOf, sections, shared, tagLists } = this
    const caps: TagCaps = { ...this.maxShown }
    const seen = new Uint8Array(keys.length)
    const sectionIndex = new Map(sections.map((s, i) => [s.key, i]))
    const inSection = (items: ReadonlyArray<number>, plexPath: string): ReadonlyArray<number> => {
      // As the matcher does: a path inside sections' locations is looked for in those sections only.
      const holding = sectionsForPath(sections, plexPath)
      if (holding.length === 0) return items
      const wanted = new Set(holding.map((choice) => sectionIndex.get(choice.section.key)))
      return items.filter((i) => wanted.has(sectionOf[i]))
    }
    const asLookup = (items: ReadonlyArray<number>): Lookup =>
      items.length === 0
        ? { _tag: "None" }
        : items.length === 1
        ? { _tag: "One", item: items[0]! }
        : { _tag: "Several", items }
    return {
      sections,
      size: keys.length,
      caps,
      lookup: (plexPath) => {
        const key = pathKey(plexPath)
        const one = byPath.get(key)
        if (one !== undefined) return asLookup(inSection([one], plexPath))
        const many = shared.get(key)
        return many === undefined ? { _tag: "None" } : asLookup(inSection(many, plexPath))
      },
      ratingKey: (item) => keys[item]!,
      section: (item) => sectionOf[item]!,
      listed: (item) => {
        const s = item * 4
        const t = item * 3
        const rating = ratings[item]!
        return {
          scalars: {
            title: scalars[s]!,
            summary: scalars[s + 1]!,
            studio: scalars[s + 2]!,
            originallyAvailableAt: scalars[s + 3]!
          },
          rating: Number.isNaN(rating) ? null : rating,
          tags: { genres: tagLists[t]!, actors: tagLists[t + 1]!, collections: tagLists[t + 2]! }
        }
      },
      markSeen: (item) => {
        seen[item] = 1
      },
      unseen: function*() {
        for (let i = 0; i < seen.length; i++) if (seen[i] === 0) yield i
      }
    }
  }
}

export interface IndexProgress {
  readonly section: PlexSection
  /** Items of this section read so far. */
  readonly read: number
  readonly total: number
}

/**
 * Reads every item of `sections` with paged listings (`pageSize` items a request) and indexes them: one request
 * per page and nothing per item. Returns the index and the number of requests made.
 */
export const buildPlexIndex = (
  sections: ReadonlyArray<PlexSection>,
  options: {
    readonly pageSize: number
    readonly onPage?: (progress: IndexProgress) => Effect.Effect<void>
  }
): Effect.Effect<{ readonly index: PlexIndex; readonly requests: number }, PlexError, PlexClient> =>
  Effect.gen(function*() {
    const plex = yield* PlexClient
    const builder = new PlexIndexBuilder(sections)
    let requests = 0
    for (let s = 0; s < sections.length; s++) {
      const section = sections[s]!
      const fetch = (start: number) => {
        requests++
        return plex.listSection(section.key, { start, size: options.pageSize })
      }
      // The next page is on its way while this one is indexed: one request in flight, at most two pages held.
      let pending = yield* Effect.fork(fetch(0))
      let start = 0
      while (true) {
        const page = yield* Fiber.join(pending)
        const read = start + page.items.length
        const more = page.items.length > 0 && read < page.totalSize
        if (more) pending = yield* Effect.fork(fetch(read))
        for (const item of page.items) builder.add(item, s)
        start = read
        if (options.onPage) yield* options.onPage({ section, read, total: page.totalSize })
        if (!more) break
      }
    }
    return { index: builder.build(), requests }
  }).pipe(Effect.withSpan("Reconcile.buildPlexIndex"))
