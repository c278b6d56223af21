import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import { RequestError } from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import { Settings } from "@plexsync/domain/Settings"
import { readStop } from "@plexsync/domain/WorkerStop"
import { ignoredHook, recordObjectHook, recordSceneHook } from "@plexsync/runtime/Hook"
import { decodePluginInput } from "@plexsync/runtime/HookInput"
import { Database } from "@plexsync/sqlite/Database"
import { Cause, Effect, Either, Layer, Option } from "effect"
import { Api } from "./Api.js"
import * as ApiLive from "./ApiLive.js"
import { ChangeFeed } from "./ChangeFeed.js"
import * as Exposition from "./Exposition.js"
import type { GuardOptions } from "./Guard.js"
import { errorResponse, guard, sessionCookie } from "./Guard.js"
import * as Login from "./Login.js"
import * as Prometheus from "./Prometheus.js"
import { RunnerState } from "./RunnerState.js"
import * as Sessions from "./Sessions.js"
import * as StatusReport from "./StatusReport.js"
import * as Ui from "./Ui.js"

/**
 * The scheduler's HTTP face: `/healthz` (200 `ok`, or 503 saying why while the worker is stopped), `/status` (the
 * `status --json` document), `/metrics` (Prometheus text), the web UI (`/` and its pages, see `Ui`), `POST /hooks/stash`
 * (the Stash plugin's forwarder), the JSON API under `/api/v1` with its OpenAPI document, and `/login`. `Guard` decides who
 * may use which, before any route runs.
 */

export interface HttpOptions {
  readonly guard: GuardOptions
  readonly refreshSeconds: number
  /** Builds the `/status` document from a report. */
  readonly statusDocument: (report: StatusReport.SchedulerReport) => unknown
  readonly api: Omit<ApiLive.ApiOptions, "statusDocument">
}

const json = (status: number, body: unknown) =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store" } })

/** One line for the log and the answer; the cause itself (with its stack) only at debug level. */
const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  const error: unknown = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  return typeof error === "object" && error !== null && "message" in error
    ? String((error as { message: unknown }).message)
    : String(error)
}

/** A route that fails answers 500 with what failed, and says so in the log. */
const guarded = <E, R>(route: string, handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  handler.pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.gen(function*() {
        const text = describeCause(cause)
        yield* Effect.logWarning(`${route} failed: ${text}`)
        yield* Effect.logDebug(`${route} failure detail`, cause)
        return json(500, { error: `${route} failed: ${text}` })
      })
    )
  )

const routes = (
  options: HttpOptions,
  api: HttpApp.Default<never, HttpRouter.HttpRouter.DefaultServices>,
  revocations: Sessions.Revocations
) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/healthz",
      guarded(
        "GET /healthz",
        Effect.gen(function*() {
          // Serving is not enough: a worker stopped for a person to act (a refused token) syncs nothing.
          const stopped = yield* Effect.flatMap(Settings, readStop)
          if (Option.isSome(stopped)) {
            return HttpServerResponse.text(`stopped: ${stopped.value.message}\n`, { status: 503 })
          }
          const { worker } = yield* Effect.flatMap(RunnerState, (r) => r.snapshot)
          if (worker._tag === "Stopped") {
            return HttpServerResponse.text(`stopped: ${worker.reason}\n`, { status: 503 })
          }
          return HttpServerResponse.text("ok")
        })
      )
    ),
    HttpRouter.get(
      "/status",
      guarded(
        "GET /status",
        StatusReport.read({ outages: 50 }).pipe(Effect.map((report) => json(200, options.statusDocument(report))))
      )
    ),
    HttpRouter.get(
      "/metrics",
      guarded(
        "GET /metrics",
        Effect.map(Exposition.render, (text) => HttpServerResponse.text(text, { contentType: Prometheus.contentType }))
      )
    ),
    HttpRouter.post(
      "/hooks/stash",
      guarded(
        "POST /hooks/stash",
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          // Guard checked the secret or token, the type and the size, and read the body (kept in memory).
          const text = yield* request.text.pipe(Effect.orElseSucceed(() => null))
          if (text === null) return json(400, { error: "the request body could not be read" })
          // The same decoding and the same action as `plexsync hook`.
          const decoded = decodePluginInput(text)
          if (Either.isLeft(decoded)) return json(400, { error: decoded.left.message })
          const hook = decoded.right
          if (hook._tag === "Task") {
            return json(422, { error: `the scheduler records hooks only; run the task "${hook.mode}" with plexsync` })
          }
          if (hook._tag === "OtherHook") return json(202, ignoredHook(hook.type))
          // What is acknowledged is on disk before the answer (the process's connection syncs only at checkpoints).
          const flushed = Effect.flatMap(
            Effect.serviceOption(Database),
            (db) => Option.isSome(db) ? db.value.flush : Effect.void
          )
          if (hook._tag === "ObjectHook") {
            const recorded = yield* recordObjectHook(hook).pipe(
              Effect.annotateLogs({ kind: hook.kind, objectId: hook.objectId })
            )
            yield* flushed
            // Its scenes are queued at once, after the answer (the expansion asks Stash, which waits for this).
            if (recorded.eventId !== null) {
              const feed = yield* Effect.serviceOption(ChangeFeed)
              if (Option.isSome(feed)) yield* feed.value.requestDrain
            }
            return json(202, recorded.reply)
          }
          const reply = yield* recordSceneHook(hook).pipe(Effect.annotateLogs({ sceneId: hook.sceneId }))
          yield* flushed
          return json(202, reply)
        })
      )
    )
  ).pipe(
    HttpRouter.get("/api/v1/openapi.json", Effect.succeed(json(200, openApiDocument))),
    HttpRouter.all("/api/v1/*", api),
    HttpRouter.concat(Login.routes(options.guard.apiToken, revocations)),
    HttpRouter.concat(Ui.routes({ guard: options.guard, refreshSeconds: options.refreshSeconds }, guarded))
  )

const spec = OpenApi.fromApi(Api)

/**
 * The API's OpenAPI document (it depends on the API's definition only), with the credentials every route takes:
 * they are checked by `Guard` before the API's router, so they are stated here rather than per endpoint.
 */
export const openApiDocument = {
  ...spec,
  components: {
    ...spec.components,
    securitySchemes: {
      ...spec.components.securitySchemes,
      bearer: { type: "http", scheme: "bearer", description: "PLEXSYNC_API_TOKEN" },
      session: { type: "apiKey", in: "cookie", name: sessionCookie, description: "set by POST /login" }
    }
  },
  security: [{ bearer: [] }, { session: [] }]
} satisfies OpenApi.OpenAPISpec

/** A decoding failure for a person: `ids: expected a list of entry ids, got "x"`, one line per field. */
const decodeMessage = (error: HttpApiDecodeError): string => {
  // The first issue of each field: an optional field also reports that it is not `undefined`.
  const byField = new Map<string, string>()
  for (const issue of error.issues) {
    const field = issue.path.map(String).join(".")
    if (!byField.has(field)) byField.set(field, field === "" ? issue.message : `${field}: ${issue.message}`)
  }
  return byField.size === 0 ? error.message : Array.from(byField.values()).join("; ")
}

/**
 * A payload, path or query the API cannot decode, or a body that is not JSON at all: 400 `{error, message}` as
 * every other error (the platform answered an empty 400 for the latter).
 */
const badRequests = HttpMiddleware.make((app) =>
  Effect.catchAllCause(app, (cause) => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && failure.value instanceof HttpApiDecodeError) {
      return Effect.succeed(errorResponse(400, "BadRequest", decodeMessage(failure.value)))
    }
    // The platform reads the body as JSON and dies when it is not.
    const defect = Cause.dieOption(cause)
    if (Option.isSome(defect) && defect.value instanceof RequestError && defect.value.reason === "Decode") {
      return Effect.succeed(errorResponse(400, "BadRequest", "the request body is not valid JSON"))
    }
    return Effect.failCause(cause)
  })
)

/** The API's handlers as an app, over the services the scheduler's layers give. */
const apiApp = (options: HttpOptions) =>
  Effect.gen(function*() {
    const middleware = yield* HttpApiBuilder.Middleware
    yield* middleware.add(badRequests)
    return yield* HttpApiBuilder.httpApp
  }).pipe(
    Effect.provide(
      ApiLive.layer({ ...options.api, statusDocument: options.statusDocument }).pipe(
        Layer.provideMerge(Layer.merge(HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer))
      )
    )
  )

/** The whole HTTP face as one app: the guard, then the routes (an unknown one is a 404 `{error, message}`). */
export const app = (options: HttpOptions) =>
  Effect.gen(function*() {
    const api = yield* apiApp(options)
    const revocations = yield* Sessions.make
    const routed = yield* HttpRouter.toHttpApp(routes(options, api, revocations))
    return routed.pipe(
      Effect.catchTag("RouteNotFound", () => Effect.succeed(errorResponse(404, "NotFound", "no such route"))),
      guard({ ...options.guard, revoked: revocations.isRevoked })
    )
  })
