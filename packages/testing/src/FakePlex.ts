/**
 * A stateful fake Plex Media Server over real HTTP on 127.0.0.1, for contract tests, reliability tests
 * and the demo. It follows the wire facts the client relies on (see the reference notes on Plex):
 *
 * - XML by default, JSON only with `Accept: application/json`; error bodies stay HTML/XML regardless;
 * - the token as `X-Plex-Token` header or query param; `/identity` needs none; a wrong token is a 401 with
 *   Plex's HTML page; a shared (non-admin) token may read but gets 403 on writes;
 * - sections with `Location` paths; `GET /library/sections/{sid}/all?type=1[&file=][&title=]` with
 *   `X-Plex-Container-Start/Size` (header or query). `file=` returns every item in the file's folder —
 *   candidates, as on real servers — so a client must verify `Part.file` itself. Listings are partial
 *   objects like Plex's (at most 2 genres and 3 actors, no `Field` locks); `/library/metadata/{id}` is full;
 * - edits as python-plexapi sends them (`<field>.value`, `<field>.locked`, `<tag>[i].tag.tag` replacing
 *   the list, `<tag>[].tag.tag-=a,b` removing, brackets raw or `%5B%5D`), on the section path or on
 *   `PUT /library/metadata/{ids}`; `/:/rate` (-1 clears); poster upload as raw bytes; partial scans that
 *   make a pending file appear after a delay measured on Effect's `Clock` (so `TestClock` drives it);
 *   `PUT /library/metadata/{id}/refresh` reverts unlocked fields to what the "agent" knows, as real
 *   refreshes can.
 *
 * Deliberate differences from a real server: a section edit must name `id` (real Plex would edit every
 * item of the type), and nothing is ever fetched from a poster `url=`.
 *
 * Tests get: a `state` API (sections, items, pending files, item state), fault switches, a `ledger` of
 * every mutating request and a request counter.
 */
import { Clock, Effect, Runtime } from "effect"
import type { Scope } from "effect"
import { createHash } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { toXml } from "./FakePlexXml.js"

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

/** One mutating request as the fake received it. */
export interface FakePlexWrite {
  readonly seq: number
  readonly method: string
  /** Path without the query string. */
  readonly path: string
  /** The item(s) it targets (`id=`, `key=`, or the path), comma-joined; null when none (scans). */
  readonly ratingKey: string | null
  /** Decoded query params (last value wins), the token removed. */
  readonly params: Readonly<Record<string, string>>
  /** The raw query string with the token redacted. */
  readonly query: string
  readonly bodyBytes: number
  /** Clock time, epoch ms. */
  readonly at: number
  readonly status: number
  /** Whether the change reached the fake's state (false when a fault or an error answered instead). */
  readonly applied: boolean
}

export interface FakePlexRequest {
  readonly seq: number
  readonly method: string
  readonly path: string
  readonly at: number
  /** The `Accept` and `X-Plex-*` headers sent; the token's value is replaced by `<redacted>`. */
  readonly headers: Readonly<Record<string, string>>
}

export interface FakePlexSentJson {
  readonly route: FakePlexJsonRoute
  readonly path: string
  readonly body: unknown
}

/** Routes that answer with a `MediaContainer` (for checking bodies against the spec). */
export type FakePlexJsonRoute = "identity" | "root" | "sections" | "sectionItems" | "metadata"

export type FakePlexFault =
  /** 401 with Plex's HTML page, whatever token was sent. */
  | { readonly _tag: "Unauthorized" }
  /** 403 (HTML). */
  | { readonly _tag: "Forbidden" }
  /** 503 with Plex's XML maintenance body. */
  | { readonly _tag: "Maintenance" }
  /** Any status with a body (default: an HTML page). */
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly body?: string
    readonly contentType?: string
  }
  /** The connection is destroyed before any response; nothing is applied. */
  | { readonly _tag: "ResetBeforeResponse" }
  /** The request is handled (a write is applied), the status line and half the body are sent, then reset. */
  | { readonly _tag: "ResetMidBody" }
  /** No answer at all until the server closes; nothing is applied. */
  | { readonly _tag: "Stall" }
  /** Delays the request (real time), then handles it normally. */
  | { readonly _tag: "Latency"; readonly ms: number }

export interface FakePlexFaultOptions {
  /** How many matching requests it affects; unlimited when absent. */
  readonly times?: number
  readonly method?: string
  /** Exact path, or a pattern tested against the path. */
  readonly path?: string | RegExp
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

export interface FakePlexFaults {
  readonly inject: (fault: FakePlexFault, options?: FakePlexFaultOptions) => void
  readonly clear: () => void
  /** Stops listening (and drops open connections): clients get `ECONNREFUSED`. */
  readonly refuseConnections: Effect.Effect<void>
  /** Listens again on the same port. */
  readonly acceptConnections: Effect.Effect<void>
  readonly isListening: () => boolean
}

export interface FakePlexLedger {
  readonly entries: () => ReadonlyArray<FakePlexWrite>
  readonly forItem: (ratingKey: string) => ReadonlyArray<FakePlexWrite>
  readonly clear: () => void
}

export interface FakePlexRequests {
  readonly count: () => number
  readonly log: () => ReadonlyArray<FakePlexRequest>
  readonly reset: () => void
}

export interface FakePlexServer {
  readonly url: string
  readonly port: number
  /** The admin token the fake accepts. */
  readonly token: string
  readonly sharedToken: string
  readonly machineIdentifier: () => string
  readonly close: Effect.Effect<void>
  readonly state: FakePlexState
  readonly faults: FakePlexFaults
  readonly ledger: FakePlexLedger
  readonly requests: FakePlexRequests
  /** Every JSON body sent (newest last, at most 2,000). */
  readonly sentJson: () => ReadonlyArray<FakePlexSentJson>
}

export interface FakePlexOptions {
  readonly token?: string
  /** A shared user's token: reads succeed, writes get 403. */
  readonly sharedToken?: string
  readonly machineIdentifier?: string
  readonly version?: string
  /** Time from a scan to the scanned file appearing (Clock ms). Default 2,000. */
  readonly scanDelayMs?: number
  /** 0 (default) picks a free port. */
  readonly port?: number
  /** Returns at most this many items per page, whatever size was asked (servers may cap). */
  readonly pageSizeCap?: number
  /** Ignores `X-Plex-Container-Start/Size` and returns every item (servers may ignore paging). */
  readonly ignorePaging?: boolean
}

// ---------------------------------------------------------------------------------------------------------
// Wire constants (bodies as captured from real servers)

const unauthorizedHtml = "<html><head><script>window.location = window.location.href.match(/(^.+\\/)[^\\/]*$/)[1] + " +
  "'web/index.html';</script><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
const forbiddenHtml = "<html><head><title>Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>"
const notFoundHtml = "<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>"
const badRequestHtml = "<html><head><title>Bad Request</title></head><body><h1>400 Bad Request</h1></body></html>"
const maintenanceXml = `<?xml version="1.0" encoding="UTF-8"?>\n<Response code="503" title="Maintenance" ` +
  `status="Plex Media Server is currently running database migrations."/>\n`
const libraryIdentifier = "com.plexapp.plugins.library"
const scalarFields = [
  "title",
  "titleSort",
  "summary",
  "studio",
  "tagline",
  "contentRating",
  "originallyAvailableAt"
] as const
type ScalarField = typeof scalarFields[number]
const tagFields = {
  genre: "genres",
  actor: "actors",
  collection: "collections",
  label: "labels"
} as const
type TagField = keyof typeof tagFields

// ---------------------------------------------------------------------------------------------------------
// Internal mutable state

interface MutableItem {
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
  lockedFields: Array<string>
  poster: FakePlexPoster | null
  addedAt: number
  updatedAt: number
  /** What a metadata refresh restores for unlocked fields. */
  agent: Pick<MutableItem, ScalarField | "genres" | "actors" | "collections" | "labels">
  mediaId: number
  partId: number
}

interface PendingFile {
  readonly init: FakePlexItemInit
  readonly file: string
  readonly sectionKey: string
  appearsAt: number | null
}

interface ActiveFault {
  readonly fault: FakePlexFault
  readonly options: FakePlexFaultOptions
  remaining: number
}

interface Reply {
  readonly status: number
  readonly contentType: string
  readonly body: string | Uint8Array
  readonly headers?: Record<string, string>
}

class HttpFailure {
  constructor(readonly status: number) {}
}

const dirname = (file: string): string => {
  const index = Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\"))
  return index <= 0 ? file.slice(0, index + 1) : file.slice(0, index)
}

const isUnder = (file: string, folder: string): boolean => {
  const base = folder.replace(/[\\/]+$/, "")
  return file === base || file.startsWith(`${base}/`) || file.startsWith(`${base}\\`)
}

const unique = (names: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (const name of names) if (name !== "" && !out.includes(name)) out.push(name)
  return out
}

const isDate = (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value))

const setScalar = (item: MutableItem, field: ScalarField, value: string | null): void => {
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
  lockedFields: [...item.lockedFields],
  poster: item.poster,
  addedAt: item.addedAt,
  updatedAt: item.updatedAt
})

// ---------------------------------------------------------------------------------------------------------
// Server

/** Starts the fake on 127.0.0.1; it is closed with the scope. */
export const start = (options: FakePlexOptions = {}): Effect.Effect<FakePlexServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>()
      const fake = new Fake(options, () => Runtime.runSync(runtime)(Clock.currentTimeMillis))
      yield* Effect.promise(() => fake.listen(options.port ?? 0))
      return fake
    }),
    (fake) => Effect.promise(() => fake.shutdown())
  ).pipe(Effect.map((fake) => fake.handle()))

/** For scripts: starts the fake outside any scope; `closePromise()` stops it. */
export const startFakePlex = async (
  options: FakePlexOptions = {}
): Promise<FakePlexServer & { readonly closePromise: () => Promise<void> }> => {
  const fake = new Fake(options, () => Date.now())
  await fake.listen(options.port ?? 0)
  return { ...fake.handle(), closePromise: () => fake.shutdown() }
}

class Fake {
  readonly token: string
  readonly sharedToken: string
  machineIdentifier: string
  readonly version: string
  readonly pageSizeCap: number
  readonly ignorePaging: boolean
  scanDelayMs: number

  readonly sectionsByKey = new Map<string, FakePlexSection>()
  readonly itemsByKey = new Map<string, MutableItem>()
  readonly pendingFiles: Array<PendingFile> = []
  readonly scanLog: Array<FakePlexScan> = []
  readonly writes: Array<FakePlexWrite> = []
  readonly requestLog: Array<FakePlexRequest> = []
  readonly jsonLog: Array<FakePlexSentJson> = []
  readonly faultList: Array<ActiveFault> = []
  readonly tagIds = new Map<string, number>()
  readonly sockets = new Set<Socket>()
  readonly stalled = new Set<http.ServerResponse>()
  readonly server: http.Server

  nextRatingKey = 1001
  nextSectionKey = 1
  nextId = 1
  seq = 0
  port = 0
  listening = false

  constructor(options: FakePlexOptions, readonly now: () => number) {
    this.token = options.token ?? "fake-plex-admin-token"
    this.sharedToken = options.sharedToken ?? "fake-plex-shared-token"
    this.machineIdentifier = options.machineIdentifier ?? "0f1e2d3c4b5a69788796a5b4c3d2e1f0fakeplex"
    this.version = options.version ?? "1.41.3.9314-a0bfb8370"
    this.scanDelayMs = options.scanDelayMs ?? 2_000
    this.pageSizeCap = options.pageSizeCap ?? Number.POSITIVE_INFINITY
    this.ignorePaging = options.ignorePaging ?? false
    this.server = http.createServer((req, res) => this.onRequest(req, res))
    this.server.keepAliveTimeout = 20_000
    this.server.on("connection", (socket) => {
      this.sockets.add(socket)
      socket.on("close", () => this.sockets.delete(socket))
    })
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      this.server.once("error", onError)
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", onError)
        this.port = (this.server.address() as AddressInfo).port
        this.listening = true
        resolve()
      })
    })
  }

  stopListening(): Promise<void> {
    if (!this.listening) return Promise.resolve()
    this.listening = false
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      for (const res of this.stalled) res.destroy()
      this.stalled.clear()
      for (const socket of this.sockets) socket.destroy()
    })
  }

  async shutdown(): Promise<void> {
    await this.stopListening()
  }

  // --- state --------------------------------------------------------------------------------------------

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

  scan(sectionKey: string, path: string | null): void {
    const at = this.now()
    this.scanLog.push({ sectionKey, path, at })
    for (const pending of this.pendingFiles) {
      if (pending.sectionKey !== sectionKey || pending.appearsAt !== null) continue
      if (path === null || isUnder(pending.file, path)) pending.appearsAt = at + this.scanDelayMs
    }
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

  handle(): FakePlexServer {
    const state: FakePlexState = {
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
    const faults: FakePlexFaults = {
      inject: (fault, options = {}) => {
        this.faultList.push({ fault, options, remaining: options.times ?? Number.POSITIVE_INFINITY })
      },
      clear: () => {
        this.faultList.length = 0
      },
      refuseConnections: Effect.promise(() => this.stopListening()),
      acceptConnections: Effect.promise(() => this.listening ? Promise.resolve() : this.listen(this.port)),
      isListening: () => this.listening
    }
    const ledger: FakePlexLedger = {
      entries: () => [...this.writes],
      forItem: (ratingKey) =>
        this.writes.filter((write) => write.ratingKey !== null && write.ratingKey.split(",").includes(ratingKey)),
      clear: () => {
        this.writes.length = 0
      }
    }
    const requests: FakePlexRequests = {
      count: () => this.requestLog.length,
      log: () => [...this.requestLog],
      reset: () => {
        this.requestLog.length = 0
      }
    }
    return {
      url: `http://127.0.0.1:${this.port}`,
      port: this.port,
      token: this.token,
      sharedToken: this.sharedToken,
      machineIdentifier: () => this.machineIdentifier,
      close: Effect.promise(() => this.shutdown()),
      state,
      faults,
      ledger,
      requests,
      sentJson: () => [...this.jsonLog]
    }
  }

  // --- HTTP ---------------------------------------------------------------------------------------------

  takeFaults(method: string, path: string): { latencyMs: number; fault: FakePlexFault | undefined } {
    let latencyMs = 0
    let fault: FakePlexFault | undefined
    for (const active of [...this.faultList]) {
      const { options } = active
      if (options.method !== undefined && options.method.toUpperCase() !== method) continue
      if (options.path !== undefined) {
        const matches = typeof options.path === "string" ? options.path === path : options.path.test(path)
        if (!matches) continue
      }
      if (active.fault._tag === "Latency") {
        latencyMs += active.fault.ms
      } else if (fault === undefined) {
        fault = active.fault
      } else {
        continue
      }
      active.remaining -= 1
      if (active.remaining <= 0) this.faultList.splice(this.faultList.indexOf(active), 1)
    }
    return { latencyMs, fault }
  }

  onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("error", () => res.destroy())
    req.on("end", () => {
      const body = Buffer.concat(chunks)
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const method = (req.method ?? "GET").toUpperCase()
      const path = url.pathname
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(req.headers)) {
        if (name !== "accept" && !name.startsWith("x-plex-")) continue
        headers[name] = name === "x-plex-token" ? "<redacted>" : String(value)
      }
      this.requestLog.push({ seq: ++this.seq, method, path, at: this.now(), headers })
      const { fault, latencyMs } = this.takeFaults(method, path)
      const proceed = () => this.respond(req, res, url, method, body, fault)
      if (latencyMs > 0) setTimeout(proceed, latencyMs)
      else proceed()
    })
  }

  isWrite(method: string, path: string): boolean {
    return method !== "GET" && method !== "HEAD" || path === "/:/rate" || /\/refresh$/.test(path)
  }

  ratingKeyOf(path: string, params: URLSearchParams): string | null {
    const metadata = /^\/library\/metadata\/([^/]+)/.exec(path)
    if (metadata) return decodeURIComponent(metadata[1]!)
    if (path === "/:/rate") return params.get("key")
    if (/^\/library\/sections\/[^/]+\/all$/.test(path)) return params.get("id")
    return null
  }

  respond(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    method: string,
    body: Buffer,
    fault: FakePlexFault | undefined
  ): void {
    if (!this.listening || res.destroyed) {
      res.destroy()
      return
    }
    const path = url.pathname
    const write = this.isWrite(method, path)
    const record = (status: number, applied: boolean) => {
      if (!write) return
      const params: Record<string, string> = {}
      for (const [key, value] of url.searchParams) if (key.toLowerCase() !== "x-plex-token") params[key] = value
      this.writes.push({
        seq: this.seq,
        method,
        path,
        ratingKey: this.ratingKeyOf(path, url.searchParams),
        params,
        query: url.search.replace(/^\?/, "").replace(/(^|&)(X-Plex-Token=)[^&]*/gi, "$1$2<redacted>"),
        bodyBytes: body.length,
        at: this.now(),
        status,
        applied
      })
    }
    const send = (reply: Reply) => {
      res.writeHead(reply.status, {
        "Content-Type": reply.contentType,
        "Cache-Control": "no-cache",
        "X-Plex-Protocol": "1.0",
        "Content-Length": String(Buffer.byteLength(reply.body)),
        ...reply.headers
      })
      res.end(reply.body)
    }

    if (fault !== undefined) {
      switch (fault._tag) {
        case "Stall":
          record(0, false)
          this.stalled.add(res)
          res.on("close", () => this.stalled.delete(res))
          return
        case "ResetBeforeResponse":
          record(0, false)
          req.socket.destroy()
          return
        case "Unauthorized":
          record(401, false)
          return send({ status: 401, contentType: "text/html", body: unauthorizedHtml })
        case "Forbidden":
          record(403, false)
          return send({ status: 403, contentType: "text/html", body: forbiddenHtml })
        case "Maintenance":
          record(503, false)
          return send({ status: 503, contentType: "text/xml;charset=utf-8", body: maintenanceXml })
        case "Status":
          record(fault.status, false)
          return send({
            status: fault.status,
            contentType: fault.contentType ?? "text/html",
            body: fault.body ??
              `<html><head><title>${fault.status}</title></head><body><h1>${fault.status}</h1></body></html>`
          })
        case "Latency":
        case "ResetMidBody":
          break
      }
    }

    let reply: Reply
    try {
      reply = this.route(req, url, method, body)
      record(reply.status, reply.status >= 200 && reply.status < 300)
    } catch (error) {
      // An unexpected exception is a bug in the fake: answer 500 rather than crash the test process.
      const status = error instanceof HttpFailure ? error.status : 500
      record(status, false)
      reply = this.errorReply(status)
    }

    if (fault?._tag === "ResetMidBody") {
      const payload = Buffer.from(
        typeof reply.body === "string" ? reply.body : reply.body.length > 0 ? reply.body : new Uint8Array(0)
      )
      const full = payload.length >= 2 ? payload : Buffer.alloc(64, 32)
      res.writeHead(reply.status, {
        "Content-Type": reply.contentType,
        "Content-Length": String(full.length),
        ...reply.headers
      })
      res.write(full.subarray(0, Math.floor(full.length / 2)), () => {
        setTimeout(() => req.socket.destroy(), 5)
      })
      return
    }
    send(reply)
  }

  errorReply(status: number): Reply {
    switch (status) {
      case 401:
        return { status, contentType: "text/html", body: unauthorizedHtml }
      case 403:
        return { status, contentType: "text/html", body: forbiddenHtml }
      case 404:
        return { status, contentType: "text/html", body: notFoundHtml }
      case 400:
        return { status, contentType: "text/html", body: badRequestHtml }
      default:
        return { status, contentType: "text/html", body: `<html><body><h1>${status}</h1></body></html>` }
    }
  }

  container(
    req: http.IncomingMessage,
    route: FakePlexJsonRoute,
    path: string,
    mediaContainer: Record<string, unknown>,
    headers?: Record<string, string>
  ): Reply {
    const body = { MediaContainer: mediaContainer }
    const accept = String(req.headers["accept"] ?? "")
    if (accept.includes("application/json")) {
      this.jsonLog.push({ route, path, body })
      if (this.jsonLog.length > 2_000) this.jsonLog.shift()
      return {
        status: 200,
        contentType: "application/json",
        body: JSON.stringify(body),
        ...(headers === undefined ? {} : { headers })
      }
    }
    return {
      status: 200,
      contentType: "text/xml;charset=utf-8",
      body: toXml(body),
      ...(headers === undefined ? {} : { headers })
    }
  }

  empty(): Reply {
    return { status: 200, contentType: "text/html", body: "" }
  }

  authorize(req: http.IncomingMessage, url: URL, write: boolean): void {
    const header = req.headers["x-plex-token"]
    const token = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get("X-Plex-Token") ??
      url.searchParams.get("x-plex-token")
    if (token === this.token) return
    if (token === this.sharedToken) {
      if (write) throw new HttpFailure(403)
      return
    }
    throw new HttpFailure(401)
  }

  route(req: http.IncomingMessage, url: URL, method: string, body: Buffer): Reply {
    const path = url.pathname.replace(/\/+$/, "") || "/"
    const params = url.searchParams
    if (path === "/identity" && method === "GET") {
      return this.container(req, "identity", path, {
        size: 0,
        claimed: true,
        machineIdentifier: this.machineIdentifier,
        version: this.version
      })
    }
    this.authorize(req, url, this.isWrite(method, path))
    this.settle()

    if (path === "/" && method === "GET") {
      return this.container(req, "root", path, {
        size: 0,
        allowCameraUpload: false,
        allowSync: true,
        friendlyName: "Fake Plex",
        machineIdentifier: this.machineIdentifier,
        myPlex: false,
        platform: "Linux",
        version: this.version
      })
    }
    if ((path === "/library/sections" || path === "/library/sections/all") && method === "GET") {
      return this.sectionsReply(req, path)
    }
    const sectionRoute = /^\/library\/sections\/([^/]+)\/(all|refresh)$/.exec(path)
    if (sectionRoute) {
      const section = this.sectionsByKey.get(decodeURIComponent(sectionRoute[1]!))
      if (section === undefined) throw new HttpFailure(404)
      if (sectionRoute[2] === "all") {
        if (method === "GET") return this.sectionItemsReply(req, url, section)
        if (method === "PUT") return this.sectionEdit(section, params)
      } else {
        if (method === "GET" || method === "POST") {
          this.scan(section.key, params.get("path"))
          return this.empty()
        }
        if (method === "DELETE") return this.empty()
      }
      throw new HttpFailure(405)
    }
    if (path === "/:/rate" && (method === "PUT" || method === "GET")) return this.rate(params)
    const metadataRoute = /^\/library\/metadata\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(path)
    if (metadataRoute) {
      const ids = decodeURIComponent(metadataRoute[1]!).split(",").filter((id) => id !== "")
      const element = metadataRoute[2]
      if (element === undefined) {
        if (method === "GET") return this.metadataReply(req, path, ids)
        if (method === "PUT") return this.edit(ids.map((id) => this.itemOr404(id)), params)
        throw new HttpFailure(405)
      }
      const item = this.itemOr404(ids[0]!)
      if (element === "refresh" && method === "PUT") {
        this.refresh(item)
        return this.empty()
      }
      if (["posters", "poster", "thumb"].includes(element) && (method === "POST" || method === "PUT")) {
        if (metadataRoute[3] === undefined) return this.poster(item, req, params, body)
      }
      if (element === "thumb" && method === "GET" && item.poster !== null) {
        return { status: 200, contentType: item.poster.contentType, body: item.poster.bytes }
      }
      throw new HttpFailure(404)
    }
    throw new HttpFailure(404)
  }

  itemOr404(ratingKey: string): MutableItem {
    const item = this.itemsByKey.get(ratingKey)
    if (item === undefined) throw new HttpFailure(404)
    return item
  }

  sectionsReply(req: http.IncomingMessage, path: string): Reply {
    const now = this.nowSeconds()
    const directories = [...this.sectionsByKey.values()].map((section) => ({
      allowSync: true,
      art: "/:/resources/movie-fanart.jpg",
      composite: `/library/sections/${section.key}/composite/${now}`,
      filters: true,
      refreshing: this.pendingFiles.some((p) => p.sectionKey === section.key && p.appearsAt !== null),
      thumb: "/:/resources/movie.png",
      key: section.key,
      type: section.type,
      title: section.title,
      agent: "tv.plex.agents.none",
      scanner: "Plex Video Files Scanner",
      language: "xn",
      uuid: section.uuid,
      updatedAt: now,
      createdAt: now,
      scannedAt: now,
      content: true,
      directory: true,
      contentChangedAt: now,
      // Real servers send an integer here (the spec says boolean): see the deviation list in the tests.
      hidden: 0,
      Location: section.locations.map((location, i) => ({ id: Number(section.key) * 100 + i, path: location }))
    }))
    return this.container(req, "sections", path, {
      size: directories.length,
      allowSync: false,
      title1: "Plex Library",
      Directory: directories
    })
  }

  sectionItemsReply(req: http.IncomingMessage, url: URL, section: FakePlexSection): Reply {
    const params = url.searchParams
    const type = params.get("type")
    if (type !== null && type !== "1") {
      return this.container(req, "sectionItems", url.pathname, { size: 0, totalSize: 0, offset: 0 })
    }
    let items = [...this.itemsByKey.values()].filter((item) => item.sectionKey === section.key)
    const file = params.get("file")
    if (file !== null) {
      // Candidates by folder, as on real servers; the client must compare `Part.file` exactly.
      const folder = dirname(file)
      items = items.filter((item) => item.files.some((f) => f === file || dirname(f) === folder))
    }
    const title = params.get("title")
    if (title !== null) items = items.filter((item) => item.title.toLowerCase().includes(title.toLowerCase()))
    items.sort((a, b) => a.title.localeCompare(b.title) || Number(a.ratingKey) - Number(b.ratingKey))
    const header = (name: string) => {
      const value = req.headers[name.toLowerCase()]
      return params.get(name) ?? (Array.isArray(value) ? value[0] : value) ?? null
    }
    const start = this.ignorePaging ? 0 : Math.max(0, Number(header("X-Plex-Container-Start") ?? 0) || 0)
    const sizeParam = this.ignorePaging ? null : header("X-Plex-Container-Size")
    const size = Math.min(
      sizeParam === null ? items.length : Math.max(0, Number(sizeParam) || 0),
      this.pageSizeCap
    )
    const page = items.slice(start, start + size)
    return this.container(
      req,
      "sectionItems",
      url.pathname,
      {
        size: page.length,
        totalSize: items.length,
        offset: start,
        allowSync: true,
        identifier: libraryIdentifier,
        librarySectionID: Number(section.key),
        librarySectionTitle: section.title,
        librarySectionUUID: section.uuid,
        mediaTagPrefix: "/system/bundle/media/flags/",
        mediaTagVersion: 1700000000,
        title1: section.title,
        title2: "All Movies",
        viewGroup: "movie",
        Metadata: page.map((item) => this.metadataJson(item, section, false))
      },
      { "X-Plex-Container-Start": String(start), "X-Plex-Container-Total-Size": String(items.length) }
    )
  }

  metadataReply(req: http.IncomingMessage, path: string, ids: ReadonlyArray<string>): Reply {
    const items = ids.flatMap((id) => {
      const item = this.itemsByKey.get(id)
      return item === undefined ? [] : [item]
    })
    if (items.length === 0) throw new HttpFailure(404)
    const section = this.sectionsByKey.get(items[0]!.sectionKey)!
    return this.container(req, "metadata", path, {
      size: items.length,
      allowSync: true,
      identifier: libraryIdentifier,
      librarySectionID: Number(section.key),
      librarySectionTitle: section.title,
      librarySectionUUID: section.uuid,
      mediaTagPrefix: "/system/bundle/media/flags/",
      mediaTagVersion: 1700000000,
      Metadata: items.map((item) => this.metadataJson(item, this.sectionsByKey.get(item.sectionKey)!, true))
    })
  }

  /** A `Metadata` entry as real servers send it: absent fields omitted, lists omitted when empty. */
  metadataJson(item: MutableItem, section: FakePlexSection, full: boolean): Record<string, unknown> {
    const tags = (kind: string, names: ReadonlyArray<string>, limit: number) => {
      const shown = full ? names : names.slice(0, limit)
      return shown.length === 0 ? undefined : shown.map((tag) => {
        const id = this.tagId(kind, tag)
        return { id, filter: `${kind}=${id}`, tag }
      })
    }
    const entry: Record<string, unknown> = {
      ratingKey: item.ratingKey,
      key: `/library/metadata/${item.ratingKey}`,
      guid: `local://${item.ratingKey}`,
      type: "movie",
      title: item.title,
      titleSort: item.titleSort ?? undefined,
      librarySectionID: Number(section.key),
      librarySectionKey: `/library/sections/${section.key}`,
      librarySectionTitle: section.title,
      studio: item.studio ?? undefined,
      contentRating: item.contentRating ?? undefined,
      summary: item.summary ?? "",
      tagline: item.tagline ?? undefined,
      userRating: item.userRating ?? undefined,
      lastRatedAt: item.userRating === null ? undefined : item.lastRatedAt ?? undefined,
      year: item.originallyAvailableAt === null ? undefined : Number(item.originallyAvailableAt.slice(0, 4)),
      originallyAvailableAt: item.originallyAvailableAt ?? undefined,
      thumb: item.poster === null ? undefined : `/library/metadata/${item.ratingKey}/thumb/${item.updatedAt}`,
      duration: 1_800_000,
      addedAt: item.addedAt,
      updatedAt: item.updatedAt,
      Media: [{
        id: item.mediaId,
        duration: 1_800_000,
        bitrate: 5612,
        width: 1920,
        height: 1080,
        aspectRatio: 1.78,
        audioChannels: 2,
        audioCodec: "aac",
        videoCodec: "h264",
        videoResolution: "1080",
        container: "mp4",
        videoFrameRate: "24p",
        Part: item.files.map((file, i) => ({
          id: item.partId * 10 + i,
          key: `/library/parts/${item.partId * 10 + i}/${item.addedAt}/file.mp4`,
          duration: 1_800_000,
          file,
          size: 734_003_200,
          container: "mp4"
        }))
      }],
      Genre: tags("genre", item.genres, 2),
      Role: tags("actor", item.actors, 3),
      Collection: tags("collection", item.collections, Number.POSITIVE_INFINITY),
      Label: full ? tags("label", item.labels, 0) : undefined,
      Field: full && item.lockedFields.length > 0
        ? item.lockedFields.map((name) => ({ locked: true, name }))
        : undefined
    }
    for (const key of Object.keys(entry)) if (entry[key] === undefined) delete entry[key]
    return entry
  }

  sectionEdit(section: FakePlexSection, params: URLSearchParams): Reply {
    if (params.get("type") !== "1") throw new HttpFailure(400)
    const ids = (params.get("id") ?? "").split(",").filter((id) => id !== "")
    if (ids.length === 0) throw new HttpFailure(400)
    const items = ids.map((id) => this.itemOr404(id))
    if (items.some((item) => item.sectionKey !== section.key)) throw new HttpFailure(404)
    return this.edit(items, params)
  }

  /** Applies one edit request to every item, validating everything before changing anything. */
  edit(items: ReadonlyArray<MutableItem>, params: URLSearchParams): Reply {
    const scalars = new Map<ScalarField, string | null>()
    const locks = new Map<string, boolean>()
    const replaced = new Map<TagField, Array<{ index: number; name: string }>>()
    const removed = new Map<TagField, Array<string>>()
    let userRating: number | null | undefined
    for (const [key, value] of params) {
      const field = /^([A-Za-z]+)\.(value|locked)$/.exec(key)
      if (field) {
        const name = field[1]!
        if (field[2] === "locked") {
          if (value !== "0" && value !== "1") throw new HttpFailure(400)
          locks.set(name, value === "1")
        } else if ((scalarFields as ReadonlyArray<string>).includes(name)) {
          if (name === "title" && value.trim() === "") throw new HttpFailure(400)
          if (name === "originallyAvailableAt" && value !== "" && !isDate(value)) throw new HttpFailure(400)
          scalars.set(name as ScalarField, value === "" ? null : value)
        } else if (name === "userRating") {
          const rating = value === "" ? null : Number(value)
          if (rating !== null && !(rating >= 0 && rating <= 10)) throw new HttpFailure(400)
          userRating = rating
        }
        continue
      }
      const tag = /^([A-Za-z]+)\[(\d*)\]\.tag\.tag(-?)$/.exec(key)
      if (tag && tag[1]! in tagFields) {
        const kind = tag[1] as TagField
        if (tag[3] === "-") {
          if (tag[2] !== "") throw new HttpFailure(400)
          const names = value.split(",").map((part) => {
            try {
              return decodeURIComponent(part)
            } catch {
              throw new HttpFailure(400)
            }
          })
          removed.set(kind, [...(removed.get(kind) ?? []), ...names])
        } else {
          if (tag[2] === "") throw new HttpFailure(400)
          if (value.trim() !== "") {
            replaced.set(kind, [...(replaced.get(kind) ?? []), { index: Number(tag[2]), name: value }])
          }
        }
      }
      // Other params (`type`, `id`, `X-Plex-*`, `actor[0].tagging.text`, unknown fields) are ignored.
    }
    for (const item of items) {
      for (const [field, value] of scalars) setScalar(item, field, value)
      if (userRating !== undefined) {
        item.userRating = userRating
        item.lastRatedAt = userRating === null ? null : this.nowSeconds()
      }
      for (const [kind, entries] of replaced) {
        item[tagFields[kind]] = unique([...entries].sort((a, b) => a.index - b.index).map((entry) => entry.name))
      }
      for (const [kind, names] of removed) {
        const gone = new Set(names.map((name) => name.toLowerCase()))
        item[tagFields[kind]] = item[tagFields[kind]].filter((name) => !gone.has(name.toLowerCase()))
      }
      for (const [field, locked] of locks) this.lock(item, field, locked)
      this.touch(item)
    }
    return this.empty()
  }

  rate(params: URLSearchParams): Reply {
    const key = params.get("key")
    const identifier = params.get("identifier")
    const ratingText = params.get("rating")
    if (key === null || identifier === null || ratingText === null || ratingText === "") throw new HttpFailure(400)
    if (identifier !== libraryIdentifier) throw new HttpFailure(404)
    const rating = Number(ratingText)
    if (!Number.isFinite(rating) || (rating !== -1 && (rating < 0 || rating > 10))) throw new HttpFailure(400)
    const item = this.itemOr404(key)
    item.userRating = rating === -1 ? null : rating
    item.lastRatedAt = rating === -1 ? null : this.nowSeconds()
    this.touch(item)
    return this.empty()
  }

  poster(item: MutableItem, req: http.IncomingMessage, params: URLSearchParams, body: Buffer): Reply {
    const url = params.get("url")
    if (body.length === 0 && (url === null || url === "")) throw new HttpFailure(400)
    const bytes = new Uint8Array(body)
    item.poster = {
      bytes,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      contentType: String(req.headers["content-type"] ?? "application/octet-stream"),
      url: body.length === 0 ? url : null,
      uploadedAt: this.now()
    }
    this.touch(item)
    return this.empty()
  }
}

/** A small library for the demo and for scripts: one "Other Videos" section and three scenes. */
export const seedDemoLibrary = (state: FakePlexState): void => {
  const section = state.addSection({ key: "1", title: "Adult", type: "movie", locations: ["/data/adult"] })
  state.addItem({
    sectionKey: section.key,
    file: "/data/adult/Studio A/scene-one.mp4",
    title: "scene-one"
  })
  state.addItem({
    sectionKey: section.key,
    file: "/data/adult/Studio A/scene-two.mp4",
    title: "Scene Two",
    studio: "Studio A",
    genres: ["Outdoor"],
    actors: ["Jane Doe"]
  })
  state.addItem({
    sectionKey: section.key,
    file: "/data/adult/Studio B/scene-three.mkv",
    title: "scene-three"
  })
  state.addPendingItem({ sectionKey: section.key, file: "/data/adult/Studio B/scene-four.mp4" })
}
