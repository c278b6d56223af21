import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { findErrorCode } from "@plexsync/plex/PlexErrorMapping"
import { Data, Duration, Effect, Either, Schema } from "effect"

/**
 * The few raw HTTP questions `doctor` asks besides the clients' own: is there Plex behind the Plex URL (its
 * unauthenticated `/identity`), does the token belong to the server's owner (`/:/prefs`, which only the owner
 * may read), and, when an `https://` URL fails, does the same port speak plain HTTP. Every question has a
 * short limit: doctor must answer in seconds, whatever the network does.
 */

/** The server gave no complete answer in time. */
export class ProbeTimeout extends Data.TaggedError("ProbeTimeout")<{ readonly ms: number }> {}

/** No HTTP answer at all: refused, unresolvable, a TLS handshake that failed, … (`code` is Node's). */
export class ProbeTransport extends Data.TaggedError("ProbeTransport")<{ readonly code: string }> {}

export type ProbeFailure = ProbeTimeout | ProbeTransport

export interface ProbeAnswer {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

/** A GET with the whole exchange (connect, headers, body) under `ms`. */
export const get = (
  url: string,
  options: { readonly headers?: Record<string, string>; readonly ms: number }
): Effect.Effect<ProbeAnswer, ProbeFailure, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const request = HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(options.headers ?? {}))
    const response = yield* http.execute(request)
    const body = yield* response.text
    return { status: response.status, contentType: response.headers["content-type"] ?? "", body }
  }).pipe(
    Effect.scoped,
    Effect.mapError((error) => new ProbeTransport({ code: findErrorCode(error) ?? "no answer" })),
    Effect.timeoutFail({ duration: Duration.millis(options.ms), onTimeout: () => new ProbeTimeout({ ms: options.ms }) })
  )

/** The failure in a few words. */
export const describeFailure = (failure: ProbeFailure): string =>
  failure._tag === "ProbeTimeout"
    ? `no answer within ${Math.round(failure.ms / 1000)} s`
    : `no HTTP answer (${failure.code})`

const Identity = Schema.parseJson(Schema.Struct({
  MediaContainer: Schema.Struct({ machineIdentifier: Schema.String, version: Schema.optional(Schema.String) })
}))

/** What answers at a Plex URL's `/identity`: Plex (its version), or something else (what it said). */
export const plexIdentity = (answer: ProbeAnswer): Either.Either<{ readonly version: string }, string> => {
  if (answer.status === 200) {
    const decoded = Schema.decodeUnknownEither(Identity)(answer.body)
    if (Either.isRight(decoded)) return Either.right({ version: decoded.right.MediaContainer.version ?? "unknown" })
  }
  const type = answer.contentType.split(";")[0]!.trim()
  return Either.left(
    `GET /identity answered HTTP ${answer.status}${type === "" ? "" : ` (${type})`}, not Plex's identity`
  )
}

/** The same URL with `http://` on the same port (an https URL without a port means 443). */
export const asPlainHttp = (url: string): string => {
  const parsed = new URL(url)
  const port = parsed.port === "" ? "443" : parsed.port
  parsed.protocol = "http:"
  parsed.port = port
  return parsed.href.replace(/\/+$/, "")
}

/** Whether a failed `https://` URL's port answers plain HTTP: then the scheme is wrong, not the server. */
export const plainHttpAnswers = (url: string, ms: number): Effect.Effect<boolean, never, HttpClient.HttpClient> =>
  url.toLowerCase().startsWith("https://")
    ? get(asPlainHttp(url), { ms }).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
    : Effect.succeed(false)
