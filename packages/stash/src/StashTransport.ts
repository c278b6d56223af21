import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type { StashError } from "@plexsync/domain/Errors"
import { StashAuthError, StashQueryError, StashUnavailable } from "@plexsync/domain/Errors"
import type { ResponseTooLarge } from "@plexsync/domain/ResponseLimit"
import { formatBytes, readCapped, readCappedText, ResponseLimits } from "@plexsync/domain/ResponseLimit"
import { redactServerUrl } from "@plexsync/domain/ServerUrl"
import * as TargetMetrics from "@plexsync/domain/TargetMetrics"
import { Data, Duration, Effect, Option, ParseResult, Redacted, Schema } from "effect"
import { Envelope } from "./StashWire.js"

/**
 * The HTTP layer under the Stash client: one GraphQL POST, or one image GET, with every failure
 * classified into the domain's Stash errors by HTTP status and Node error code — never by message text.
 * The API key travels only in the `ApiKey` header and never reaches an error, a log line or a span.
 */

export interface StashClientOptions {
  /** Stash's base URL, e.g. `http://127.0.0.1:9999`; GraphQL is at `<url>/graphql`. */
  readonly url: string
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  /** Per request, body included. Default 30 000 ms. */
  readonly timeoutMs?: number
  /** Ids per request for batched lookups. Default 500. */
  readonly batchSize?: number
  /** The largest GraphQL answer and image read (`ResponseLimits` by default); larger ones are `StashQueryError`s. */
  readonly maxJsonBytes?: number
  readonly maxImageBytes?: number
}

/** The options cannot work (an URL that is not http(s), a batch size below 1). */
export class StashConfigError extends Data.TaggedError("StashConfigError")<{ readonly message: string }> {}

export const defaultTimeoutMs = 30_000
export const defaultBatchSize = 500

const maxMessageLength = 500

const clip = (text: string): string => text.length > maxMessageLength ? `${text.slice(0, maxMessageLength)}…` : text

/**
 * The Node error code of a failure, looked for through `cause` chains and `AggregateError.errors`
 * (Node's own errors, undici's `fetch failed` wrapper, happy-eyeballs aggregates). `E…` codes win over
 * library codes such as `UND_ERR_SOCKET`, which are only a fallback.
 */
export const nodeErrorCode = (error: unknown): string | undefined => {
  const seen = new Set<unknown>()
  let fallback: string | undefined
  const queue: Array<unknown> = [error]
  while (queue.length > 0 && seen.size < 64) {
    const current = queue.shift()
    if (current === null || typeof current !== "object" || seen.has(current)) continue
    seen.add(current)
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]+$/.test(code)) {
      if (code.startsWith("E")) return code
      fallback ??= code
    }
    queue.push((current as { readonly cause?: unknown }).cause)
    const errors = (current as { readonly errors?: unknown }).errors
    if (Array.isArray(errors)) queue.push(...errors)
  }
  return fallback
}

export interface Endpoint {
  readonly base: URL
  readonly graphql: URL
  /** Origin and path only (never user info or a query string), a credential in the path redacted: safe in messages. */
  readonly display: string
}

export const endpoint = (url: string): Effect.Effect<Endpoint, StashConfigError> =>
  Effect.try({
    try: () => new URL(url),
    catch: () => new StashConfigError({ message: "The Stash URL is not a valid URL (e.g. http://127.0.0.1:9999)" })
  }).pipe(
    Effect.filterOrFail(
      (parsed) => parsed.protocol === "http:" || parsed.protocol === "https:",
      (parsed) =>
        new StashConfigError({ message: `The Stash URL must start with http:// or https://, not ${parsed.protocol}` })
    ),
    Effect.map((parsed) => {
      const base = new URL(parsed.origin)
      base.pathname = parsed.pathname.endsWith("/") ? parsed.pathname : `${parsed.pathname}/`
      const display = redactServerUrl(`${base.origin}${base.pathname === "/" ? "" : base.pathname.replace(/\/$/, "")}`)
      return { base, graphql: new URL("graphql", base), display }
    })
  )

/** Internal: the response did not come back as a well-formed GraphQL envelope. */
const parseFailure = (what: string, error: ParseResult.ParseError, status: number) =>
  new StashQueryError({
    message: clip(
      `Stash answered ${what} with an unexpected shape: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
    ),
    status
  })

/** Stash's own message out of an error body (gqlgen puts it in `errors[0].message`), if there is one. */
const bodyMessage = (body: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(body)
    const decoded = Schema.decodeUnknownOption(Envelope)(parsed)
    if (Option.isSome(decoded) && decoded.value.errors && decoded.value.errors.length > 0) {
      return decoded.value.errors.map((error) => error.message).join("; ")
    }
  } catch {
    // not JSON: the caller says what the status means instead
  }
  return undefined
}

export interface Transport {
  readonly endpoint: Endpoint
  readonly timeoutMs: number
  /** POST a GraphQL operation; any `errors` are left in the envelope for the caller to judge. */
  readonly graphql: (
    operationName: string,
    query: string,
    variables: Record<string, unknown>
  ) => Effect.Effect<Envelope, StashError>
  /** GET a URL on the Stash server with the same auth; none on 404. */
  readonly getBytes: (
    url: URL,
    what: string
  ) => Effect.Effect<Option.Option<{ readonly bytes: Uint8Array; readonly contentType: string }>, StashError>
}

export const makeTransport = Effect.fn("StashTransport.make")(function*(options: StashClientOptions) {
  const client = yield* HttpClient.HttpClient
  const ep = yield* endpoint(options.url)
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    return yield* new StashConfigError({
      message: `The Stash timeout must be a positive number of ms, not ${timeoutMs}`
    })
  }
  const apiKey = options.apiKey
  const keyConfigured = Option.isSome(apiKey)
  const maxJsonBytes = options.maxJsonBytes ?? ResponseLimits.stashJson
  const maxImageBytes = options.maxImageBytes ?? ResponseLimits.image

  const withAuth = (request: HttpClientRequest.HttpClientRequest) =>
    Option.match(apiKey, {
      onNone: () => request,
      onSome: (key) => HttpClientRequest.setHeader(request, "ApiKey", Redacted.value(key))
    })

  const unavailable = (what: string, status: number, detail: string) =>
    new StashUnavailable({ message: clip(`Stash at ${ep.display} failed ${what} (HTTP ${status}${detail})`), status })

  /** What a non-2xx status means, as a domain error. */
  const statusError = (what: string, status: number, body: string): StashError => {
    const stashSays = bodyMessage(body)
    const detail = stashSays === undefined ? "" : `: ${stashSays}`
    if (status === 401) {
      return new StashAuthError({
        message: keyConfigured
          ? `Stash at ${ep.display} rejected the configured API key (HTTP 401). Check it against Stash's ` +
            "Settings → Security, or remove it if Stash has no credentials set."
          : `Stash at ${ep.display} requires an API key (HTTP 401). Set PLEXSYNC_STASH_API_KEY to the key from ` +
            "Stash's Settings → Security.",
        status
      })
    }
    if (status === 403) {
      return new StashAuthError({
        message: clip(`Stash at ${ep.display} refused ${what} (HTTP 403${detail}). Check Stash's security settings.`),
        status
      })
    }
    if (status === 408 || status === 429 || status >= 500) return unavailable(what, status, detail)
    if (status === 404) {
      return new StashQueryError({
        message: `Nothing answers ${what} at ${ep.display} (HTTP 404). Is the Stash URL right?`,
        status
      })
    }
    return new StashQueryError({
      message: clip(
        stashSays === undefined
          ? `Stash rejected ${what} (HTTP ${status})`
          : `Stash rejected ${what} (HTTP ${status}): ${stashSays}`
      ),
      status
    })
  }

  const transportError = (what: string, error: HttpClientError.HttpClientError): StashError => {
    const code = nodeErrorCode(error.cause)
    if (error._tag === "RequestError" && error.reason !== "Transport") {
      return new StashQueryError({ message: `Could not build the request for ${what} to Stash at ${ep.display}` })
    }
    const status = error._tag === "ResponseError" ? error.response.status : undefined
    const how = error._tag === "ResponseError" ? "the connection broke while reading" : "it is unreachable"
    return new StashUnavailable({
      message: `Stash at ${ep.display} failed ${what}: ${how}${code === undefined ? "" : ` (${code})`}. ` +
        "Is Stash running, and is the Stash URL right?",
      ...(code === undefined ? {} : { code }),
      ...(status === undefined ? {} : { status })
    })
  }

  /** Not transient: the same request gets the same answer (a few retries, then the DLQ, where a person sees why). */
  const tooLarge = (what: string, error: ResponseTooLarge) =>
    new StashQueryError({
      message: `Stash at ${ep.display} answered ${what} with more than ${formatBytes(error.limitBytes)}; ` +
        "plexsync stopped reading. Check that the Stash URL points at Stash."
    })

  const timedOut = (what: string) =>
    new StashUnavailable({
      message: `Stash at ${ep.display} did not answer ${what} within ${timeoutMs} ms`,
      code: "ETIMEDOUT"
    })

  /** Send, read the whole body, under one timeout; the key header is redacted from spans and inspection. */
  const send = <A>(
    what: string,
    request: HttpClientRequest.HttpClientRequest,
    read: (
      response: HttpClientResponse.HttpClientResponse
    ) => Effect.Effect<A, HttpClientError.HttpClientError | ResponseTooLarge>
  ): Effect.Effect<{ readonly status: number; readonly value: A }, StashError> =>
    client.execute(withAuth(request)).pipe(
      Effect.flatMap((response) => Effect.map(read(response), (value) => ({ status: response.status, value }))),
      Effect.catchAll((error) =>
        Effect.fail(error._tag === "ResponseTooLarge" ? tooLarge(what, error) : transportError(what, error))
      ),
      Effect.timeoutFail({ duration: Duration.millis(timeoutMs), onTimeout: () => timedOut(what) }),
      Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, "apikey"])
    )

  const graphql = (operationName: string, query: string, variables: Record<string, unknown>) => {
    const what = `the ${operationName} query`
    const request = HttpClientRequest.post(ep.graphql).pipe(
      HttpClientRequest.acceptJson,
      HttpClientRequest.bodyUnsafeJson({ operationName, query, variables })
    )
    return send(
      what,
      request,
      (response) => readCappedText(response.stream, maxJsonBytes, response.headers["content-length"])
    ).pipe(
      Effect.flatMap(({ status, value: body }): Effect.Effect<Envelope, StashError> => {
        if (status < 200 || status >= 300) return Effect.fail(statusError(what, status, body))
        let parsed: unknown
        try {
          parsed = JSON.parse(body)
        } catch {
          return Effect.fail(
            new StashQueryError({
              message: `Stash answered ${what} with a body that is not JSON (HTTP ${status})`,
              status
            })
          )
        }
        return Schema.decodeUnknown(Envelope)(parsed).pipe(
          Effect.mapError((error) => parseFailure(what, error, status))
        )
      })
    )
  }

  type Fetched =
    | { readonly ok: true; readonly bytes: Uint8Array; readonly contentType: string }
    | { readonly ok: false; readonly body: string }

  const getBytes = (url: URL, what: string) =>
    send(
      what,
      HttpClientRequest.get(url),
      (response): Effect.Effect<Fetched, HttpClientError.HttpClientError | ResponseTooLarge> =>
        response.status >= 200 && response.status < 300
          ? Effect.map(readCapped(response.stream, maxImageBytes, response.headers["content-length"]), (bytes) => ({
            ok: true as const,
            bytes,
            contentType: response.headers["content-type"] ?? "application/octet-stream"
          }))
          : Effect.map(
            readCappedText(response.stream, maxJsonBytes, response.headers["content-length"]),
            (body) => ({ ok: false as const, body })
          )
    ).pipe(
      Effect.flatMap(({ status, value }) => {
        if (value.ok) return Effect.succeed(Option.some({ bytes: value.bytes, contentType: value.contentType }))
        if (status === 404) return Effect.succeed(Option.none())
        return Effect.fail(statusError(what, status, value.body))
      })
    )

  // One HTTP request per call: each is counted, and its failure by tag.
  const counted = TargetMetrics.counted("stash")
  return {
    endpoint: ep,
    timeoutMs,
    graphql: (operationName, query, variables) => counted(graphql(operationName, query, variables)),
    getBytes: (url, what) => counted(getBytes(url, what))
  } satisfies Transport
})
