import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import type { ParseResult } from "effect"
import { Schema } from "effect"

/**
 * The scheduler's JSON API, version 1: the documents `plexsync … --json` prints (built by the same code), and the
 * actions the CLI takes, over HTTP. Its OpenAPI document is served at `/api/v1/openapi.json`.
 *
 * Documents are described, not re-declared field by field: they are the CLI's, and they grow (new keys are only
 * ever added), so the API passes them through as they are built.
 */

const document = (description: string) => Schema.Unknown.annotations({ description })

/** An error answer: `{error, message}` with its status. */
const apiError = <const Tag extends string>(error: Tag, status: number, description: string) =>
  Schema.Struct({ error: Schema.Literal(error), message: Schema.String }).annotations(
    HttpApiSchema.annotations({ status, identifier: error, description })
  )

export const BadRequest = apiError("BadRequest", 400, "The request is not valid: the message says what and where.")
export const NotFound = apiError("NotFound", 404, "There is no such entry or scene.")
export const Internal = apiError("Internal", 500, "The store or a server failed; the message says which.")
export const Unavailable = apiError(
  "Unavailable",
  503,
  "A server the work needs (Stash or Plex) cannot be reached; try again once it answers."
)
export type ApiError =
  | typeof BadRequest.Type
  | typeof NotFound.Type
  | typeof Internal.Type
  | typeof Unavailable.Type

/** What a field must be, for a person: `expected a whole number from 1 to 1000, got "abc"` (input clipped). */
const expected = (what: string) => ({
  message: (issue: ParseResult.ParseIssue) => {
    const got = issue.actual === undefined ? "nothing" : JSON.stringify(issue.actual) ?? String(issue.actual)
    return { message: `expected ${what}, got ${got.length > 100 ? `${got.slice(0, 100)}…` : got}`, override: true }
  }
})

const Flag = Schema.Boolean.annotations(expected("true or false"))
const Limit = Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)).annotations(
  expected("a whole number from 1 to 1000")
)
/** An instant as ISO-8601 (`2026-02-15T19:17:49Z`), or milliseconds since the epoch. */
const Instant = Schema.String.annotations({ description: "ISO-8601, e.g. 2026-02-15T19:17:49Z" })
const PositiveIds = Schema.Array(Schema.Int.pipe(Schema.positive())).pipe(Schema.minItems(1), Schema.maxItems(5000))
  .annotations(expected("a list of entry ids (1 to 5000 positive whole numbers)"))

const status = HttpApiGroup.make("status").add(
  HttpApiEndpoint.get("status", "/status").addSuccess(
    document("`plexsync status --json`, plus `scheduler`: this process's worker, change feed and last DLQ purge.")
  )
)

const queue = HttpApiGroup.make("queue").add(
  HttpApiEndpoint.get("list", "/queue")
    .setUrlParams(Schema.Struct({
      state: Schema.optional(Schema.Literal("queued", "running")),
      limit: Schema.optional(Limit)
    }))
    .addSuccess(document("`{counts, jobs}`: the queue's counts by state and its jobs in due order."))
)

const DlqId = Schema.Struct({
  id: Schema.NumberFromString.pipe(Schema.int(), Schema.positive()).annotations(expected("a DLQ entry id"))
})

const dlq = HttpApiGroup.make("dlq")
  .add(
    HttpApiEndpoint.get("list", "/dlq")
      .setUrlParams(Schema.Struct({
        error: Schema.optional(Schema.String.annotations({ description: "error tags, comma-separated" })),
        from: Schema.optional(Instant),
        to: Schema.optional(Instant),
        scene: Schema.optional(Schema.String),
        limit: Schema.optional(Limit)
      }))
      .addSuccess(document("`plexsync dlq list --json`: `{entries, total, undecodable}`, oldest first."))
  )
  .add(
    HttpApiEndpoint.get("show", "/dlq/:id")
      .setPath(DlqId)
      .addSuccess(document("`plexsync dlq show --json`: the entry with its `detail` and `payload`."))
  )
  .add(
    HttpApiEndpoint.post("retry", "/dlq/retry")
      .setPayload(Schema.Struct({ ids: PositiveIds }))
      .addSuccess(document("`plexsync dlq retry --json`: what was re-queued, and why the rest was not."))
  )
  .add(
    HttpApiEndpoint.post("purge", "/dlq/purge")
      .setPayload(Schema.Union(
        Schema.Struct({ ids: PositiveIds }),
        Schema.Struct({
          olderThan: Schema.String.annotations({ description: "a duration such as 7d or 72h" })
        })
      ))
      .addSuccess(document("`plexsync dlq purge --json`: `{deleted}`."))
  )

const outages = HttpApiGroup.make("outages").add(
  HttpApiEndpoint.get("list", "/outages")
    .setUrlParams(Schema.Struct({ limit: Schema.optional(Limit) }))
    .addSuccess(document("`plexsync outages --json`: the outages, newest first, with MTTR, MTBF and availability."))
)

const recover = HttpApiGroup.make("recover").add(
  HttpApiEndpoint.post("recover", "/recover")
    .setPayload(Schema.Struct({
      outageId: Schema.optional(Schema.Int.pipe(Schema.positive()).annotations(expected("an outage id"))),
      from: Schema.optional(Instant),
      to: Schema.optional(Instant),
      dryRun: Schema.optional(Flag),
      includeOptional: Schema.optional(Flag)
    }))
    .addSuccess(document("`plexsync recover --json`: the recovery's counts; `message` says why it stopped early."))
)

const runs = HttpApiGroup.make("runs").add(
  HttpApiEndpoint.get("list", "/runs")
    .setUrlParams(Schema.Struct({ limit: Schema.optional(Limit) }))
    .addSuccess(
      document(
        "`{recoveries, reconciliations, lastReconcile}`: recovery runs and reconciliation runs, each newest first " +
          "(a reconciliation's record lists its first 100 queued scene ids), and the last reconciliation's record."
      )
    )
)

const SceneIdPath = Schema.Struct({ id: Schema.String })

const scenes = HttpApiGroup.make("scenes")
  .add(
    HttpApiEndpoint.get("show", "/scenes/:id")
      .setPath(SceneIdPath)
      .addSuccess(
        document(
          "Why a scene is (not) in Plex: `summary`, `lastSync` (with its hash), `jobs` (with the last error), " +
            "`deadLetters`, `plex` (the item and `matchedBy`: path or content) and what Stash says of it."
        )
      )
  )
  .add(
    HttpApiEndpoint.post("sync", "/scenes/:id/sync")
      .setPath(SceneIdPath)
      .addSuccess(document("`plexsync enqueue --json`: the job, or the waiting job it merged into."), { status: 202 })
  )

const reconcile = HttpApiGroup.make("reconcile").add(
  HttpApiEndpoint.post("reconcile", "/reconcile")
    .setPayload(Schema.Struct({
      scope: Schema.optional(Schema.String.annotations({ description: "all (default), or a duration such as 7d" })),
      dryRun: Schema.optional(Flag),
      includeMissing: Schema.optional(Flag)
    }))
    .addSuccess(document("`plexsync reconcile --json`: what differs between Stash and Plex, and what was queued."))
)

export class Api extends HttpApi.make("plexsync")
  .add(status)
  .add(queue)
  .add(dlq)
  .add(outages)
  .add(recover)
  .add(runs)
  .add(scenes)
  .add(reconcile)
  .addError(BadRequest)
  .addError(NotFound)
  .addError(Internal)
  .addError(Unavailable)
  .prefix("/api/v1")
  .annotateContext(OpenApi.annotations({
    title: "plexsync scheduler API",
    version: "1",
    description: "Every route needs `Authorization: Bearer <PLEXSYNC_API_TOKEN>` (or the session cookie of " +
      "`POST /login`) when the token is set. Changes made with the cookie need a same-origin `Origin` or the " +
      "session's `X-CSRF-Token`. Bodies are `application/json`, at most 64 KiB. Errors are `{error, message}`."
  }))
{}
