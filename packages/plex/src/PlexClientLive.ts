/**
 * The live `PlexClient`: Plex Media Server over `@effect/platform`'s `HttpClient` (apps provide
 * `NodeHttpClient`). Every request asks for JSON and carries the token, a persistent client
 * identifier and the product headers. Nothing is retried here: the queue owns retries, by error tag.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { PlexError } from "@plexsync/domain/Errors"
import { pathKey } from "@plexsync/domain/PathMap"
import { PlexClient } from "@plexsync/domain/PlexClient"
import type {
  FoundByFile,
  PlexClientService,
  PlexEdit,
  PlexHealth,
  PlexItem,
  PlexSection
} from "@plexsync/domain/PlexClient"
import { readCappedText, ResponseLimits } from "@plexsync/domain/ResponseLimit"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import type { StoreError } from "@plexsync/domain/StoreError"
import * as TargetMetrics from "@plexsync/domain/TargetMetrics"
import { Clock, Duration, Effect, Layer, Option, ParseResult, Redacted, Schema } from "effect"
import { findErrorCode, redactUrl, toPlexError } from "./PlexErrorMapping.js"
import type { PlexFailure, RequestContext } from "./PlexErrorMapping.js"
import { IdentityJson, MetadataContainerJson, SectionsContainerJson, toPlexItem, toPlexSection } from "./PlexJson.js"
import { editParams, encodeValue, joinQuery } from "./PlexQuery.js"
import type { QueryParam } from "./PlexQuery.js"

export const product = "plexsync"
export const productVersion = "0.1.0"

/** Plex's metadata type number for movies (and "Other Videos" libraries). */
const movieType = "1"
const libraryIdentifier = "com.plexapp.plugins.library"
const findByFilePageSize = 200

export interface PlexClientOptions {
  /** Base URL of Plex Media Server, e.g. `http://192.168.1.10:32400`. */
  readonly url: string
  readonly token: Redacted.Redacted<string>
  /** `X-Plex-Client-Identifier`: stable per install (see `clientIdentifier`). */
  readonly clientIdentifier: string
  /** Whole-request limit (connect, headers and body). Default 30 s. */
  readonly timeoutMs?: number
  /** The largest answer read (`ResponseLimits.plexJson` by default); a larger one is a `PlexPermanentError`. */
  readonly maxResponseBytes?: number
}

/**
 * The persisted client identifier (Settings key `plex.clientIdentifier`); creates and stores a random
 * one on first use, so Plex sees the same device on every run.
 */
export const clientIdentifier: Effect.Effect<string, StoreError, Settings> = Effect.gen(function*() {
  const settings = yield* Settings
  const stored = yield* settings.get(SettingKeys.plexClientIdentifier)
  if (Option.isSome(stored) && stored.value.trim() !== "") return stored.value.trim()
  const created = `plexsync-${crypto.randomUUID()}`
  yield* settings.set(SettingKeys.plexClientIdentifier, created)
  return created
})

interface PlexRequest {
  readonly method: "GET" | "PUT" | "POST"
  readonly path: string
  readonly query?: ReadonlyArray<QueryParam>
  readonly body?: { readonly bytes: Uint8Array; readonly contentType: string }
  /** Changes state on Plex (every PUT/POST, and the GET that starts a scan). */
  readonly write?: boolean
}

interface PlexResponse {
  readonly status: number
  readonly headers: Headers.Headers
  readonly text: string
}

/** Header names the platform's tracing and `Headers` inspection must never print. */
const redactedHeaderNames = ["x-plex-token"]

const pathSegment = (value: string) => encodeValue(value)

export const make = (options: PlexClientOptions): Effect.Effect<PlexClientService, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const base = options.url.trim().replace(/\/+$/, "")
    const server = redactUrl(base)
    const timeoutMs = options.timeoutMs ?? 30_000
    const maxResponseBytes = options.maxResponseBytes ?? ResponseLimits.plexJson
    const headers = {
      Accept: "application/json",
      "X-Plex-Token": Redacted.value(options.token),
      "X-Plex-Client-Identifier": options.clientIdentifier,
      "X-Plex-Product": product,
      "X-Plex-Version": productVersion
    }

    const transportFailure = (phase: "request" | "body", error: HttpClientError.HttpClientError): PlexFailure =>
      error._tag === "RequestError" && error.reason !== "Transport"
        ? { _tag: "InvalidRequest", detail: `the request could not be built (${error.reason}); check the Plex URL` }
        : { _tag: "Transport", phase, code: findErrorCode(error.cause) }

    /** One request, with the whole exchange (connect, status, body) under the timeout. */
    const send = (request: PlexRequest): Effect.Effect<PlexResponse, PlexError> => {
      const ctx: RequestContext = { server, method: request.method, path: request.path }
      const query = request.query && request.query.length > 0 ? `?${joinQuery(request.query)}` : ""
      let httpRequest = HttpClientRequest.make(request.method)(`${base}${request.path}${query}`).pipe(
        HttpClientRequest.setHeaders(headers)
      )
      if (request.body !== undefined) {
        httpRequest = HttpClientRequest.bodyUint8Array(httpRequest, request.body.bytes, request.body.contentType)
      }
      const isWrite = request.write ?? request.method !== "GET"
      return Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const response = yield* http.execute(httpRequest).pipe(
          Effect.mapError((error): PlexFailure => transportFailure("request", error))
        )
        const ok = response.status >= 200 && response.status < 300
        if (!ok) return yield* Effect.fail<PlexFailure>({ _tag: "Status", status: response.status })
        const text = yield* readCappedText(response.stream, maxResponseBytes, response.headers["content-length"]).pipe(
          Effect.catchAll((error): Effect.Effect<string, PlexFailure> =>
            // A write whose 2xx status arrived has been committed; a cut-off (or unread) body does not undo it.
            isWrite
              ? Effect.as(Effect.logDebug("Plex write answered 2xx; its body was cut off or too large"), "")
              : error._tag === "ResponseTooLarge"
              ? Effect.fail<PlexFailure>({ _tag: "TooLarge", limitBytes: error.limitBytes })
              : Effect.fail(transportFailure("body", error))
          )
        )
        const finished = yield* Clock.currentTimeMillis
        yield* Effect.logDebug("Plex request").pipe(
          Effect.annotateLogs({
            method: request.method,
            path: request.path,
            status: response.status,
            ms: finished - started
          })
        )
        return { status: response.status, headers: response.headers, text }
      }).pipe(
        Effect.scoped,
        Effect.timeoutFail({
          duration: Duration.millis(timeoutMs),
          onTimeout: (): PlexFailure => ({ _tag: "Timeout", timeoutMs })
        }),
        Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...redactedHeaderNames]),
        Effect.mapError((failure) => toPlexError(failure, ctx)),
        TargetMetrics.counted("plex"),
        Effect.tapError((error) =>
          Effect.logDebug("Plex request failed").pipe(
            Effect.annotateLogs({ method: request.method, path: request.path, error: error._tag })
          )
        )
      )
    }

    const decode = <A, I>(
      schema: Schema.Schema<A, I>,
      request: PlexRequest,
      response: PlexResponse
    ): Effect.Effect<A, PlexError> => {
      const ctx: RequestContext = { server, method: request.method, path: request.path }
      let json: unknown
      try {
        json = JSON.parse(response.text)
      } catch {
        const start = response.text.trimStart().slice(0, 1)
        const detail = start === "<"
          ? "XML or HTML instead of JSON"
          : response.text.trim() === ""
          ? "an empty body"
          : "invalid JSON"
        const error = toPlexError({ _tag: "Unreadable", status: response.status, detail }, ctx)
        return Effect.zipRight(TargetMetrics.countError("plex", error._tag), Effect.fail(error))
      }
      return Schema.decodeUnknown(schema)(json).pipe(
        Effect.mapError((error) =>
          toPlexError({
            _tag: "Unreadable",
            status: response.status,
            detail: ParseResult.TreeFormatter.formatErrorSync(error).slice(0, 400)
          }, ctx)
        ),
        Effect.tapError((error) => TargetMetrics.countError("plex", error._tag))
      )
    }

    const getJson = <A, I>(schema: Schema.Schema<A, I>, request: PlexRequest) =>
      Effect.flatMap(
        send(request),
        (response) => Effect.map(decode(schema, request, response), (value) => ({ value, response }))
      )

    const sections: Effect.Effect<ReadonlyArray<PlexSection>, PlexError> = getJson(SectionsContainerJson, {
      method: "GET",
      path: "/library/sections"
    }).pipe(
      Effect.map(({ value }) => value.MediaContainer.Directory.map(toPlexSection)),
      Effect.withSpan("PlexClient.sections")
    )

    const health: Effect.Effect<PlexHealth, PlexError> = Effect.gen(function*() {
      const found = yield* sections
      const { value } = yield* getJson(IdentityJson, { method: "GET", path: "/identity" })
      return {
        version: value.MediaContainer.version,
        machineIdentifier: value.MediaContainer.machineIdentifier,
        sections: found.length
      }
    }).pipe(Effect.withSpan("PlexClient.health"))

    /** One page of `/library/sections/{sid}/all?type=1`, with an optional media-query filter. */
    const listPage = (
      sectionKey: string,
      start: number,
      size: number,
      filter: ReadonlyArray<QueryParam>
    ) =>
      Effect.gen(function*() {
        const request: PlexRequest = {
          method: "GET",
          path: `/library/sections/${pathSegment(sectionKey)}/all`,
          query: [
            ["type", movieType],
            ...filter,
            ["X-Plex-Container-Start", String(start)],
            ["X-Plex-Container-Size", String(size)]
          ]
        }
        const { response, value } = yield* getJson(MetadataContainerJson, request)
        const container = value.MediaContainer
        const fallbackSection = container.librarySectionID ?? sectionKey
        let items = container.Metadata.map((json) => toPlexItem(json, fallbackSection))
        // The server may ignore or cap paging: trust what it says it returned, and cut to the asked window.
        const headerStart = Number(response.headers["x-plex-container-start"])
        const offset = container.offset ?? (Number.isFinite(headerStart) ? headerStart : start)
        if (offset < start) items = items.slice(start - offset)
        if (items.length > size) items = items.slice(0, size)
        const headerTotal = Number(response.headers["x-plex-container-total-size"])
        const totalSize = container.totalSize ??
          (Number.isFinite(headerTotal) && response.headers["x-plex-container-total-size"] !== undefined
            ? headerTotal
            : start + items.length)
        return { items, totalSize }
      })

    const listSection = Effect.fn("PlexClient.listSection")(function*(
      sectionKey: string,
      page: { readonly start: number; readonly size: number }
    ) {
      const start = Math.max(0, Math.floor(page.start))
      const size = Math.max(1, Math.floor(page.size))
      return yield* listPage(sectionKey, start, size, [])
    })

    const findByFile = Effect.fn("PlexClient.findByFile")(function*(sectionKey: string, path: string) {
      const matches: Array<PlexItem> = []
      let candidates = 0
      // A Windows path is the same file whatever its case and separators (`pathKey`).
      const key = pathKey(path)
      let start = 0
      // Pages until Plex says there is no more: a server that ignored `file=` returns the whole section,
      // and stopping early could miss the item and report it as not in Plex.
      for (;;) {
        const { items, totalSize } = yield* listPage(sectionKey, start, findByFilePageSize, [["file", path]])
        // `file=` returns candidates (a whole folder on some sections): keep exact `Part.file` matches only.
        for (const item of items) {
          if (
            item.files.some((file) => pathKey(file) === key) && !matches.some((m) => m.ratingKey === item.ratingKey)
          ) {
            matches.push(item)
          }
        }
        candidates += items.length
        start += items.length
        if (items.length === 0 || start >= totalSize) break
      }
      return Object.assign(matches, { candidates }) as FoundByFile
    })

    const getItem = Effect.fn("PlexClient.getItem")(function*(ratingKey: string) {
      const request: PlexRequest = { method: "GET", path: `/library/metadata/${pathSegment(ratingKey)}` }
      const result = yield* getJson(MetadataContainerJson, request).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (error) => error._tag === "PlexPermanentError" && error.status === 404,
          () => Effect.succeed(Option.none())
        )
      )
      if (Option.isNone(result)) return Option.none<PlexItem>()
      const container = result.value.value.MediaContainer
      const json = container.Metadata.find((entry) => entry.ratingKey === ratingKey) ?? container.Metadata[0]
      return json === undefined
        ? Option.none<PlexItem>()
        : Option.some(toPlexItem(json, container.librarySectionID ?? null))
    })

    const edit = Effect.fn("PlexClient.edit")(function*(item: PlexItem, change: PlexEdit) {
      const params = editParams(change)
      if (params.length === 0) return
      // python-plexapi's form (section path + type + id) where the section is known; otherwise the
      // documented `PUT /library/metadata/{id}` with the same parameters.
      const request: PlexRequest = item.sectionKey === null
        ? { method: "PUT", path: `/library/metadata/${pathSegment(item.ratingKey)}`, query: params }
        : {
          method: "PUT",
          path: `/library/sections/${pathSegment(item.sectionKey)}/all`,
          query: [["type", movieType], ["id", item.ratingKey], ...params]
        }
      yield* send(request)
    })

    const rate = Effect.fn("PlexClient.rate")(function*(ratingKey: string, rating: number | null) {
      const path = "/:/rate"
      if (rating !== null && !(Number.isFinite(rating) && rating >= 0 && rating <= 10)) {
        return yield* Effect.fail(
          toPlexError(
            { _tag: "InvalidRequest", detail: `rating ${rating} is outside 0–10` },
            { server, method: "PUT", path }
          )
        )
      }
      yield* send({
        method: "PUT",
        path,
        query: [
          ["key", ratingKey],
          ["identifier", libraryIdentifier],
          ["rating", rating === null ? "-1" : String(rating)]
        ]
      })
    })

    const uploadPoster = Effect.fn("PlexClient.uploadPoster")(function*(
      ratingKey: string,
      image: { readonly bytes: Uint8Array; readonly contentType: string }
    ) {
      const itemPath = `/library/metadata/${pathSegment(ratingKey)}`
      yield* send({ method: "POST", path: `${itemPath}/posters`, body: image })
      // The upload selects the poster; locking `thumb` keeps a refresh from replacing it.
      yield* send({ method: "PUT", path: itemPath, query: [["thumb.locked", "1"]] })
    })

    const scan = Effect.fn("PlexClient.scan")(function*(sectionKey: string, folder: string) {
      yield* send({
        method: "GET",
        path: `/library/sections/${pathSegment(sectionKey)}/refresh`,
        query: [["path", folder]],
        write: true
      })
    })

    return PlexClient.of({ health, sections, findByFile, getItem, listSection, edit, rate, uploadPoster, scan })
  })

/** `PlexClient` over `HttpClient`, with the options given. */
export const layer = (options: PlexClientOptions): Layer.Layer<PlexClient, never, HttpClient.HttpClient> =>
  Layer.effect(PlexClient, make(options))

/** `PlexClient` with the client identifier read from (or first stored in) `Settings`. */
export const layerWithSettings = (
  options: Omit<PlexClientOptions, "clientIdentifier">
): Layer.Layer<PlexClient, StoreError, HttpClient.HttpClient | Settings> =>
  Layer.effect(
    PlexClient,
    Effect.flatMap(clientIdentifier, (identifier) => make({ ...options, clientIdentifier: identifier }))
  )
