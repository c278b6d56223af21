/**
 * The fake Plex's library: sections, items (with what the "agent" would restore on a refresh), files waiting for a
 * scan, and the `FakePlexState` API tests drive it with. Times come from the `now` the server was started with.
 */
import { createHash } from "node:crypto"

// ---------------------------------------------------------------------------------------------------------
// Model

export interface FakePlexSection {
  readonly key: string
  readonly title: string
  /** `movie`, `show`, … */
  readonly type: string
  readonly locations: ReadonlyArray<string>
  readonly uuid: string
}

export interface FakePlexPoster {
  /** The uploaded bytes, or empty when the poster was set by `url=`. */
  readonly bytes: Uint8Array
  readonly sha256: string
  readonly contentType: string
  readonly url: string | null
  readonly uploadedAt: number
}

export interface FakePlexItem {
  readonly ratingKey: string
  readonly sectionKey: string
  readonly title: string
  readonly titleSort: string | null
  readonly summary: string | null
  readonly studio: string | null
  readonly tagline: string | null
  readonly contentRating: string | null
  /** `YYYY-MM-DD` */
  readonly originallyAvailableAt: string | null
  readonly userRating: number | null
  readonly genres: ReadonlyArray<string>
  readonly actors: ReadonlyArray<string>
  readonly collections: ReadonlyArray<string>
  readonly labels: ReadonlyArray<string>
  readonly files: ReadonlyArray<string>
  /** Each part's size in bytes (`Part.size`), as Plex's scan reads it. */
  readonly size: number
  /** Each part's duration in milliseconds (`Part.duration`, `Media.duration`), as Plex's analysis reads it. */
  readonly duration: number
  /** Locked field names, as in Plex's `Field` list (`title`, `genre`, `actor`, `thumb`, …). */
  readonly lockedFields: ReadonlyArray<string>
  readonly poster: FakePlexPoster | null
  /** Epoch seconds. */
  readonly addedAt: number
  readonly updatedAt: number
}

export interface FakePlexItemInit {
  /** Defaults to the section whose location is the longest prefix of the first file. */
  readonly sectionKey?: string
  readonly ratingKey?: string
  readonly file?: string
  readonly files?: ReadonlyArray<string>
  /** Bytes; default 734003200. */
  readonly size?: number
  /** Milliseconds; default 1800000. */
  readonly duration?: number
  readonly title?: string
  readonly summary?: string | null
  readonly studio?: string | null
  readonly tagline?: string | null
  readonly contentRating?: string | null
  readonly originallyAvailableAt?: string | null
  readonly userRating?: number | null
  readonly genres?: ReadonlyArray<string>
  readonly actors?: ReadonlyArray<string>
  readonly collections?: ReadonlyArray<string>
  readonly labels?: ReadonlyArray<string>
  readonly lockedFields?: ReadonlyArray<string>
}

export interface FakePlexPendingFile {
  readonly file: string
  readonly sectionKey: string
  /** Clock time (ms) at which a scan makes it appear; null until a scan covers it. */
  readonly appearsAt: number | null
}

export interface FakePlexScan {
  readonly sectionKey: string
  readonly path: string | null
  readonly at: number
}

export interface FakePlexState {
  readonly addSection: (init: {
    readonly key?: string
    readonly title?: string
    readonly type?: string
    readonly locations: ReadonlyArray<string>
  }) => FakePlexSection
  readonly sections: () => ReadonlyArray<FakePlexSection>
  readonly addItem: (init: FakePlexItemInit) => FakePlexItem
  /** A file on disk that Plex has not scanned yet: it appears `scanDelayMs` after a scan covers it. */
  readonly addPendingItem: (init: FakePlexItemInit) => void
  readonly pending: () => ReadonlyArray<FakePlexPendingFile>
  readonly item: (ratingKey: string) => FakePlexItem | undefined
  readonly itemByFile: (file: string) => FakePlexItem | undefined
  readonly items: () => ReadonlyArray<FakePlexItem>
  /** A change made in Plex itself (a user's edit): bumps `updatedAt`. */
  readonly updateItem: (ratingKey: string, patch: Partial<Omit<FakePlexItem, "ratingKey" | "sectionKey">>) => void
  readonly removeItem: (ratingKey: string) => boolean
  readonly scans: () => ReadonlyArray<FakePlexScan>
  readonly setScanDelay: (ms: number) => void
  readonly setMachineIdentifier: (id: string) => void
}

// ---------------------------------------------------------------------------------------------------------
// Internal mutable state

export const scalarFields = [
  "title",
  "titleSort",
  "summary",
  "studio",
  "tagline",
  "contentRating",
  "originallyAvailableAt"
] as const
export type ScalarField = typeof scalarFields[number]
export const tagFields = {
  genre: "genres",
  actor: "actors",
  collection: "collections",
  label: "labels"
} as const
export type TagField = keyof typeof tagFields

export interface MutableItem {
  ratingKey: string
  sectionKey: string
  title: string
  titleSort: string | null
  summary: string | null
  studio: string | null
  tagline: string | null
  contentRating: string | null
  originallyAvailableAt: string | null
  userRating: number | null
  lastRatedAt: number | null
  genres: Array<string>
  actors: Array<string>
  collections: Array<string>
  labels: Array<string>
  files: Array<string>
  size: number
  duration: number
  lockedFields: Array<string>
  poster: FakePlexPoster | null
  addedAt: number
  updatedAt: number
  /** What a metadata refresh restores for unlocked fields. */
  agent: Pick<MutableItem, ScalarField | "genres" | "actors" | "collections" | "labels">
  mediaId: number
  partId: number
}

export interface PendingFile {
  readonly init: FakePlexItemInit
  readonly file: string
  readonly sectionKey: string
  appearsAt: number | null
}

export const dirname = (file: string): string => {
  const index = Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\"))
  return index <= 0 ? file.slice(0, index + 1) : file.slice(0, index)
}

const isUnder = (file: string, folder: string): boolean => {
  const base = folder.replace(/[\\/]+$/, "")
  return file === base || file.startsWith(`${base}/`) || file.startsWith(`${base}\\`)
}

export const unique = (names: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (const name of names) if (name !== "" && !out.includes(name)) out.push(name)
  return out
}

export const setScalar = (item: MutableItem, field: ScalarField, value: string | null): void => {
  if (field === "title") item.title = value ?? item.title
  else item[field] = value
}

const snapshot = (item: MutableItem): FakePlexItem => ({
  ratingKey: item.ratingKey,
  sectionKey: item.sectionKey,
  title: item.title,
  titleSort: item.titleSort,
  summary: item.summary,
  studio: item.studio,
  tagline: item.tagline,
  contentRating: item.contentRating,
  originallyAvailableAt: item.originallyAvailableAt,
  userRating: item.userRating,
  genres: [...item.genres],
  actors: [...item.actors],
  collections: [...item.collections],
  labels: [...item.labels],
  files: [...item.files],
  size: item.size,
  duration: item.duration,
  lockedFields: [...item.lockedFields],
  poster: item.poster,
  addedAt: item.addedAt,
  updatedAt: item.updatedAt
})

// ---------------------------------------------------------------------------------------------------------
// The library

export interface FakePlexLibraryOptions {
  readonly machineIdentifier?: string
  /** Time from a scan to the scanned file appearing (Clock ms). Default 2,000. */
  readonly scanDelayMs?: number
}

export class FakePlexLibrary {
  machineIdentifier: string
  scanDelayMs: number

  readonly sectionsByKey = new Map<string, FakePlexSection>()
  readonly itemsByKey = new Map<string, MutableItem>()
  readonly pendingFiles: Array<PendingFile> = []
  readonly scanLog: Array<FakePlexScan> = []
  readonly tagIds = new Map<string, number>()

  nextRatingKey = 1001
  nextSectionKey = 1
  nextId = 1

  constructor(options: FakePlexLibraryOptions, readonly now: () => number) {
    this.machineIdentifier = options.machineIdentifier ?? "0f1e2d3c4b5a69788796a5b4c3d2e1f0fakeplex"
    this.scanDelayMs = options.scanDelayMs ?? 2_000
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000)
  }

  tagId(kind: string, name: string): number {
    const key = `${kind}\u0000${name.toLowerCase()}`
    let id = this.tagIds.get(key)
    if (id === undefined) {
      id = this.nextId++
      this.tagIds.set(key, id)
    }
    return id
  }

  sectionFor(file: string): FakePlexSection | undefined {
    let best: FakePlexSection | undefined
    let bestLength = -1
    for (const section of this.sectionsByKey.values()) {
      for (const location of section.locations) {
        if (isUnder(file, location) && location.length > bestLength) {
          best = section
          bestLength = location.length
        }
      }
    }
    return best
  }

  addSection(init: {
    readonly key?: string
    readonly title?: string
    readonly type?: string
    readonly locations: ReadonlyArray<string>
  }): FakePlexSection {
    const key = init.key ?? String(this.nextSectionKey++)
    const section: FakePlexSection = {
      key,
      title: init.title ?? `Library ${key}`,
      type: init.type ?? "movie",
      locations: [...init.locations],
      uuid: createHash("sha1").update(`section-${key}`).digest("hex").slice(0, 8) +
        "-0000-4000-8000-000000000000"
    }
    this.sectionsByKey.set(key, section)
    return section
  }

  filesOf(init: FakePlexItemInit): Array<string> {
    const files = [...(init.files ?? []), ...(init.file === undefined ? [] : [init.file])]
    if (files.length === 0) throw new Error("FakePlex: an item needs at least one file")
    return unique(files)
  }

  resolveSection(init: FakePlexItemInit, files: ReadonlyArray<string>): string {
    if (init.sectionKey !== undefined) {
      if (!this.sectionsByKey.has(init.sectionKey)) throw new Error(`FakePlex: no section ${init.sectionKey}`)
      return init.sectionKey
    }
    const section = this.sectionFor(files[0]!)
    if (section === undefined) throw new Error(`FakePlex: no section has a location containing ${files[0]}`)
    return section.key
  }

  addItem(init: FakePlexItemInit): FakePlexItem {
    const files = this.filesOf(init)
    const sectionKey = this.resolveSection(init, files)
    const ratingKey = init.ratingKey ?? String(this.nextRatingKey++)
    if (this.itemsByKey.has(ratingKey)) throw new Error(`FakePlex: ratingKey ${ratingKey} exists`)
    const name = files[0]!.split(/[\\/]/).pop() ?? files[0]!
    const fields = {
      title: init.title ?? name.replace(/\.[^.]+$/, ""),
      titleSort: null,
      summary: init.summary ?? null,
      studio: init.studio ?? null,
      tagline: init.tagline ?? null,
      contentRating: init.contentRating ?? null,
      originallyAvailableAt: init.originallyAvailableAt ?? null,
      genres: unique(init.genres ?? []),
      actors: unique(init.actors ?? []),
      collections: unique(init.collections ?? []),
      labels: unique(init.labels ?? [])
    }
    const now = this.nowSeconds()
    const item: MutableItem = {
      ratingKey,
      sectionKey,
      ...fields,
      genres: [...fields.genres],
      actors: [...fields.actors],
      collections: [...fields.collections],
      labels: [...fields.labels],
      userRating: init.userRating ?? null,
      lastRatedAt: null,
      files,
      size: init.size ?? 734_003_200,
      duration: init.duration ?? 1_800_000,
      lockedFields: unique(init.lockedFields ?? []),
      poster: null,
      addedAt: now,
      updatedAt: now,
      agent: fields,
      mediaId: this.nextId++,
      partId: this.nextId++
    }
    this.itemsByKey.set(ratingKey, item)
    return snapshot(item)
  }

  addPendingItem(init: FakePlexItemInit): void {
    const files = this.filesOf(init)
    const sectionKey = this.resolveSection(init, files)
    this.pendingFiles.push({ init: { ...init, sectionKey }, file: files[0]!, sectionKey, appearsAt: null })
  }

  /** Pending files whose scan delay has passed become items. */
  settle(): void {
    const now = this.now()
    for (let i = 0; i < this.pendingFiles.length;) {
      const pending = this.pendingFiles[i]!
      if (pending.appearsAt !== null && pending.appearsAt <= now) {
        this.pendingFiles.splice(i, 1)
        this.addItem(pending.init)
      } else {
        i++
      }
    }
  }

  /** Told of each scan asked for (the event stream announces it). */
  onScan: ((sectionKey: string, path: string | null) => void) | null = null

  scan(sectionKey: string, path: string | null): void {
    const at = this.now()
    this.scanLog.push({ sectionKey, path, at })
    for (const pending of this.pendingFiles) {
      if (pending.sectionKey !== sectionKey || pending.appearsAt !== null) continue
      if (path === null || isUnder(pending.file, path)) pending.appearsAt = at + this.scanDelayMs
    }
    this.onScan?.(sectionKey, path)
  }

  /** The scan of `path` finished now: the pending files it covers become items, returned. */
  bringIn(sectionKey: string, path: string | null): Array<FakePlexItem> {
    const added: Array<FakePlexItem> = []
    for (let i = 0; i < this.pendingFiles.length;) {
      const pending = this.pendingFiles[i]!
      if (
        pending.sectionKey === sectionKey && pending.appearsAt !== null &&
        (path === null || isUnder(pending.file, path))
      ) {
        this.pendingFiles.splice(i, 1)
        added.push(this.addItem(pending.init))
      } else {
        i++
      }
    }
    return added
  }

  touch(item: MutableItem): void {
    item.updatedAt = Math.max(this.nowSeconds(), item.updatedAt)
  }

  lock(item: MutableItem, field: string, locked: boolean): void {
    const has = item.lockedFields.includes(field)
    if (locked && !has) item.lockedFields.push(field)
    if (!locked && has) item.lockedFields = item.lockedFields.filter((name) => name !== field)
  }

  /** A metadata refresh: unlocked fields go back to what the agent provides. */
  refresh(item: MutableItem): void {
    for (const field of scalarFields) {
      if (!item.lockedFields.includes(field)) setScalar(item, field, item.agent[field])
    }
    for (const [param, property] of Object.entries(tagFields)) {
      if (!item.lockedFields.includes(param)) item[property] = [...item.agent[property]]
    }
    this.touch(item)
  }

  /** The API tests drive the library with. */
  api(): FakePlexState {
    return {
      addSection: (init) => this.addSection(init),
      sections: () => [...this.sectionsByKey.values()],
      addItem: (init) => this.addItem(init),
      addPendingItem: (init) => this.addPendingItem(init),
      pending: () => {
        this.settle()
        return this.pendingFiles.map(({ appearsAt, file, sectionKey }) => ({ file, sectionKey, appearsAt }))
      },
      item: (ratingKey) => {
        this.settle()
        const item = this.itemsByKey.get(ratingKey)
        return item === undefined ? undefined : snapshot(item)
      },
      itemByFile: (file) => {
        this.settle()
        for (const item of this.itemsByKey.values()) if (item.files.includes(file)) return snapshot(item)
        return undefined
      },
      items: () => {
        this.settle()
        return [...this.itemsByKey.values()].map(snapshot)
      },
      updateItem: (ratingKey, patch) => {
        const item = this.itemsByKey.get(ratingKey)
        if (item === undefined) throw new Error(`FakePlex: no item ${ratingKey}`)
        for (const [key, value] of Object.entries(patch)) {
          ;(item as unknown as Record<string, unknown>)[key] = Array.isArray(value) ? [...value] : value
        }
        this.touch(item)
      },
      removeItem: (ratingKey) => this.itemsByKey.delete(ratingKey),
      scans: () => [...this.scanLog],
      setScanDelay: (ms) => {
        this.scanDelayMs = ms
      },
      setMachineIdentifier: (id) => {
        this.machineIdentifier = id
      }
    }
  }
}
