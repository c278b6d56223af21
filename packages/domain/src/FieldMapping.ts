import { ParseResult, Schema } from "effect"
import { createHash } from "node:crypto"
import { Limits, nameKey, sanitizeName, sanitizeNames, sanitizeSummary, sanitizeTitle } from "./Sanitize.js"
import type { StashScene } from "./StashScene.js"

/** The names `PLEXSYNC_FIELDS` accepts. */
export const SyncField = Schema.Literal(
  "title",
  "summary",
  "studio",
  "date",
  "rating",
  "tags",
  "performers",
  "collections",
  "poster"
)
export type SyncField = typeof SyncField.Type

export const allSyncFields: ReadonlyArray<SyncField> = SyncField.literals

/** `title,summary,…` → the selected fields. Unknown names are refused by name; an empty value selects none. */
export const SyncFieldsFromString = Schema.transformOrFail(Schema.String, Schema.Array(SyncField), {
  strict: true,
  decode: (text, _, ast) => {
    const out: Array<SyncField> = []
    for (const raw of text.split(",")) {
      const name = raw.trim().toLowerCase()
      if (name === "") continue
      if (!(allSyncFields as ReadonlyArray<string>).includes(name)) {
        return ParseResult.fail(
          new ParseResult.Type(ast, text, `unknown field "${raw.trim()}"; allowed: ${allSyncFields.join(",")}`)
        )
      }
      if (!out.includes(name as SyncField)) out.push(name as SyncField)
    }
    return ParseResult.succeed(out)
  },
  encode: (fields) => ParseResult.succeed(fields.join(","))
})

export interface FieldOptions {
  /** The fields that sync; the others are left as they are in Plex. */
  readonly fields: ReadonlySet<SyncField>
}

export const allFields: FieldOptions = { fields: new Set(allSyncFields) }

/**
 * What a scene wants Plex to show. An absent key means "leave Plex as it is" (the field is not synced, or
 * the scene has nothing sensible for it); `null` means "clear it in Plex".
 */
export interface WantedFields {
  /** Never null: a title is never cleared. */
  readonly title?: string
  readonly summary?: string | null
  readonly studio?: string | null
  /** `YYYY-MM-DD` */
  readonly originallyAvailableAt?: string | null
  /** 0–10, one decimal. */
  readonly rating?: number | null
  readonly genres?: ReadonlyArray<string>
  readonly actors?: ReadonlyArray<string>
  readonly collections?: ReadonlyArray<string>
  /** The cover image URL; null when the scene has none. */
  readonly poster?: string | null
}

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/**
 * A Stash date (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`) as Plex's `YYYY-MM-DD`: a year is its first of January,
 * a month its first day. Anything else (or an impossible date) is `undefined`: never write garbage.
 */
export const plexDate = (date: string): string | undefined => {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(date.trim())
  if (m === null) return undefined
  const year = Number(m[1])
  const month = m[2] === undefined ? 1 : Number(m[2])
  const day = m[3] === undefined ? 1 : Number(m[3])
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  return `${m[1]}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`
}

/** Stash `rating100` (1–100) as Plex's 0–10 with one decimal. */
export const plexRating = (rating100: number): number => Math.min(10, Math.max(0, Math.round(rating100) / 10))

const emptyToNull = (s: string): string | null => (s === "" ? null : s)

/** The Plex fields a scene wants, with the field toggles applied and every text sanitised. */
export const wantedFields = (scene: StashScene, options: FieldOptions): WantedFields => {
  const on = (field: SyncField) => options.fields.has(field)
  const wanted: {
    -readonly [K in keyof WantedFields]: WantedFields[K]
  } = {}
  if (on("title") && scene.title !== null) {
    const title = sanitizeTitle(scene.title)
    if (title !== "") wanted.title = title
  }
  if (on("summary")) wanted.summary = scene.details === null ? null : emptyToNull(sanitizeSummary(scene.details))
  if (on("studio")) wanted.studio = scene.studio === null ? null : emptyToNull(sanitizeName(scene.studio.name))
  if (on("date")) {
    if (scene.date === null || scene.date.trim() === "") wanted.originallyAvailableAt = null
    else {
      const date = plexDate(scene.date)
      if (date !== undefined) wanted.originallyAvailableAt = date
    }
  }
  if (on("rating")) wanted.rating = scene.rating100 === null ? null : plexRating(scene.rating100)
  if (on("tags")) wanted.genres = sanitizeNames(scene.tags.map((t) => t.name), Limits.tags)
  if (on("performers")) wanted.actors = sanitizeNames(scene.performers.map((p) => p.name), Limits.performers)
  if (on("collections")) {
    const names = scene.studio === null ? [] : [scene.studio.name]
    wanted.collections = sanitizeNames([...names, ...scene.groups.map((g) => g.name)], Limits.collections)
  }
  if (on("poster")) wanted.poster = scene.screenshot
  return wanted
}

const sortedKeys = (names: ReadonlyArray<string>) => [...names].sort((a, b) => nameKey(a).localeCompare(nameKey(b)))

/**
 * A stable hash of what a sync would make Plex show: the wanted fields (tag lists as sets), the Plex file they
 * go to, and the mode (with the version of its rule). Equal hashes mean a sync would change nothing.
 */
export const contentHash = (
  wanted: WantedFields,
  context: { readonly plexFile: string | null; readonly preservePlexEdits: boolean }
): string => {
  const canonical = {
    v: 1,
    file: context.plexFile,
    // Preserve mode's rule changed (a person's edit is a locked field, no longer any value plexsync did not write):
    // its hashes changed with it, so every scene synced under the old rule is compared with Plex once more (a
    // reconciliation finds it `stashChanged`), and a scanner title the old rule took for a person's is replaced.
    preserve: context.preservePlexEdits ? "locked" : false,
    title: wanted.title,
    summary: wanted.summary,
    studio: wanted.studio,
    date: wanted.originallyAvailableAt,
    rating: wanted.rating,
    genres: wanted.genres === undefined ? undefined : sortedKeys(wanted.genres),
    actors: wanted.actors === undefined ? undefined : sortedKeys(wanted.actors),
    collections: wanted.collections === undefined ? undefined : sortedKeys(wanted.collections),
    poster: wanted.poster
  }
  // JSON.stringify drops undefined values: a field that does not sync leaves no trace, unlike a cleared one.
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex")
}

/** A hash of image bytes (decides whether a poster upload is needed). */
export const imageHash = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")
