/**
 * The fake Plex's routes: each request (past the faults) is authorized, then answered from the library or applied
 * to it, as real servers do (see the wire facts at the top of `FakePlex.ts`).
 */
import { createHash } from "node:crypto"
import type * as http from "node:http"
import type { FakePlexJsonRoute, FakePlexSentJson, Reply } from "./FakePlexRender.js"
import {
  emptyReply,
  HttpFailure,
  libraryIdentifier,
  librarySectionAttributes,
  metadataJson,
  sectionDirectory
} from "./FakePlexRender.js"
import type { FakePlexLibrary, FakePlexSection, MutableItem, ScalarField, TagField } from "./FakePlexState.js"
import { dirname, scalarFields, setScalar, tagFields, unique } from "./FakePlexState.js"
import { toXml } from "./FakePlexXml.js"

/** Whether a request changes something (and so goes into the ledger, and is refused to a shared token). */
export const isWrite = (method: string, path: string): boolean =>
  method !== "GET" && method !== "HEAD" || path === "/:/rate" || /\/refresh$/.test(path)

/** Read by the server's owner alone (a shared user's token is refused, as Plex does). */
export const isOwnerOnly = (path: string): boolean => path === "/:/prefs"

/** The item(s) a write targets (`id=`, `key=`, or the path), comma-joined; null when none (scans). */
export const ratingKeyOf = (path: string, params: URLSearchParams): string | null => {
  const metadata = /^\/library\/metadata\/([^/]+)/.exec(path)
  if (metadata) return decodeURIComponent(metadata[1]!)
  if (path === "/:/rate") return params.get("key")
  if (/^\/library\/sections\/[^/]+\/all$/.test(path)) return params.get("id")
  return null
}

const isDate = (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value))

export interface FakePlexRouteOptions {
  /** The admin token. */
  readonly token: string
  /** A shared user's token: reads succeed, writes get 403. */
  readonly sharedToken: string
  readonly version: string
  /** At most this many items per page, whatever size was asked. */
  readonly pageSizeCap: number
  /** Whether `X-Plex-Container-Start/Size` are ignored (every item returned). */
  readonly ignorePaging: boolean
}

export class FakePlexRoutes {
  /** Every JSON body sent (newest last, at most 2,000). */
  readonly jsonLog: Array<FakePlexSentJson> = []

  constructor(readonly library: FakePlexLibrary, readonly options: FakePlexRouteOptions) {}

  readonly tagId = (kind: string, name: string): number => this.library.tagId(kind, name)

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

  authorize(req: http.IncomingMessage, url: URL, write: boolean): void {
    const header = req.headers["x-plex-token"]
    const token = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get("X-Plex-Token") ??
      url.searchParams.get("x-plex-token")
    if (token === this.options.token) return
    if (token === this.options.sharedToken) {
      if (write) throw new HttpFailure(403)
      return
    }
    throw new HttpFailure(401)
  }

  /** `GET /:/prefs`: the server's settings (one, enough for a client that only asks whether it may read them). */
  prefsReply(): Reply {
    return {
      status: 200,
      contentType: "application/json",
      body: JSON.stringify({
        MediaContainer: { size: 1, Setting: [{ id: "FriendlyName", type: "text", value: "Fake Plex" }] }
      })
    }
  }

  route(req: http.IncomingMessage, url: URL, method: string, body: Buffer): Reply {
    const path = url.pathname.replace(/\/+$/, "") || "/"
    const params = url.searchParams
    if (path === "/identity" && method === "GET") {
      return this.container(req, "identity", path, {
        size: 0,
        claimed: true,
        machineIdentifier: this.library.machineIdentifier,
        version: this.options.version
      })
    }
    this.authorize(req, url, isWrite(method, path) || isOwnerOnly(path))
    this.library.settle()
    if (path === "/:/prefs" && method === "GET") return this.prefsReply()

    if (path === "/" && method === "GET") {
      return this.container(req, "root", path, {
        size: 0,
        allowCameraUpload: false,
        allowSync: true,
        friendlyName: "Fake Plex",
        machineIdentifier: this.library.machineIdentifier,
        myPlex: false,
        platform: "Linux",
        version: this.options.version
      })
    }
    if ((path === "/library/sections" || path === "/library/sections/all") && method === "GET") {
      return this.sectionsReply(req, path)
    }
    const sectionRoute = /^\/library\/sections\/([^/]+)\/(all|refresh)$/.exec(path)
    if (sectionRoute) {
      const section = this.library.sectionsByKey.get(decodeURIComponent(sectionRoute[1]!))
      if (section === undefined) throw new HttpFailure(404)
      if (sectionRoute[2] === "all") {
        if (method === "GET") return this.sectionItemsReply(req, url, section)
        if (method === "PUT") return this.sectionEdit(section, params)
      } else {
        if (method === "GET" || method === "POST") {
          this.library.scan(section.key, params.get("path"))
          return emptyReply
        }
        if (method === "DELETE") return emptyReply
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
        this.library.refresh(item)
        return emptyReply
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
    const item = this.library.itemsByKey.get(ratingKey)
    if (item === undefined) throw new HttpFailure(404)
    return item
  }

  sectionsReply(req: http.IncomingMessage, path: string): Reply {
    const now = this.library.nowSeconds()
    const directories = [...this.library.sectionsByKey.values()].map((section) =>
      sectionDirectory(
        section,
        now,
        this.library.pendingFiles.some((p) => p.sectionKey === section.key && p.appearsAt !== null)
      )
    )
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
    let items = [...this.library.itemsByKey.values()].filter((item) => item.sectionKey === section.key)
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
    const start = this.options.ignorePaging ? 0 : Math.max(0, Number(header("X-Plex-Container-Start") ?? 0) || 0)
    const sizeParam = this.options.ignorePaging ? null : header("X-Plex-Container-Size")
    const size = Math.min(
      sizeParam === null ? items.length : Math.max(0, Number(sizeParam) || 0),
      this.options.pageSizeCap
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
        ...librarySectionAttributes(section),
        title1: section.title,
        title2: "All Movies",
        viewGroup: "movie",
        Metadata: page.map((item) => metadataJson(item, section, false, this.tagId))
      },
      { "X-Plex-Container-Start": String(start), "X-Plex-Container-Total-Size": String(items.length) }
    )
  }

  metadataReply(req: http.IncomingMessage, path: string, ids: ReadonlyArray<string>): Reply {
    const items = ids.flatMap((id) => {
      const item = this.library.itemsByKey.get(id)
      return item === undefined ? [] : [item]
    })
    if (items.length === 0) throw new HttpFailure(404)
    const section = this.library.sectionsByKey.get(items[0]!.sectionKey)!
    return this.container(req, "metadata", path, {
      size: items.length,
      ...librarySectionAttributes(section),
      Metadata: items.map((item) =>
        metadataJson(item, this.library.sectionsByKey.get(item.sectionKey)!, true, this.tagId)
      )
    })
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
        item.lastRatedAt = userRating === null ? null : this.library.nowSeconds()
      }
      for (const [kind, entries] of replaced) {
        item[tagFields[kind]] = unique([...entries].sort((a, b) => a.index - b.index).map((entry) => entry.name))
      }
      for (const [kind, names] of removed) {
        const gone = new Set(names.map((name) => name.toLowerCase()))
        item[tagFields[kind]] = item[tagFields[kind]].filter((name) => !gone.has(name.toLowerCase()))
      }
      for (const [field, locked] of locks) this.library.lock(item, field, locked)
      this.library.touch(item)
    }
    return emptyReply
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
    item.lastRatedAt = rating === -1 ? null : this.library.nowSeconds()
    this.library.touch(item)
    return emptyReply
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
      uploadedAt: this.library.now()
    }
    this.library.touch(item)
    return emptyReply
  }
}
