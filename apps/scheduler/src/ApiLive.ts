import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as CircuitBreaker from "@plexsync/domain/CircuitBreaker"
import type { ReconcileSettings } from "@plexsync/domain/Reconcile"
import { parseReconcileScope } from "@plexsync/domain/Reconcile"
import * as Commands from "@plexsync/runtime/Commands"
import { parseDurationMs } from "@plexsync/runtime/Duration"
import { noProgress } from "@plexsync/runtime/Present"
import { reconcile } from "@plexsync/runtime/ReconcileReport"
import type { RecoverWindow } from "@plexsync/runtime/Recover"
import { recover } from "@plexsync/runtime/Recover"
import { sceneDocument } from "@plexsync/runtime/SceneReport"
import { UsageError } from "@plexsync/runtime/UsageError"
import { Effect, Either, Layer, Option } from "effect"
import type { ApiError } from "./Api.js"
import { Api } from "./Api.js"
import { queueListing, runsListing } from "./Listings.js"
import * as StatusReport from "./StatusReport.js"

/**
 * The API's handlers: each runs the command the CLI runs (`@plexsync/runtime`) and answers its `--json` document.
 * Bad input is a 400 saying what, a missing entry 404; Stash or Plex not answering is 503; anything else 500 with
 * what failed.
 */

export interface ApiOptions {
  /** Builds the status document from a report (the same as `GET /status`). */
  readonly statusDocument: (report: StatusReport.SchedulerReport) => unknown
  /** What a reconciliation needs of the configuration. */
  readonly reconcile: ReconcileSettings
}

const defaultLimit = 100

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error
    ? String((error as { message: unknown }).message)
    : String(error)

const tagOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error ? String((error as { _tag: unknown })._tag) : ""

/** Any failure of a command as the API's `{error, message}`. */
export const toApiError = (error: unknown): ApiError => {
  const tag = tagOf(error)
  const message = messageOf(error)
  if (tag === "UsageError" || tag === "InvalidRecoveryWindow" || tag === "OutageOngoing") {
    return { error: "BadRequest", message }
  }
  if (tag === "OutageNotFound") return { error: "NotFound", message }
  if (/^(Stash|Plex)/.test(tag)) return { error: "Unavailable", message }
  return { error: "Internal", message }
}

const answer = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, ApiError, R> =>
  Effect.mapError(effect, toApiError)

/** An instant as ISO-8601 or epoch milliseconds. */
const instant = (name: string, text: string | undefined): Effect.Effect<Option.Option<number>, UsageError> => {
  if (text === undefined) return Effect.succeed(Option.none())
  const ms = /^\d+$/.test(text.trim()) ? Number(text) : Date.parse(text)
  return Number.isFinite(ms)
    ? Effect.succeed(Option.some(ms))
    : Effect.fail(
      new UsageError({ message: `${name}: ${JSON.stringify(text.slice(0, 100))} is not a time (ISO-8601)` })
    )
}

const reportJson = Effect.map((report: Commands.Report) => report.json)

const recoverWindow = (
  payload: {
    readonly outageId?: number | undefined
    readonly from?: string | undefined
    readonly to?: string | undefined
  }
) =>
  Effect.gen(function*() {
    const from = yield* instant("from", payload.from)
    const to = yield* instant("to", payload.to)
    if (payload.outageId !== undefined) {
      if (Option.isSome(from) || Option.isSome(to)) {
        return yield* new UsageError({ message: "give outageId, or from and to, not both" })
      }
      return { _tag: "Outage", outageId: payload.outageId } satisfies RecoverWindow
    }
    if (Option.isSome(from) && Option.isSome(to)) {
      return { _tag: "Range", from: from.value, to: to.value } satisfies RecoverWindow
    }
    if (Option.isSome(from) || Option.isSome(to)) {
      return yield* new UsageError({ message: "from and to go together" })
    }
    return { _tag: "LastOutage" } satisfies RecoverWindow
  })

export const layer = (options: ApiOptions) =>
  HttpApiBuilder.api(Api).pipe(
    Layer.provide([
      HttpApiBuilder.group(Api, "status", (handlers) =>
        handlers.handle("status", () =>
          answer(StatusReport.read({ outages: 50 }).pipe(Effect.map(options.statusDocument))))),
      HttpApiBuilder.group(Api, "queue", (handlers) =>
        handlers.handle("list", ({ urlParams }) =>
          answer(queueListing({ state: urlParams.state, limit: urlParams.limit ?? defaultLimit })))),
      HttpApiBuilder.group(Api, "dlq", (handlers) =>
        handlers
          .handle("list", ({ urlParams }) =>
            answer(Effect.gen(function*() {
              const since = yield* instant("from", urlParams.from)
              const until = yield* instant("to", urlParams.to)
              return yield* Commands.dlqList({
                errorTags: (urlParams.error ?? "").split(",").map((t) =>
                  t.trim()
                ).filter((t) =>
                  t !== ""
                ),
                since,
                until,
                sceneId: Option.fromNullable(urlParams.scene),
                limit: urlParams.limit ?? defaultLimit,
                includeRecovered: false
              }).pipe(reportJson)
            })))
          .handle("show", ({ path }) =>
            answer(Commands.dlqShow(String(path.id))).pipe(
              Effect.flatMap((report) =>
                report.failed === undefined
                  ? Effect.succeed(report.json)
                  : Effect.fail<ApiError>({ error: "NotFound", message: `there is no DLQ entry ${path.id}` })
              )
            ))
          .handle("retry", ({ payload }) =>
            answer(
              Commands.dlqRetry({
                ids: payload.ids.map(String),
                errorTags: [],
                since: Option.none(),
                until: Option.none()
              }).pipe(reportJson)
            ))
          .handle("purge", ({ payload }) =>
            answer(
              Effect.gen(function*() {
                if ("ids" in payload) {
                  return yield* Commands.dlqPurge({ _tag: "Ids", ids: payload.ids.map(String) })
                }
                const ms = parseDurationMs(payload.olderThan)
                if (ms === undefined) {
                  return yield* new UsageError({
                    message: `olderThan: ${JSON.stringify(payload.olderThan.slice(0, 100))} is not a duration (7d, 72h)`
                  })
                }
                return yield* Commands.dlqPurge({ _tag: "OlderThan", ms })
              }).pipe(reportJson)
            ))),
      HttpApiBuilder.group(Api, "outages", (handlers) =>
        handlers.handle("list", ({ urlParams }) =>
          answer(Commands.outages(urlParams.limit ?? 50, Commands.defaultOutagesWindowMs).pipe(reportJson)))),
      HttpApiBuilder.group(Api, "recover", (handlers) =>
        handlers.handle("recover", ({ payload }) =>
          answer(
            recoverWindow(payload).pipe(
              Effect.flatMap((window) =>
                recover(
                  { window, includeOptional: payload.includeOptional ?? false, dryRun: payload.dryRun ?? false },
                  noProgress
                )
              ),
              reportJson
            )
          ))),
      HttpApiBuilder.group(Api, "runs", (handlers) =>
        handlers.handle("list", ({ urlParams }) =>
          answer(runsListing(urlParams.limit ?? defaultLimit)))),
      HttpApiBuilder.group(Api, "scenes", (handlers) =>
        handlers
          .handle("show", ({ path }) =>
            answer(sceneDocument(path.id, options.reconcile.pathMap)))
          .handle("sync", ({ path }) =>
            answer(Commands.enqueue([path.id]).pipe(reportJson)))),
      HttpApiBuilder.group(Api, "reconcile", (handlers) =>
        handlers.handle("reconcile", ({ payload }) =>
          answer(Effect.gen(function*() {
            const scope = Either.getOrUndefined(parseReconcileScope(payload.scope ?? "all"))
            if (scope === undefined) {
              return yield* new UsageError({
                message: `scope: ${JSON.stringify((payload.scope ?? "").slice(0, 100))} is not all or a duration (7d)`
              })
            }
            return yield* reconcile(options.reconcile, {
              scope,
              dryRun: payload.dryRun ?? false,
              includeMissing: payload.includeMissing ?? false
            }, noProgress).pipe(CircuitBreaker.recordingHealth(["stash", "plex"]), reportJson)
          }))))
    ])
  )
