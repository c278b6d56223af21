import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option, Redacted, Schema } from "effect"
import { clearedCookieHeader, errorResponse, makeSession, sameSecret, sessionCookieHeader } from "./Guard.js"

/**
 * `GET /login` (a small form), `POST /login` (the token, as the form posts it or as JSON `{token}`: sets the
 * session cookie) and `POST /logout`. Without `PLEXSYNC_API_TOKEN` there is nothing to log in to.
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

export const routes = (apiToken: Option.Option<Redacted.Redacted<string>>) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/login", Effect.succeed(html(200, null))),
    HttpRouter.post(
      "/login",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const json = (request.headers["content-type"] ?? "").includes("json")
        if (Option.isNone(apiToken)) {
          return errorResponse(404, "NotFound", "PLEXSYNC_API_TOKEN is not set: there is nothing to log in to")
        }
        const given = yield* givenToken(request).pipe(Effect.orElseSucceed(() => Option.none<string>()))
        if (Option.isNone(given) || !sameSecret(given.value, Redacted.value(apiToken.value))) {
          return json
            ? errorResponse(401, "Unauthorized", "the token is not PLEXSYNC_API_TOKEN")
            : html(401, "That is not the API token.")
        }
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
      Effect.succeed(
        HttpServerResponse.redirect("/login", { status: 303 }).pipe(
          HttpServerResponse.setHeader("set-cookie", clearedCookieHeader)
        )
      )
    )
  )
