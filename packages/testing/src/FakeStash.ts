import { Effect } from "effect"
import type { Scope } from "effect"
import type { DocumentNode, ExecutionResult, GraphQLSchema } from "graphql"
import { buildSchema, executeSync, GraphQLError, parse, validate } from "graphql"
import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { sendHugeBody } from "./FakePlexFaults.js"
import type { ResolverContext } from "./FakeStashResolvers.js"
import { rootValue } from "./FakeStashResolvers.js"
import type { FakeStashSchemaVersion } from "./FakeStashSchema.js"
import { fakeStashSdl } from "./FakeStashSchema.js"
import type { FakeStashClockOptions } from "./FakeStashState.js"
import { FakeStashState } from "./FakeStashState.js"
import { holdPort, releasePort } from "./Ports.js"

/**
 * A fake Stash over real HTTP on loopback. GraphQL is executed by graphql-js against a schema written
 * in Stash's own terms (`FakeStashSchema.ts`), so every answer is schema-correct by construction. The
 * HTTP shell behaves like Stash's gqlgen server: 401 with an empty body and `WWW-Authenticate: FormBased`
 * for a wrong or missing key, 422 for a document that does not parse or validate, 400 for a body that is
 * not JSON, 200 with `errors` when a resolver fails.
 */

export interface FakeStashOptions extends FakeStashClockOptions {
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0: an ephemeral port. */
  readonly port?: number
  /** The configured API key. Without one, any request carrying a key is refused (as Stash does). */
  readonly apiKey?: string
  /** `legacy` serves a pre-v0.27 Scene type (`movies` only, no `groups`). */
  readonly schemaVersion?: FakeStashSchemaVersion
}

/** Fault switches: set a field to turn a fault on, `clear()` to turn them all off. */
export class FakeStashFaults {
  /** Answer every request with this HTTP status (e.g. 500, 502, 503) and a plain-text body. */
  status: number | null = null
  /** Delay every answer by this many ms. */
  latencyMs = 0
  /** Accept requests and never answer them (until the server closes). */
  stall = false
  /** Answer 401, whatever the key. */
  unauthorized = false
  /** Fail every resolver with this message: 200 with `errors`, `data` nulled per GraphQL's rules. */
  resolverError: string | null = null
  /** Send the headers and half of the body, then reset the connection. */
  resetMidBody = false
  /** Answer every request 200 with a JSON body this large (see `FakePlexFaults.sendHugeBody`). */
  hugeBody: { readonly bytes: number; readonly declareLength?: boolean } | null = null

  clear(): void {
    this.status = null
    this.latencyMs = 0
    this.stall = false
    this.unauthorized = false
    this.resolverError = null
    this.resetMidBody = false
    this.hugeBody = null
  }
}

export interface FakeStashRequest {
  readonly method: string
  readonly path: string
  /** For GraphQL requests: the operation name sent (or null). */
  readonly operationName: string | null
  readonly query: string | null
  readonly variables: Record<string, unknown>
  /** How the request authenticated; never the key itself. */
  readonly auth: "none" | "valid" | "wrong"
  readonly status: number
}

const schemas = new Map<FakeStashSchemaVersion, GraphQLSchema>()

/** The fake's executable schema (built once per version). */
export const fakeStashSchema = (version: FakeStashSchemaVersion = "current"): GraphQLSchema => {
  let schema = schemas.get(version)
  if (schema === undefined) {
    schema = buildSchema(fakeStashSdl(version))
    schemas.set(version, schema)
  }
  return schema
}

const readBody = (request: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string | Uint8Array
}

const json = (status: number, value: unknown): Answer => ({
  status,
  headers: { "content-type": "application/json", "cache-control": "no-store" },
  body: JSON.stringify(value)
})

const requestError = (status: number, message: string, code?: string): Answer =>
  json(status, {
    errors: [{ message, ...(code === undefined ? {} : { extensions: { code } }) }],
    data: null
  })

/** The server behind a fake Stash. Methods return Promises; `start` wraps it for Effect code. */
export class FakeStashServer {
  readonly state: FakeStashState
  readonly faults = new FakeStashFaults()
  readonly requests: Array<FakeStashRequest> = []
  /**
   * Called just before a GraphQL operation executes, with its name: lets a test change the library
   * between two requests of one client call (a scene deleted mid-batch).
   */
  beforeExecute: ((operationName: string | null) => void) | null = null
  private readonly schema: GraphQLSchema
  private server: Http.Server
  private readonly sockets = new Set<Socket>()
  private portNumber = 0

  private constructor(private readonly options: FakeStashOptions) {
    this.state = new FakeStashState(options)
    this.schema = fakeStashSchema(options.schemaVersion)
    this.server = this.makeServer()
  }

  static async start(options: FakeStashOptions = {}): Promise<FakeStashServer> {
    const fake = new FakeStashServer(options)
    await fake.listen(options.port ?? 0)
    return fake
  }

  get host(): string {
    return this.options.host ?? "127.0.0.1"
  }

  get port(): number {
    return this.portNumber
  }

  /** The base URL, e.g. `http://127.0.0.1:40123` (GraphQL at `/graphql`). */
  get url(): string {
    return `http://${this.host}:${this.portNumber}`
  }

  /** How many GraphQL requests named `operationName` arrived (all of them when omitted). */
  requestCount(operationName?: string): number {
    return operationName === undefined
      ? this.requests.length
      : this.requests.filter((request) => request.operationName === operationName).length
  }

  resetRequests(): void {
    this.requests.length = 0
  }

  /** Stop listening and drop every connection: clients now get "connection refused". */
  async stopListening(): Promise<void> {
    if (!this.server.listening) return
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const socket of this.sockets) socket.destroy()
    await closed
    // Let clients in this process see their pooled keep-alive sockets close, so that their next request
    // opens a new connection (refused) rather than writing to a dead one (reset).
    await new Promise<void>((resolve) => setTimeout(resolve, 5))
  }

  /** Listen again on the same port, as a restarted Stash would. */
  async resumeListening(): Promise<void> {
    if (this.server.listening) return
    this.server = this.makeServer()
    await this.listen(this.portNumber)
  }

  async close(): Promise<void> {
    await this.stopListening()
    releasePort(this.portNumber)
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      this.server.once("error", onError)
      this.server.listen(port, this.host, () => {
        this.server.off("error", onError)
        this.portNumber = (this.server.address() as AddressInfo).port
        holdPort(this.portNumber)
        resolve()
      })
    })
  }

  private makeServer(): Http.Server {
    const server = Http.createServer((request, response) => {
      void this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) {
          response.writeHead(500, { "content-type": "text/plain" })
          response.end(`fake Stash failed: ${String(error)}`)
        } else {
          response.destroy()
        }
      })
    })
    server.on("connection", (socket) => {
      this.sockets.add(socket)
      socket.on("close", () => this.sockets.delete(socket))
    })
    return server
  }

  private authOf(request: Http.IncomingMessage, url: URL): FakeStashRequest["auth"] {
    const header = request.headers["apikey"]
    const sent = typeof header === "string" ? header : url.searchParams.get("apikey")
    if (sent === null || sent === undefined) return "none"
    return this.options.apiKey !== undefined && sent === this.options.apiKey ? "valid" : "wrong"
  }

  private async handle(request: Http.IncomingMessage, response: Http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", this.url)
    const body = await readBody(request)
    const auth = this.authOf(request, url)
    const graphqlRequest = this.graphqlRequest(request.method ?? "GET", url, body)
    const record = (status: number) =>
      this.requests.push({
        method: request.method ?? "GET",
        path: url.pathname,
        operationName: graphqlRequest?.operationName ?? null,
        query: graphqlRequest?.query ?? null,
        variables: graphqlRequest?.variables ?? {},
        auth,
        status
      })

    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs)
    if (this.faults.stall) {
      record(0)
      return // never answered; the socket is destroyed when the server stops
    }

    if (this.faults.hugeBody !== null) {
      record(200)
      await sendHugeBody(response, this.faults.hugeBody)
      return
    }

    const answer = this.answer(request, url, body, auth, graphqlRequest)
    record(answer.status)
    const bytes = typeof answer.body === "string" ? Buffer.from(answer.body, "utf8") : Buffer.from(answer.body)
    response.writeHead(answer.status, { ...answer.headers, "content-length": String(bytes.length) })
    if (this.faults.resetMidBody && bytes.length > 1) {
      response.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => request.socket.destroy())
      return
    }
    response.end(bytes)
  }

  private graphqlRequest(
    method: string,
    url: URL,
    body: string
  ): { operationName: string | null; query: string | null; variables: Record<string, unknown> } | null {
    if (url.pathname !== "/graphql") return null
    try {
      if (method === "GET") {
        const variables = url.searchParams.get("variables")
        return {
          operationName: url.searchParams.get("operationName"),
          query: url.searchParams.get("query"),
          variables: variables === null ? {} : (JSON.parse(variables) as Record<string, unknown>)
        }
      }
      const parsed = JSON.parse(body) as Record<string, unknown>
      return {
        operationName: typeof parsed.operationName === "string" ? parsed.operationName : null,
        query: typeof parsed.query === "string" ? parsed.query : null,
        variables: typeof parsed.variables === "object" && parsed.variables !== null
          ? (parsed.variables as Record<string, unknown>)
          : {}
      }
    } catch {
      return { operationName: null, query: null, variables: {} }
    }
  }

  private answer(
    request: Http.IncomingMessage,
    url: URL,
    body: string,
    auth: FakeStashRequest["auth"],
    graphqlRequest: ReturnType<FakeStashServer["graphqlRequest"]>
  ): Answer {
    const unauthorized: Answer = { status: 401, headers: { "www-authenticate": "FormBased" }, body: "" }
    if (this.faults.unauthorized) return unauthorized
    // A key that does not match is refused even where no credentials are configured.
    if (auth === "wrong") return unauthorized
    if (this.options.apiKey !== undefined && auth === "none") return unauthorized
    if (this.faults.status !== null) {
      return {
        status: this.faults.status,
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: `${this.faults.status} ${Http.STATUS_CODES[this.faults.status] ?? "error"}`
      }
    }

    const screenshot = /^\/scene\/([^/]+)\/screenshot$/.exec(url.pathname)
    if (screenshot !== null && request.method === "GET") {
      const image = this.state.scene(screenshot[1]!)?.screenshot
      if (image === undefined || image === null) {
        return { status: 404, headers: { "content-type": "text/plain" }, body: "404 page not found\n" }
      }
      return { status: 200, headers: { "content-type": image.contentType }, body: image.bytes }
    }
    if (url.pathname !== "/graphql" || graphqlRequest === null) {
      return { status: 404, headers: { "content-type": "text/plain" }, body: "404 page not found\n" }
    }
    if (request.method === "POST") {
      const contentType = request.headers["content-type"] ?? ""
      if (!contentType.toLowerCase().startsWith("application/json")) {
        return requestError(400, "transport not supported")
      }
      try {
        JSON.parse(body)
      } catch (error) {
        return requestError(400, `json body could not be decoded: ${String(error)}`)
      }
    } else if (request.method !== "GET") {
      return requestError(405, "method not allowed")
    }
    return this.executeGraphql(graphqlRequest, request.method === "GET", `http://${request.headers.host ?? url.host}`)
  }

  private executeGraphql(
    graphqlRequest: { operationName: string | null; query: string | null; variables: Record<string, unknown> },
    viaGet: boolean,
    baseUrl: string
  ): Answer {
    if (graphqlRequest.query === null || graphqlRequest.query === "") {
      return requestError(422, "no operation provided", "GRAPHQL_VALIDATION_FAILED")
    }
    let document: DocumentNode
    try {
      document = parse(graphqlRequest.query)
    } catch (error) {
      return requestError(422, error instanceof GraphQLError ? error.message : String(error), "GRAPHQL_PARSE_FAILED")
    }
    const invalid = validate(this.schema, document)
    if (invalid.length > 0) {
      return json(422, {
        errors: invalid.map((error) => ({
          message: error.message,
          locations: error.locations ?? [],
          extensions: { code: "GRAPHQL_VALIDATION_FAILED" }
        })),
        data: null
      })
    }
    if (viaGet && document.definitions.some((d) => d.kind === "OperationDefinition" && d.operation !== "query")) {
      return requestError(406, "GET requests only allow query operations")
    }
    this.beforeExecute?.(graphqlRequest.operationName)
    const context: ResolverContext = { state: this.state, baseUrl, failWith: this.faults.resolverError }
    const result: ExecutionResult = executeSync({
      schema: this.schema,
      document,
      rootValue,
      contextValue: context,
      variableValues: graphqlRequest.variables,
      operationName: graphqlRequest.operationName
    })
    // No `data` at all: the request itself was wrong (bad variables, unknown operation) — gqlgen says 422.
    if (!("data" in result) || result.data === undefined) {
      return json(422, {
        errors: (result.errors ?? []).map((error) => ({
          message: error.message,
          extensions: { code: "GRAPHQL_VALIDATION_FAILED" }
        })),
        data: null
      })
    }
    const errors = result.errors?.map((error) => ({ message: error.message, path: error.path ?? [] }))
    return json(200, errors === undefined ? { data: result.data } : { errors, data: result.data })
  }
}

/** A running fake Stash, for Effect code: async controls are Effects. */
export interface FakeStash {
  readonly url: string
  readonly port: number
  readonly state: FakeStashState
  readonly faults: FakeStashFaults
  readonly requests: ReadonlyArray<FakeStashRequest>
  readonly requestCount: (operationName?: string) => number
  readonly resetRequests: Effect.Effect<void>
  readonly stopListening: Effect.Effect<void>
  readonly resumeListening: Effect.Effect<void>
  readonly server: FakeStashServer
}

/** Start a fake Stash for the life of the scope. */
export const start = (options: FakeStashOptions = {}): Effect.Effect<FakeStash, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => FakeStashServer.start(options)),
    (server) => Effect.promise(() => server.close())
  ).pipe(
    Effect.map((server): FakeStash => ({
      get url() {
        return server.url
      },
      get port() {
        return server.port
      },
      state: server.state,
      faults: server.faults,
      requests: server.requests,
      requestCount: (operationName) => server.requestCount(operationName),
      resetRequests: Effect.sync(() => server.resetRequests()),
      stopListening: Effect.promise(() => server.stopListening()),
      resumeListening: Effect.promise(() => server.resumeListening()),
      server
    }))
  )

/** Start a fake Stash from a script; call `close()` when done. */
export const startFakeStash = (options: FakeStashOptions = {}): Promise<FakeStashServer> =>
  FakeStashServer.start(options)
