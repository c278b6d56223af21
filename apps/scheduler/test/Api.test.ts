import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpApp from "@effect/platform/HttpApp"
import { assert, layer } from "@effect/vitest"
import * as CircuitBreaker from "@plexsync/domain/CircuitBreaker"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { SceneId } from "@plexsync/domain/Ids"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as Commands from "@plexsync/runtime/Commands"
import * as SimPlex from "@plexsync/testing/SimPlex"
import * as SimStash from "@plexsync/testing/SimStash"
import { Effect, Layer, Option, Redacted } from "effect"
import * as Path from "node:path"
import type { HttpOptions } from "../src/Http.js"
import * as Http from "../src/Http.js"
import * as RunnerState from "../src/RunnerState.js"
import { statusDocument } from "../src/StatusDocument.js"
import { storeAt, tempDir } from "./support.js"

/**
 * The scheduler's HTTP face in this process, against a store on a temp file and simulated servers: every API route
 * with and without auth, the login and its cookie, cross-origin and foreign-`Host` requests, bodies that are too
 * large or not JSON — and that the API answers the very documents the CLI's `--json` prints.
 */

const token = "t0ken-for-the-api"
const secret = "hook-secret"
const origin = "http://127.0.0.1:8765"

const options = (apiToken: string | null): HttpOptions => ({
  guard: {
    apiToken: apiToken === null ? Option.none() : Option.some(Redacted.make(apiToken)),
    webhookSecret: apiToken === null ? Option.none() : Option.some(Redacted.make(secret)),
    allowedHosts: ["plexsync.lan"],
    machineName: "nas",
    loopbackOnly: true
  },
  refreshSeconds: 5,
  statusDocument,
  api: { reconcile: { fields: new Set(), preservePlexEdits: false, pathMap: [], libraries: [], strictMatching: true } }
})

const env = Layer.mergeAll(
  RunnerState.layer("test-holder"),
  CircuitBreaker.layer({ threshold: 5, probeMinMs: 1000, probeMaxMs: 5000 }),
  SimPlex.layer(),
  SimStash.layer({ scenes: [SimStash.sampleScene(7), SimStash.sampleScene(8)] }),
  NodeHttpServer.layerContext
).pipe(
  Layer.provideMerge(Layer.unwrapScoped(Effect.map(tempDir, (dir) => storeAt(Path.join(dir, "plexsync.db")))))
)

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

/** The app behind a `fetch`-like function: method, path, headers, body (a string, or an object sent as JSON). */
const client = (apiToken: string | null) =>
  Effect.gen(function*() {
    const app = yield* Http.app(options(apiToken))
    const runtime = yield* Effect.runtime<Layer.Layer.Success<typeof env>>()
    const handler = HttpApp.toWebHandlerRuntime(runtime)(app)
    return (
      method: string,
      path: string,
      init: { readonly headers?: Record<string, string>; readonly body?: unknown } = {}
    ): Effect.Effect<Answer> =>
      Effect.promise(async () => {
        const isJson = init.body !== undefined && typeof init.body !== "string"
        const response = await handler(
          new Request(`${origin}${path}`, {
            method,
            headers: {
              host: "127.0.0.1:8765",
              ...(isJson ? { "content-type": "application/json" } : {}),
              ...init.headers
            },
            ...(init.body === undefined ? {} : { body: isJson ? JSON.stringify(init.body) : init.body as string })
          })
        )
        const text = await response.text()
        let json: unknown = null
        try {
          json = JSON.parse(text)
        } catch {
          // not JSON: `text` it is
        }
        return { status: response.status, headers: response.headers, text, json }
      })
  })

const bearer = { authorization: `Bearer ${token}` }

const deadLetter = (sceneId: string) =>
  Effect.flatMap(DeadLetterQueue, (dlq) =>
    dlq.add({
      sceneId: SceneId.make(sceneId),
      errorTag: "PlexNotFound",
      message: `Plex has no item for scene ${sceneId}`,
      attempts: 3,
      failedAt: Date.now() - 60_000,
      outageId: null,
      payload: { sceneId: SceneId.make(sceneId), reason: "poll" }
    }))

/** Every API route, as a request that would succeed with the token. */
const everyRoute: ReadonlyArray<readonly [string, string, unknown?]> = [
  ["GET", "/api/v1/status"],
  ["GET", "/api/v1/queue?state=queued&limit=10"],
  ["GET", "/api/v1/dlq?error=PlexNotFound&limit=10"],
  ["GET", "/api/v1/dlq/1"],
  ["POST", "/api/v1/dlq/retry", { ids: [1] }],
  ["POST", "/api/v1/dlq/purge", { olderThan: "3650d" }],
  ["GET", "/api/v1/outages"],
  ["POST", "/api/v1/recover", { dryRun: true }],
  ["GET", "/api/v1/runs"],
  ["GET", "/api/v1/scenes/7"],
  ["POST", "/api/v1/scenes/7/sync"],
  ["POST", "/api/v1/reconcile", { dryRun: true }],
  ["GET", "/api/v1/openapi.json"],
  ["GET", "/status"],
  ["GET", "/metrics"],
  ["GET", "/"],
  ["GET", "/queue?state=queued"],
  ["GET", "/dlq?error=PlexNotFound&window=24h"],
  ["GET", "/outages"],
  ["GET", "/runs"],
  ["GET", "/scenes?id=7"],
  ["GET", "/ui.js"],
  ["GET", "/ui.css"]
]

layer(env, { excludeTestServices: true })("the scheduler's API", (it) => {
  it.effect("answers the CLI's --json documents, from the same code", () =>
    Effect.gen(function*() {
      const call = yield* client(null)
      const id = yield* deadLetter("7")

      const list = yield* call("GET", "/api/v1/dlq?error=PlexNotFound")
      assert.strictEqual(list.status, 200)
      const cli = yield* Commands.dlqList({
        errorTags: ["PlexNotFound"],
        since: Option.none(),
        until: Option.none(),
        sceneId: Option.none(),
        limit: 100,
        includeRecovered: false
      })
      assert.deepStrictEqual(list.json, JSON.parse(JSON.stringify(cli.json)))
      assert.strictEqual(list.json.entries[0].id, id)

      const shown = yield* call("GET", `/api/v1/dlq/${id}`)
      assert.deepStrictEqual(shown.json, JSON.parse(JSON.stringify((yield* Commands.dlqShow(String(id))).json)))
      const outages = yield* call("GET", "/api/v1/outages")
      // The window ends "now": the moments of the two calls differ, the rest must not.
      const outagesCli = JSON.parse(JSON.stringify((yield* Commands.outages(50, Commands.defaultOutagesWindowMs)).json))
      const windowless = (doc: Record<string, unknown>) => ({ ...doc, window: undefined })
      assert.deepStrictEqual(windowless(outages.json), windowless(outagesCli))
      assert.strictEqual(outages.json.window.clippedToDatabase, outagesCli.window.clippedToDatabase)
      const status = yield* call("GET", "/api/v1/status")
      assert.deepStrictEqual(Object.keys(status.json), Object.keys((yield* call("GET", "/status")).json))
      assert.strictEqual(status.json.dlq.total, 1)

      // Why is scene 7 not in Plex? Its last sync failed for good.
      const scene = yield* call("GET", "/api/v1/scenes/7")
      assert.strictEqual(scene.status, 200)
      assert.match(scene.json.summary, /failed for good \(PlexNotFound/)
      assert.strictEqual(scene.json.deadLetters[0].id, id)
      assert.strictEqual(scene.json.stash.found, true)
      assert.strictEqual(scene.json.lastSync, null)

      // Retried: queued again, the entry recovered, and the scene's lookup says so.
      const retried = yield* call("POST", "/api/v1/dlq/retry", { body: { ids: [id, 999] } })
      assert.strictEqual(retried.status, 200)
      assert.strictEqual(retried.json.requeued, 1)
      assert.deepStrictEqual(retried.json.notFound, [999])
      const queue = yield* call("GET", "/api/v1/queue?state=queued")
      assert.deepStrictEqual(queue.json.jobs.map((j: { sceneId: string }) => j.sceneId), ["7"])
      assert.match((yield* call("GET", "/api/v1/scenes/7")).json.summary, /^It is queued/)

      const synced = yield* call("POST", "/api/v1/scenes/8/sync")
      assert.strictEqual(synced.status, 202)
      assert.strictEqual(synced.json.queued, 1)
      assert.strictEqual((yield* Effect.flatMap(SyncQueue, (q) => q.counts)).queued, 2)

      const other = yield* deadLetter("8")
      const purged = yield* call("POST", "/api/v1/dlq/purge", { body: { ids: [other] } })
      assert.strictEqual(purged.json.deleted, 1)
      assert.strictEqual((yield* call("GET", `/api/v1/dlq/${other}`)).status, 404)

      const recovered = yield* call("POST", "/api/v1/recover", { body: { dryRun: true } })
      assert.strictEqual(recovered.status, 200)
      assert.strictEqual(recovered.json.message, "no completed outage")
      const reconciled = yield* call("POST", "/api/v1/reconcile", { body: { dryRun: true } })
      assert.strictEqual(reconciled.status, 200, reconciled.text)
      assert.strictEqual(reconciled.json.dryRun, true)
      const runs = yield* call("GET", "/api/v1/runs")
      assert.deepStrictEqual(runs.json.recoveries, [])

      const spec = yield* call("GET", "/api/v1/openapi.json")
      assert.strictEqual(spec.json.openapi, "3.1.0")
      assert.deepStrictEqual(spec.json.security, [{ bearer: [] }, { session: [] }])
      for (const path of ["/api/v1/status", "/api/v1/dlq/{id}", "/api/v1/scenes/{id}/sync", "/api/v1/reconcile"]) {
        assert.property(spec.json.paths, path)
      }
    }))

  it.effect("answers bad input with 400, unknown entries and routes with 404, as {error, message}", () =>
    Effect.gen(function*() {
      const call = yield* client(null)
      const cases: ReadonlyArray<readonly [string, string, unknown, number, RegExp]> = [
        ["GET", "/api/v1/dlq/123456", undefined, 404, /no DLQ entry 123456/],
        ["GET", "/api/v1/dlq/abc", undefined, 400, /id/],
        ["GET", "/api/v1/dlq?error=NoSuchTag", undefined, 400, /not an error tag/],
        ["GET", "/api/v1/dlq?from=yesterday", undefined, 400, /from: "yesterday" is not a time/],
        ["GET", "/api/v1/queue?limit=0", undefined, 400, /limit/],
        ["POST", "/api/v1/dlq/retry", { ids: [] }, 400, /ids/],
        ["POST", "/api/v1/dlq/purge", { olderThan: "soon" }, 400, /not a duration/],
        ["POST", "/api/v1/recover", { from: "2026-01-01T00:00:00Z" }, 400, /from and to go together/],
        ["POST", "/api/v1/recover", { outageId: 42 }, 404, /42/],
        ["GET", "/api/v1/scenes/abc", undefined, 400, /not a Stash scene id/],
        ["POST", "/api/v1/reconcile", { scope: "sometimes" }, 400, /not all or a duration/],
        ["GET", "/api/v1/nothing-here", undefined, 404, /no such route/],
        // Messages name the field and say what it must be, in one line (not Schema's tree of types).
        [
          "POST",
          "/api/v1/dlq/retry",
          { ids: "x" },
          400,
          /^ids: expected a list of entry ids \(1 to 5000 positive whole numbers\), got "x"$/
        ],
        ["POST", "/api/v1/recover", { dryRun: "yes" }, 400, /^dryRun: expected true or false, got "yes"$/],
        [
          "GET",
          "/api/v1/queue?limit=abc",
          undefined,
          400,
          /^limit: expected a whole number from 1 to 1000, got "abc"$/
        ],
        // A body that is not JSON at all, although it says it is.
        ["POST", "/api/v1/dlq/retry", "{bad", 400, /^the request body is not valid JSON/]
      ]
      for (const [method, path, body, status, message] of cases) {
        const answer = yield* call(
          method,
          path,
          body === undefined
            ? {}
            : typeof body === "string"
            ? { body, headers: { "content-type": "application/json" } }
            : { body }
        )
        assert.strictEqual(answer.status, status, `${method} ${path}: ${answer.text}`)
        assert.deepStrictEqual(
          Object.keys(answer.json ?? {}).sort(),
          ["error", "message"],
          `${method} ${path}: ${answer.text}`
        )
        assert.match(answer.json.message, message, `${method} ${path}: ${answer.json.message}`)
      }
    }))

  it.effect("refuses foreign hosts, cross-origin changes, and bodies that are too large or not JSON", () =>
    Effect.gen(function*() {
      const call = yield* client(null)
      for (const host of ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "nas:8765", "plexsync.lan"]) {
        assert.strictEqual((yield* call("GET", "/status", { headers: { host } })).status, 200, host)
      }
      // A page on attacker.example rebinding its name to 127.0.0.1 (DNS rebinding).
      const rebound = yield* call("GET", "/api/v1/status", { headers: { host: "attacker.example:8765" } })
      assert.strictEqual(rebound.status, 403)
      assert.strictEqual(rebound.json.error, "ForeignHost")
      assert.match(rebound.json.message, /PLEXSYNC_ALLOWED_HOSTS/)
      assert.strictEqual((yield* call("GET", "/healthz", { headers: { host: "attacker.example" } })).status, 200)

      const before = (yield* Effect.flatMap(SyncQueue, (q) => q.counts)).queued
      // Any web page can send a text/plain POST without a preflight: it must change nothing.
      const crossHook = yield* call("POST", "/hooks/stash", {
        headers: { origin: "http://attacker.example", "content-type": "text/plain" },
        body: JSON.stringify({ args: { mode: "hook", hookContext: { id: 9, type: "Scene.Update.Post" } } })
      })
      assert.strictEqual(crossHook.status, 403)
      const crossSync = yield* call("POST", "/api/v1/scenes/9/sync", { headers: { origin: "http://attacker.example" } })
      assert.strictEqual(crossSync.status, 403)
      assert.strictEqual(crossSync.json.error, "CrossOrigin")
      const plain = yield* call("POST", "/hooks/stash", { headers: { "content-type": "text/plain" }, body: "{}" })
      assert.strictEqual(plain.status, 415)
      const plainApi = yield* call("POST", "/api/v1/dlq/retry", {
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "ids=1"
      })
      assert.strictEqual(plainApi.status, 415)
      assert.strictEqual(plainApi.json.error, "UnsupportedMediaType")
      assert.strictEqual((yield* Effect.flatMap(SyncQueue, (q) => q.counts)).queued, before)

      const big = JSON.stringify({ padding: "x".repeat(70 * 1024) })
      for (const path of ["/hooks/stash", "/api/v1/dlq/retry"]) {
        const declared = { "content-type": "application/json", "content-length": String(big.length) }
        const answer = yield* call("POST", path, { headers: declared, body: big })
        assert.strictEqual(answer.status, 413, path)
        assert.strictEqual(answer.json.error, "PayloadTooLarge")
        // Sent without a length (chunked), it is refused once read past the cap.
        const chunked = yield* call("POST", path, { headers: { "content-type": "application/json" }, body: big })
        assert.strictEqual(chunked.status, 413, path)
      }
      const sameOrigin = yield* call("POST", "/api/v1/scenes/9/sync", { headers: { origin } })
      assert.strictEqual(sameOrigin.status, 202)
    }))

  it.effect("with PLEXSYNC_API_TOKEN, every route but /healthz needs the token or the login's cookie", () =>
    Effect.gen(function*() {
      const call = yield* client(token)
      yield* deadLetter("7")
      for (const [method, path, body] of everyRoute) {
        const init = body === undefined ? {} : { body }
        const without = yield* call(method, path, init)
        assert.strictEqual(without.status, 401, `${method} ${path} without auth`)
        assert.strictEqual(without.json.error, "Unauthorized")
        assert.strictEqual(
          (yield* call(method, path, { ...init, headers: { authorization: "Bearer wrong" } })).status,
          401,
          `${method} ${path} with a wrong token`
        )
        const withToken = yield* call(method, path, { ...init, headers: bearer })
        assert.include([200, 202], withToken.status, `${method} ${path} with the token: ${withToken.text}`)
      }
      assert.strictEqual((yield* call("GET", "/healthz")).status, 200)
      // The bearer token is no ambient credential: a foreign Host does not matter with it.
      assert.strictEqual(
        (yield* call("GET", "/api/v1/status", { headers: { ...bearer, host: "proxy.internal" } })).status,
        200
      )
      // A browser asking for the page is sent to the login form.
      const page = yield* call("GET", "/", { headers: { accept: "text/html" } })
      assert.strictEqual(page.status, 303)
      assert.strictEqual(page.headers.get("location"), "/login")
      // The form itself may not be framed, and runs no script.
      const form = yield* call("GET", "/login")
      assert.strictEqual(form.status, 200)
      assert.include(form.headers.get("content-security-policy") ?? "", "frame-ancestors 'none'")
      assert.notInclude(form.headers.get("content-security-policy") ?? "", "script-src")
      assert.strictEqual(form.headers.get("x-content-type-options"), "nosniff")

      // The hook takes the webhook secret or the API token.
      const hook = JSON.stringify({
        server_connection: { Scheme: "http", Port: 9999 },
        args: { mode: "hook", hookContext: { id: 8, type: "Scene.Update.Post", input: { id: "8" } } }
      })
      for (const credential of [secret, token]) {
        const posted = yield* call("POST", "/hooks/stash", {
          headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
          body: hook
        })
        assert.strictEqual(posted.status, 202, posted.text)
      }
      const unsigned = yield* call("POST", "/hooks/stash", {
        headers: { "content-type": "application/json" },
        body: hook
      })
      assert.strictEqual(unsigned.status, 401)
    }))

  it.effect("logs in with the token: an HttpOnly, SameSite=Strict cookie; changes need the same origin or CSRF", () =>
    Effect.gen(function*() {
      const call = yield* client(token)
      const form = { "content-type": "application/x-www-form-urlencoded" }
      assert.strictEqual((yield* call("GET", "/login")).status, 200)
      const wrong = yield* call("POST", "/login", { headers: form, body: "token=guess" })
      assert.strictEqual(wrong.status, 401)
      assert.isNull(wrong.headers.get("set-cookie"))
      const ok = yield* call("POST", "/login", { headers: form, body: `token=${token}` })
      assert.strictEqual(ok.status, 303)
      const setCookie = ok.headers.get("set-cookie") ?? ""
      assert.match(setCookie, /^plexsync_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/)
      assert.notInclude(setCookie, token)
      const cookie = { cookie: setCookie.split(";")[0]! }

      assert.strictEqual((yield* call("GET", "/api/v1/status", { headers: cookie })).status, 200)
      assert.strictEqual((yield* call("GET", "/", { headers: cookie })).status, 200)
      const forged = yield* call("POST", "/api/v1/scenes/7/sync", { headers: cookie })
      assert.strictEqual(forged.status, 403)
      assert.strictEqual(forged.json.error, "CsrfRefused")
      const cross = yield* call("POST", "/api/v1/scenes/7/sync", {
        headers: { ...cookie, origin: "http://attacker.example" }
      })
      assert.strictEqual(cross.status, 403)
      assert.strictEqual((yield* call("POST", "/api/v1/scenes/7/sync", { headers: { ...cookie, origin } })).status, 202)
      const tampered = { cookie: cookie.cookie.replace(/.$/, (c) => (c === "A" ? "B" : "A")) }
      assert.strictEqual((yield* call("GET", "/api/v1/status", { headers: tampered })).status, 401)
      const json = yield* call("POST", "/login", { body: { token } })
      assert.strictEqual(json.status, 200)

      // A page of the UI carries the session's CSRF token, for its script to send with each change.
      const dlqPage = yield* call("GET", "/dlq", { headers: cookie })
      assert.strictEqual(dlqPage.status, 200)
      assert.include(dlqPage.headers.get("content-security-policy") ?? "", "script-src 'self'")
      const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(dlqPage.text)?.[1]
      assert.isDefined(csrf)
      const withCsrf = yield* call("POST", "/api/v1/scenes/7/sync", { headers: { ...cookie, "x-csrf-token": csrf! } })
      assert.strictEqual(withCsrf.status, 202, withCsrf.text)
      const otherSession = yield* call("POST", "/api/v1/scenes/7/sync", {
        headers: { ...tampered, "x-csrf-token": csrf! }
      })
      assert.strictEqual(otherSession.status, 401)
      assert.notInclude((yield* call("GET", "/dlq", { headers: bearer })).text, "csrf-token")
    }))

  it.effect(
    "logging out ends the session for good, also across a restart: a copy of the cookie opens nothing",
    () =>
      Effect.gen(function*() {
        const call = yield* client(token)
        const login = (yield* call("POST", "/login", { body: { token } })).headers.get("set-cookie") ?? ""
        const cookie = { cookie: login.split(";")[0]! }
        const other = {
          cookie: ((yield* call("POST", "/login", { body: { token } })).headers.get("set-cookie") ?? "").split(";")[0]!
        }
        assert.strictEqual((yield* call("GET", "/api/v1/status", { headers: cookie })).status, 200)
        const out = yield* call("POST", "/logout", { headers: { ...cookie, origin } })
        assert.strictEqual(out.status, 303)
        assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/)
        assert.strictEqual((yield* call("GET", "/api/v1/status", { headers: cookie })).status, 401)
        assert.strictEqual((yield* call("GET", "/api/v1/status", { headers: other })).status, 200, "another session")
        // The scheduler started again on the same database still refuses it.
        const restarted = yield* client(token)
        assert.strictEqual((yield* restarted("GET", "/api/v1/status", { headers: cookie })).status, 401)
        assert.strictEqual((yield* restarted("GET", "/api/v1/status", { headers: other })).status, 200)
        // Logging out again with the ended session (another tab): back to the login page, the cookie cleared.
        const again = yield* call("POST", "/logout", { headers: { ...cookie, origin, accept: "text/html" } })
        assert.strictEqual(again.status, 303)
        assert.strictEqual(again.headers.get("location"), "/login")
        assert.match(again.headers.get("set-cookie") ?? "", /Max-Age=0/)
        // However many logouts follow, the ended session stays ended.
        for (let i = 0; i < 1_001; i++) {
          const next = (yield* call("POST", "/login", { body: { token } })).headers.get("set-cookie") ?? ""
          assert.strictEqual(
            (yield* call("POST", "/logout", { headers: { cookie: next.split(";")[0]!, origin } })).status,
            303
          )
        }
        assert.strictEqual((yield* call("GET", "/api/v1/status", { headers: cookie })).status, 401)
        assert.strictEqual((yield* (yield* client(token))("GET", "/api/v1/status", { headers: cookie })).status, 401)
      }),
    60_000
  )

  it.effect("a token that is not ASCII works as a bearer token (sent as UTF-8 bytes, as clients send it)", () =>
    Effect.gen(function*() {
      const unicode = "tökén-123456"
      const call = yield* client(unicode)
      const asSent = Buffer.from(`Bearer ${unicode}`, "utf8").toString("latin1")
      assert.strictEqual((yield* call("GET", "/api/v1/status", { headers: { authorization: asSent } })).status, 200)
      const wrong = Buffer.from("Bearer tökén-654321", "utf8").toString("latin1")
      assert.strictEqual((yield* call("GET", "/api/v1/status", { headers: { authorization: wrong } })).status, 401)
    }))

  it.effect("ten wrong tokens in a minute make the next login wait (429 with Retry-After), even with the right one", () =>
    Effect.gen(function*() {
      const call = yield* client(token)
      for (let i = 0; i < 10; i++) {
        assert.strictEqual((yield* call("POST", "/login", { body: { token: `guess-${i}` } })).status, 401)
      }
      const blocked = yield* call("POST", "/login", { body: { token } })
      assert.strictEqual(blocked.status, 429)
      assert.strictEqual(blocked.json.error, "TooManyRequests")
      assert.isAtLeast(Number(blocked.headers.get("retry-after")), 1)
      assert.isNull(blocked.headers.get("set-cookie"))
      // The bearer token is not a login: the API still answers it.
      assert.strictEqual((yield* call("GET", "/api/v1/status", { headers: bearer })).status, 200)
    }))

  it.effect("serves the UI's pages and assets; a filter it cannot read is left out, never echoed as markup", () =>
    Effect.gen(function*() {
      const call = yield* client(null)
      for (const path of ["/", "/queue", "/dlq", "/outages", "/runs", "/scenes"]) {
        const page = yield* call("GET", path)
        assert.strictEqual(page.status, 200, `${path}: ${page.text}`)
        assert.match(page.headers.get("content-type") ?? "", /^text\/html/)
        assert.include(page.text, `<script src="/ui.js" defer></script>`)
        assert.notInclude(page.text, "csrf-token", "no token, no session")
      }
      const odd = yield* call("GET", "/dlq?error=%3Cscript%3E&window=soon&scene=x1")
      assert.strictEqual(odd.status, 200)
      assert.notInclude(odd.text, "<script>")
      assert.include(odd.text, `<option value="" selected>every error</option>`)
      assert.include(odd.text, `<option value="" selected>any time</option>`)
      const lookup = yield* call("GET", "/scenes?id=%22%3E%3Cscript%3E")
      assert.include(lookup.text, `value="&quot;&gt;&lt;script&gt;"`)
      const js = yield* call("GET", "/ui.js")
      assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/)
      assert.match((yield* call("GET", "/ui.css")).headers.get("content-type") ?? "", /^text\/css/)
    }))

  it.effect("lists every reconciliation (not dry runs) next to the recoveries, newest first", () =>
    Effect.gen(function*() {
      const call = yield* client(null)
      for (const body of [{ scope: "all" }, { scope: "7d" }, { scope: "24h", dryRun: true }]) {
        const ran = yield* call("POST", "/api/v1/reconcile", { body })
        assert.strictEqual(ran.status, 200, ran.text)
      }
      const runs = yield* call("GET", "/api/v1/runs")
      assert.strictEqual(runs.status, 200, runs.text)
      const reconciliations: ReadonlyArray<{ scope: string; id: number; scenesChecked: number; startedAt: string }> =
        runs.json.reconciliations
      assert.deepStrictEqual(reconciliations.map((r) => r.scope), ["7d", "all"])
      assert.isAbove(reconciliations[0]!.id, reconciliations[1]!.id)
      assert.strictEqual(reconciliations[1]!.scenesChecked, 2)
      assert.isFalse(Number.isNaN(Date.parse(reconciliations[0]!.startedAt)))
      assert.strictEqual(runs.json.lastReconcile.scope, "7d")
      assert.isArray(runs.json.recoveries)
      assert.deepStrictEqual((yield* call("GET", "/api/v1/runs?limit=1")).json.reconciliations.length, 1)
    }))
})
