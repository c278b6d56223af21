import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option, Redacted, Schema } from "effect"
import {
  clearedCookieHeader,
  cookieValue,
  errorResponse,
  makeSession,
  parseSession,
  sameSecret,
  sessionCookie,
  sessionCookieHeader
} from "./Guard.js"
import type { Revocations } from "./Sessions.js"

/**
 * `GET /login` (a small form), `POST /login` (the token, as the form posts it or as JSON `{token}`: sets the
 * session cookie) and `POST /logout` (ends the session for good). Without `PLEXSYNC_API_TOKEN` there is nothing to log
 * in to. Ten wrong tokens from one address within a minute make it wait out the minute (429).
 */

const page = (message: string | null) =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>plexsync: log in</title>
<link rel="icon" href="data:,">
<style>body{font:16px system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}
input,button{font:inherit;width:100%;box-sizing:border-box;padding:.6rem;margin:.4rem 0}
.error{color:#b00020}</style></head>
<body><h1>plexsync</h1>
<form method="post" action="/login">
<label for="token">API token (PLEXSYNC_API_TOKEN)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>${message === null ? "" : `<p class="error">${message}</p>`}</body></html>
`

/** As the UI's pages: no script at all, its own inline style, never in a frame (clickjacking the token field). */
const loginPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; " +
  "base-uri 'none'; frame-ancestors 'none'"

const html = (status: number, message: string | null) =>
  HttpServerResponse.html(page(message)).pipe(
    HttpServerResponse.setStatus(status),
    HttpServerResponse.setHeaders({
      "cache-control": "no-store",
      "content-security-policy": loginPolicy,
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "same-origin"
    })
  )

const LoginJson = Schema.parseJson(Schema.Struct({ token: Schema.String }))

/** The token a login request carries, as the form posts it or as JSON. */
const givenToken = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const text = yield* request.text
    const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
    if (type === "application/json") {
      return Option.map(Schema.decodeUnknownOption(LoginJson)(text), (body) => body.token)
    }
    return Option.fromNullable(new URLSearchParams(text).get("token"))
  })

/** Wrong tokens from one address within `throttleWindowMs` before it must wait: guessing a token stays slow. */
const maxFailures = 10
const throttleWindowMs = 60_000

/** Failed logins by client address, within the current window. */
const makeThrottle = () => {
  const failures = new Map<string, { count: number; since: number }>()
  return {
    /** Milliseconds the address must still wait; 0 when it may try. */
    waitMs: (address: string, now: number) => {
      const entry = failures.get(address)
      if (entry === undefined || now - entry.since >= throttleWindowMs) return 0
      return entry.count >= maxFailures ? throttleWindowMs - (now - entry.since) : 0
    },
    failed: (address: string, now: number) => {
      const entry = failures.get(address)
      if (entry === undefined || now - entry.since >= throttleWindowMs) failures.set(address, { count: 1, since: now })
      else entry.count++
      if (failures.size > 10_000) {
        for (const [key, value] of failures) if (now - value.since >= throttleWindowMs) failures.delete(key)
      }
    },
    succeeded: (address: string) => void failures.delete(address)
  }
}

export const routes = (apiToken: Option.Option<Redacted.Redacted<string>>, revocations: Revocations) => {
  const throttle = makeThrottle()
  return HttpRouter.empty.pipe(
    HttpRouter.get("/login", Effect.succeed(html(200, null))),
    HttpRouter.post(
      "/login",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const json = (request.headers["content-type"] ?? "").includes("json")
        if (Option.isNone(apiToken)) {
          return errorResponse(404, "NotFound", "PLEXSYNC_API_TOKEN is not set: there is nothing to log in to")
        }
        const address = Option.getOrElse(request.remoteAddress, () => "unknown")
        const now = Date.now()
        const wait = throttle.waitMs(address, now)
        if (wait > 0) {
          const seconds = Math.ceil(wait / 1000)
          const message = `${maxFailures} wrong tokens within a minute: try again in ${seconds} s`
          return (json ? errorResponse(429, "TooManyRequests", message) : html(429, message)).pipe(
            HttpServerResponse.setHeader("retry-after", String(seconds))
          )
        }
        const given = yield* givenToken(request).pipe(Effect.orElseSucceed(() => Option.none<string>()))
        if (Option.isNone(given) || !sameSecret(given.value, Redacted.value(apiToken.value))) {
          throttle.failed(address, now)
          return json
            ? errorResponse(401, "Unauthorized", "the token is not PLEXSYNC_API_TOKEN")
            : html(401, "That is not the API token.")
        }
        throttle.succeeded(address)
        const cookie = sessionCookieHeader(
          makeSession(apiToken.value, Date.now()),
          request.headers["x-forwarded-proto"] === "https"
        )
        const response = json
          ? HttpServerResponse.unsafeJson({ loggedIn: true })
          : HttpServerResponse.redirect("/", { status: 303 })
        return response.pipe(
          HttpServerResponse.setHeader("set-cookie", cookie),
          HttpServerResponse.setHeader("cache-control", "no-store")
        )
      })
    ),
    HttpRouter.post(
      "/logout",
      Effect.gen(function*() {
        // The session ends here, not only in this browser: a copy of the cookie opens nothing from now on.
        const request = yield* HttpServerRequest.HttpServerRequest
        const session = cookieValue(request.headers["cookie"], sessionCookie)
        const parsed = Option.isNone(apiToken) || session === null
          ? Option.none()
          : parseSession(apiToken.value, session, Date.now())
        if (Option.isSome(parsed)) {
          yield* revocations.revoke(parsed.value.id, parsed.value.expires).pipe(
            Effect.catchAll((error) =>
              Effect.logWarning(
                `logout: the ended session could not be stored (${error.message}); it ends until restart`
              )
            )
          )
        }
        return HttpServerResponse.redirect("/login", { status: 303 }).pipe(
          HttpServerResponse.setHeader("set-cookie", clearedCookieHeader)
        )
      })
    )
  )
}
