/**
 * What the fake Plex sends: bodies as captured from real servers (error pages, the maintenance answer) and the
 * `MediaContainer` parts for sections and items as JSON objects (`toXml` in FakePlexXml.ts renders them as XML).
 */
import type { FakePlexSection, MutableItem } from "./FakePlexState.js"

// ---------------------------------------------------------------------------------------------------------
// Wire constants (bodies as captured from real servers)

export const unauthorizedHtml =
  "<html><head><script>window.location = window.location.href.match(/(^.+\\/)[^\\/]*$/)[1] + " +
  "'web/index.html';</script><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
export const forbiddenHtml = "<html><head><title>Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>"
const notFoundHtml = "<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>"
const badRequestHtml = "<html><head><title>Bad Request</title></head><body><h1>400 Bad Request</h1></body></html>"
export const maintenanceXml = `<?xml version="1.0" encoding="UTF-8"?>\n<Response code="503" title="Maintenance" ` +
  `status="Plex Media Server is currently running database migrations."/>\n`
export const libraryIdentifier = "com.plexapp.plugins.library"

/** Routes that answer with a `MediaContainer` (for checking bodies against the spec). */
export type FakePlexJsonRoute = "identity" | "root" | "sections" | "sectionItems" | "metadata"

export interface FakePlexSentJson {
  readonly route: FakePlexJsonRoute
  readonly path: string
  readonly body: unknown
}

export interface Reply {
  readonly status: number
  readonly contentType: string
  readonly body: string | Uint8Array
  readonly headers?: Record<string, string>
}

/** Thrown while routing: the request is answered with this status and Plex's page for it. */
export class HttpFailure {
  constructor(readonly status: number) {}
}

export const errorReply = (status: number): Reply => {
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

export const emptyReply: Reply = { status: 200, contentType: "text/html", body: "" }

// ---------------------------------------------------------------------------------------------------------
// MediaContainer parts

/** A `Directory` of `/library/sections`. */
export const sectionDirectory = (section: FakePlexSection, now: number, refreshing: boolean) => ({
  allowSync: true,
  art: "/:/resources/movie-fanart.jpg",
  composite: `/library/sections/${section.key}/composite/${now}`,
  filters: true,
  refreshing,
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
})

/** The attributes of a container of one section's items (a listing, `/library/metadata/{ids}`). */
export const librarySectionAttributes = (section: FakePlexSection) => ({
  allowSync: true,
  identifier: libraryIdentifier,
  librarySectionID: Number(section.key),
  librarySectionTitle: section.title,
  librarySectionUUID: section.uuid,
  mediaTagPrefix: "/system/bundle/media/flags/",
  mediaTagVersion: 1700000000
})

/** A `Metadata` entry as real servers send it: absent fields omitted, lists omitted when empty. */
export const metadataJson = (
  item: MutableItem,
  section: FakePlexSection,
  full: boolean,
  tagId: (kind: string, name: string) => number
): Record<string, unknown> => {
  const tags = (kind: string, names: ReadonlyArray<string>, limit: number) => {
    const shown = full ? names : names.slice(0, limit)
    return shown.length === 0 ? undefined : shown.map((tag) => {
      const id = tagId(kind, tag)
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
    duration: item.duration,
    addedAt: item.addedAt,
    updatedAt: item.updatedAt,
    Media: [{
      id: item.mediaId,
      duration: item.duration,
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
        duration: item.duration,
        file,
        size: item.size,
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
