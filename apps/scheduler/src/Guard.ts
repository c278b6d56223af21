import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Deferred, Effect, Either, Option, Redacted, Stream } from "effect"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import * as Net from "node:net"

/**
 * Who may use the scheduler's HTTP face, decided before any route runs.
 *
 * - `PLEXSYNC_API_TOKEN` set: every route but `/healthz` (and the login form) needs `Authorization: Bearer <token>`
 *   or the session cookie `POST /login` sets. A request that changes something needs the bearer token, or the
 *   cookie plus a same-origin `Origin` (or the `X-CSRF-Token` of the session). `POST /hooks/stash` also takes
 *   `PLEXSYNC_WEBHOOK_SECRET`.
 * - No token: only a listener on loopback lets anyone change something, and never a request from another origin
 *   (a web page's cross-origin POST).
 * - Always: a `Host` that is a name this machine does not answer to is refused, unless the request carries a valid
 *   bearer token — a page that rebinds its own name to 127.0.0.1 (DNS rebinding) has none. Bodies are JSON (415)
 *   of at most `maxBodyBytes` (413).
 */

export interface GuardOptions {
  readonly apiToken: Option.Option<Redacted.Redacted<string>>
  readonly webhookSecret: Option.Option<Redacted.Redacted<string>>
  /** Lower-case host names answered besides IP addresses, loopback names and `machineName`. */
  readonly allowedHosts: ReadonlyArray<string>
  /** This machine's host name (`os.hostname()`). */
  readonly machineName: string
  /** Whether the listener is on loopback only. */
  readonly loopbackOnly: boolean
  /** Sessions ended by a logout (by id and expiry). */
  readonly revoked?: (sessionId: string, expires: number) => boolean
}

/** Every request body's cap: hooks are a few KiB, the API's payloads smaller still. */
export const maxBodyBytes = 64 * 1024

export const sessionCookie = "plexsync_session"
export const csrfHeader = "x-csrf-token"
const sessionDays = 30

/** Routes anyone may reach: the health check, and the form that logs in. */
const openPaths = new Set(["/healthz", "/login"])

/** Compares in constant time (of the digests), so the response time does not leak how much of a guess was right. */
export const sameSecret = (given: string, expected: string) =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest())

/**
 * The bearer token of an `Authorization` header. Node hands header values over as Latin-1; a client sends a
 * non-ASCII token as UTF-8 bytes, so such a value is read back as UTF-8 (when it is valid UTF-8).
 */
export const bearerOf = (header: string | undefined): string | null => {
  if (header === undefined) return null
  const m = /^Bearer[ ]+(.+)$/i.exec(header.trim())
  if (m === null) return null
  const value = m[1]!
  if (!/[\u0080-\u00ff]/.test(value) || [...value].some((c) => c.charCodeAt(0) > 0xff)) return value
  const utf8 = Buffer.from(value, "latin1").toString("utf8")
  return utf8.includes("\ufffd") ? value : utf8
}

const mac = (token: Redacted.Redacted<string>, text: string) =>
  createHmac("sha256", Redacted.value(token)).update(text).digest("base64url")

/**
 * A session cookie's value: its expiry, a random id and a MAC of both under the token. A restart keeps sessions, a
 * new token ends them all, and `POST /logout` ends one (its id is kept as revoked until it would expire; see
 * `Sessions`).
 */
export const makeSession = (token: Redacted.Redacted<string>, now: number): string => {
  const expires = now + sessionDays * 86_400_000
  const id = randomBytes(12).toString("base64url")
  return `${expires}.${id}.${mac(token, `session:${expires}.${id}`)}`
}

/** A session's id and expiry, when the value is one this token made and it has not expired. */
export const parseSession = (
  token: Redacted.Redacted<string>,
  value: string,
  now: number
): Option.Option<{ readonly id: string; readonly expires: number }> => {
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{1,100})$/.exec(value)
  if (m === null) return Option.none()
  const expires = Number(m[1])
  return expires > now && sameSecret(m[3]!, mac(token, `session:${expires}.${m[2]}`))
    ? Option.some({ id: m[2]!, expires })
    : Option.none()
}

/** The CSRF token of a session: pages send it back in `X-CSRF-Token`. */
export const csrfToken = (token: Redacted.Redacted<string>, session: string): string => mac(token, `csrf:${session}`)

export const sessionCookieHeader = (value: string, secure: boolean): string =>
  `${sessionCookie}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${sessionDays * 86_400}${
    secure ? "; Secure" : ""
  }`

export const clearedCookieHeader = `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`

/** A cookie of a `Cookie` header, or null. */
export const cookieValue = (header: string | undefined, name: string): string | null => {
  if (header === undefined) return null
  for (const part of header.split(";")) {
    const eq = part.indexOf("=")
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}

/** The host name of a `Host` header (no port, no IPv6 brackets), lower case. */
export const hostName = (host: string): string => {
  const h = host.trim().toLowerCase()
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") === -1 ? undefined : h.indexOf("]"))
  const colon = h.lastIndexOf(":")
  return colon === -1 || h.indexOf(":") !== colon ? h : h.slice(0, colon)
}

export const hostAllowed = (host: string | undefined, options: GuardOptions): boolean => {
  if (host === undefined || host.trim() === "") return false
  const name = hostName(host).replace(/\.$/, "")
  if (Net.isIP(name) !== 0) return true
  if (name === "localhost" || name.endsWith(".localhost")) return true
  const machine = options.machineName.toLowerCase()
  if (name === machine || name === machine.split(".")[0] || name === `${machine.split(".")[0]}.local`) return true
  return options.allowedHosts.includes(name)
}

/** Whether `Origin` names the origin the request was sent to (scheme aside: a TLS proxy may stand in front). */
const sameOrigin = (origin: string, host: string | undefined): boolean => {
  if (host === undefined) return false
  try {
    return new URL(origin).host.toLowerCase() === host.trim().toLowerCase()
  } catch {
    return false
  }
}

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"])

export type Verdict =
  | { readonly _tag: "Allow" }
  | {
    readonly _tag: "Refuse"
    readonly status: number
    readonly error: string
    readonly message: string
    /** A browser asking for a page is sent to the login form instead of reading a 401. */
    readonly login?: boolean
  }

type Refusal = Extract<Verdict, { readonly _tag: "Refuse" }>

const allow: Verdict = { _tag: "Allow" }
const refuse = (status: number, error: string, message: string, login = false): Refusal => ({
  _tag: "Refuse",
  status,
  error,
  message,
  ...(login ? { login } : {})
})

export interface RequestFacts {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly now: number
}

/** The decision for one request, from its method, path and headers alone. */
export const decide = (request: RequestFacts, options: GuardOptions): Verdict => {
  const { headers, method, path } = request
  if (path === "/healthz") return allow
  const bearer = bearerOf(headers["authorization"])
  const token = options.apiToken
  const tokenOk = bearer !== null && Option.isSome(token) && sameSecret(bearer, Redacted.value(token.value))
  const isHook = path === "/hooks/stash"
  const secretOk = isHook && bearer !== null && Option.isSome(options.webhookSecret) &&
    sameSecret(bearer, Redacted.value(options.webhookSecret.value))
  if (tokenOk || secretOk) return allow

  if (!hostAllowed(headers["host"], options)) {
    return refuse(
      403,
      "ForeignHost",
      `this scheduler does not answer to the host ${JSON.stringify(hostName(headers["host"] ?? "").slice(0, 100))}: ` +
        `add it to PLEXSYNC_ALLOWED_HOSTS, or reach the scheduler by its address`
    )
  }
  const changes = !safeMethods.has(method)
  const origin = headers["origin"]
  if (changes && origin !== undefined && !sameOrigin(origin, headers["host"])) {
    return refuse(403, "CrossOrigin", `requests from another origin (${origin.slice(0, 100)}) may not change anything`)
  }
  if (bearer !== null && (Option.isSome(token) || isHook)) {
    return refuse(401, "Unauthorized", "the bearer token is not valid")
  }
  if (openPaths.has(path)) return allow
  // Logging out needs no live session: one ended in another tab, or expired, still clears the cookie and goes to
  // the login page (only a live session is ended there). A foreign origin was refused above.
  if (path === "/logout" && method === "POST") return allow

  if (isHook && (Option.isSome(token) || Option.isSome(options.webhookSecret))) {
    return refuse(
      401,
      "Unauthorized",
      "a valid Authorization: Bearer <PLEXSYNC_WEBHOOK_SECRET or PLEXSYNC_API_TOKEN> header is required"
    )
  }
  if (Option.isNone(token)) {
    if (!changes || isHook || options.loopbackOnly) return allow
    return refuse(
      403,
      "Forbidden",
      "set PLEXSYNC_API_TOKEN to change anything through a scheduler that listens beyond this machine"
    )
  }
  const session = cookieValue(headers["cookie"], sessionCookie)
  const parsed = session === null ? Option.none() : parseSession(token.value, session, request.now)
  if (session === null || Option.isNone(parsed) || options.revoked?.(parsed.value.id, parsed.value.expires) === true) {
    return refuse(
      401,
      "Unauthorized",
      "log in at /login, or send Authorization: Bearer <PLEXSYNC_API_TOKEN>",
      !path.startsWith("/api/") && method === "GET" && (headers["accept"] ?? "").includes("text/html")
    )
  }
  if (!changes) return allow
  const csrf = headers[csrfHeader]
  if (origin !== undefined || (csrf !== undefined && sameSecret(csrf, csrfToken(token.value, session)))) return allow
  return refuse(
    403,
    "CsrfRefused",
    "a change made with the session cookie needs a same-origin Origin header or the X-CSRF-Token of the session"
  )
}

const jsonError = (status: number, error: string, message: string) =>
  HttpServerResponse.unsafeJson({ error, message }, { status, headers: { "cache-control": "no-store" } })

export const errorResponse = jsonError

/** `application/json`, or (for the login form) `application/x-www-form-urlencoded`. */
const mediaType = (header: string | undefined) => (header ?? "").split(";")[0]!.trim().toLowerCase()

const tooLarge = refuse(413, "PayloadTooLarge", `the body is larger than ${maxBodyBytes / 1024} KiB`)

/** A body (already read) must be JSON, but for the login form's. */
const typeVerdict = (request: HttpServerRequest.HttpServerRequest, path: string, body: string): Verdict => {
  if (Buffer.byteLength(body) > maxBodyBytes) return tooLarge
  if (body === "") return allow
  const type = mediaType(request.headers["content-type"])
  if (type === "application/json" || (path === "/login" && type === "application/x-www-form-urlencoded")) {
    return allow
  }
  return refuse(415, "UnsupportedMediaType", `the body must be application/json (it is ${type || "untyped"})`)
}

const unreadable = refuse(400, "BadRequest", "the request body could not be read")

/** How much of an oversized body sent without a length is read (and dropped) so that the client hears the 413. */
const drainBytes = 16 * 1024 * 1024

/** The request as the routes see it, its body already read: `text` (and `json`, read from it) answer from memory. */
const withBody = (request: HttpServerRequest.HttpServerRequest, body: string): HttpServerRequest.HttpServerRequest =>
  Object.create(request, {
    text: { value: Effect.succeed(body) },
    modify: {
      value: (options: Parameters<HttpServerRequest.HttpServerRequest["modify"]>[0]) =>
        withBody(request.modify(options), body)
    }
  }) as HttpServerRequest.HttpServerRequest

/**
 * A body sent without a length (chunked), read under the cap. Past the cap the answer is a 413 at once, while the
 * rest of the body is read and dropped on the side (up to `drainBytes`): stopping the read would close the
 * connection under the client, which would then never see the answer.
 */
const readUnsized = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const outcome = yield* Deferred.make<Either.Either<string, Refusal>>()
    const chunks: Array<Uint8Array> = []
    let size = 0
    const reading = Stream.runForEachWhile(request.stream, (chunk) =>
      Effect.gen(function*() {
        size += chunk.length
        if (size <= maxBodyBytes) {
          chunks.push(chunk)
          return true
        }
        chunks.length = 0
        yield* Deferred.succeed(outcome, Either.left(tooLarge))
        return size <= drainBytes
      })).pipe(
        Effect.matchEffect({
          onFailure: () => Deferred.succeed(outcome, Either.left(unreadable)),
          onSuccess: () => Deferred.succeed(outcome, Either.right(Buffer.concat(chunks).toString("utf8")))
        })
      )
    yield* Effect.forkDaemon(reading)
    return yield* Deferred.await(outcome)
  })

/**
 * Reads the body under the cap: a declared length over it is refused before anything is read; a body without a
 * length is read by `readUnsized`.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const length = request.headers["content-length"]
    if (length !== undefined && Number(length) > maxBodyBytes) return Either.left<Refusal>(tooLarge)
    if (length === undefined && request.headers["transfer-encoding"] !== undefined) return yield* readUnsized(request)
    const read = yield* request.text.pipe(IncomingMessage.withMaxBodySize(Option.some(maxBodyBytes)), Effect.either)
    if (Either.isRight(read)) return Either.right<string>(read.right)
    return Either.left<Refusal>(
      String((read.left as { cause?: unknown }).cause).includes("maxBytes")
        ? tooLarge
        : unreadable
    )
  })

const refusal = (verdict: Refusal) => {
  if (verdict.login === true) return HttpServerResponse.redirect("/login", { status: 303 })
  const response = jsonError(verdict.status, verdict.error, verdict.message)
  return verdict.status === 401 ? HttpServerResponse.setHeader(response, "www-authenticate", "Bearer") : response
}

/**
 * Wraps the whole HTTP app: refuses what `decide` refuses, checks the body's type and size, and reads the body
 * under the cap (the request keeps it: the routes read it again from memory).
 */
export const guard =
  (options: GuardOptions) => <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = new URL(request.url, "http://plexsync.invalid").pathname
      const now = Date.now()
      const verdict = decide({ method: request.method, path, headers: request.headers, now }, options)
      if (verdict._tag === "Refuse") return refusal(verdict)
      if (!safeMethods.has(request.method)) {
        const body = yield* readBody(request)
        if (Either.isLeft(body)) return refusal(body.left)
        const typed = typeVerdict(request, path, body.right)
        if (typed._tag === "Refuse") return refusal(typed)
        return yield* Effect.provideService(app, HttpServerRequest.HttpServerRequest, withBody(request, body.right))
      }
      return yield* app
    })
