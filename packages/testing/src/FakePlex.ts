/**
 * A stateful fake Plex Media Server over real HTTP on 127.0.0.1, for contract tests, reliability tests
 * and the demo. It follows the wire facts the client relies on (see the reference notes on Plex):
 *
 * - XML by default, JSON only with `Accept: application/json`; error bodies stay HTML/XML regardless;
 * - the token as `X-Plex-Token` header or query param; `/identity` needs none; a wrong token is a 401 with
 *   Plex's HTML page; a shared (non-admin) token may read but gets 403 on writes;
 * - sections with `Location` paths; `GET /library/sections/{sid}/all?type=1[&file=][&title=]` with
 *   `X-Plex-Container-Start/Size` (header or query). `file=` returns every item in the file's folder —
 *   candidates, as on real servers — so a client must verify `Part.file` itself. Listings are partial
 *   objects like Plex's (at most 2 genres and 3 actors, no `Field` locks); `/library/metadata/{id}` is full;
 * - edits as python-plexapi sends them (`<field>.value`, `<field>.locked`, `<tag>[i].tag.tag` replacing
 *   the list, `<tag>[].tag.tag-=a,b` removing, brackets raw or `%5B%5D`), on the section path or on
 *   `PUT /library/metadata/{ids}`; `/:/rate` (-1 clears); poster upload as raw bytes; partial scans that
 *   make a pending file appear after a delay measured on Effect's `Clock` (so `TestClock` drives it);
 *   `PUT /library/metadata/{id}/refresh` reverts unlocked fields to what the "agent" knows, as real
 *   refreshes can.
 *
 * Deliberate differences from a real server: a section edit must name `id` (real Plex would edit every
 * item of the type), and nothing is ever fetched from a poster `url=`.
 *
 * Tests get: a `state` API (sections, items, pending files, item state), fault switches, a `ledger` of
 * every mutating request and a request counter.
 */
import { Clock, Effect, Runtime } from "effect"
import type { Scope } from "effect"
import * as http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import type { FakePlexEventsApi } from "./FakePlexEvents.js"
import { FakePlexEventHub } from "./FakePlexEvents.js"
import type { FakePlexFault, FakePlexFaults } from "./FakePlexFaults.js"
import { faultReply, FaultSchedule, sendHugeBody } from "./FakePlexFaults.js"
import type { FakePlexSentJson, Reply } from "./FakePlexRender.js"
import { errorReply, HttpFailure } from "./FakePlexRender.js"
import { FakePlexRoutes, isWrite, ratingKeyOf } from "./FakePlexRoutes.js"
import type { FakePlexState } from "./FakePlexState.js"
import { FakePlexLibrary } from "./FakePlexState.js"
import { holdPort, releasePort } from "./Ports.js"

export type { FakePlexEventsApi } from "./FakePlexEvents.js"
export type { FakePlexFault, FakePlexFaultOptions, FakePlexFaults } from "./FakePlexFaults.js"
export type { FakePlexJsonRoute, FakePlexSentJson } from "./FakePlexRender.js"
export type {
  FakePlexItem,
  FakePlexItemInit,
  FakePlexPendingFile,
  FakePlexPoster,
  FakePlexScan,
  FakePlexSection,
  FakePlexState
} from "./FakePlexState.js"

// ---------------------------------------------------------------------------------------------------------
// Server-side records

/** One mutating request as the fake received it. */
export interface FakePlexWrite {
  readonly seq: number
  readonly method: string
  /** Path without the query string. */
  readonly path: string
  /** The item(s) it targets (`id=`, `key=`, or the path), comma-joined; null when none (scans). */
  readonly ratingKey: string | null
  /** Decoded query params (last value wins), the token removed. */
  readonly params: Readonly<Record<string, string>>
  /** The raw query string with the token redacted. */
  readonly query: string
  readonly bodyBytes: number
  /** Clock time, epoch ms. */
  readonly at: number
  readonly status: number
  /** Whether the change reached the fake's state (false when a fault or an error answered instead). */
  readonly applied: boolean
}

export interface FakePlexRequest {
  readonly seq: number
  readonly method: string
  readonly path: string
  readonly at: number
  /** The `Accept` and `X-Plex-*` headers sent; the token's value is replaced by `<redacted>`. */
  readonly headers: Readonly<Record<string, string>>
}

export interface FakePlexLedger {
  readonly entries: () => ReadonlyArray<FakePlexWrite>
  readonly forItem: (ratingKey: string) => ReadonlyArray<FakePlexWrite>
  readonly clear: () => void
}

export interface FakePlexRequests {
  readonly count: () => number
  readonly log: () => ReadonlyArray<FakePlexRequest>
  readonly reset: () => void
}

export interface FakePlexServer {
  readonly url: string
  readonly port: number
  /** The admin token the fake accepts. */
  readonly token: string
  readonly sharedToken: string
  readonly machineIdentifier: () => string
  readonly close: Effect.Effect<void>
  readonly state: FakePlexState
  readonly faults: FakePlexFaults
  readonly ledger: FakePlexLedger
  readonly requests: FakePlexRequests
  /** Every JSON body sent (newest last, at most 2,000). */
  readonly sentJson: () => ReadonlyArray<FakePlexSentJson>
  /** The event stream (`/:/eventsource/notifications`): listeners, and a switch that drops them. */
  readonly events: FakePlexEventsApi
}

export interface FakePlexOptions {
  readonly token?: string
  /** A shared user's token: reads succeed, writes get 403. */
  readonly sharedToken?: string
  readonly machineIdentifier?: string
  readonly version?: string
  /** Time from a scan to the scanned file appearing (Clock ms). Default 2,000. */
  readonly scanDelayMs?: number
  /** 0 (default) picks a free port. */
  readonly port?: number
  /** Returns at most this many items per page, whatever size was asked (servers may cap). */
  readonly pageSizeCap?: number
  /** Ignores `X-Plex-Container-Start/Size` and returns every item (servers may ignore paging). */
  readonly ignorePaging?: boolean
}

// ---------------------------------------------------------------------------------------------------------
// Server

/** Starts the fake on 127.0.0.1; it is closed with the scope. */
export const start = (options: FakePlexOptions = {}): Effect.Effect<FakePlexServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>()
      const fake = new Fake(options, () => Runtime.runSync(runtime)(Clock.currentTimeMillis))
      yield* Effect.promise(() => fake.listen(options.port ?? 0))
      return fake
    }),
    (fake) => Effect.promise(() => fake.shutdown())
  ).pipe(Effect.map((fake) => fake.handle()))

/** For scripts: starts the fake outside any scope; `closePromise()` stops it. */
export const startFakePlex = async (
  options: FakePlexOptions = {}
): Promise<FakePlexServer & { readonly closePromise: () => Promise<void> }> => {
  const fake = new Fake(options, () => Date.now())
  await fake.listen(options.port ?? 0)
  return { ...fake.handle(), closePromise: () => fake.shutdown() }
}

const eventStreamPath = "/:/eventsource/notifications"

class Fake {
  readonly token: string
  readonly sharedToken: string
  readonly library: FakePlexLibrary
  readonly routes: FakePlexRoutes
  readonly faults = new FaultSchedule()
  readonly writes: Array<FakePlexWrite> = []
  readonly requestLog: Array<FakePlexRequest> = []
  readonly sockets = new Set<Socket>()
  readonly stalled = new Set<http.ServerResponse>()
  readonly server: http.Server
  readonly events: FakePlexEventHub
  /** Requests being answered now (the event streams not counted): what `LoadLatency` reads. */
  inFlight = 0

  seq = 0
  port = 0
  listening = false

  constructor(options: FakePlexOptions, readonly now: () => number) {
    this.token = options.token ?? "fake-plex-admin-token"
    this.sharedToken = options.sharedToken ?? "fake-plex-shared-token"
    this.library = new FakePlexLibrary(options, now)
    this.routes = new FakePlexRoutes(this.library, {
      token: this.token,
      sharedToken: this.sharedToken,
      version: options.version ?? "1.41.3.9314-a0bfb8370",
      pageSizeCap: options.pageSizeCap ?? Number.POSITIVE_INFINITY,
      ignorePaging: options.ignorePaging ?? false
    })
    this.events = new FakePlexEventHub(this.library)
    this.library.onScan = (sectionKey, path) => this.events.scanned(sectionKey, path)
    this.server = http.createServer((req, res) => this.onRequest(req, res))
    this.server.keepAliveTimeout = 20_000
    this.server.on("connection", (socket) => {
      this.sockets.add(socket)
      socket.on("close", () => this.sockets.delete(socket))
    })
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      this.server.once("error", onError)
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", onError)
        this.port = (this.server.address() as AddressInfo).port
        holdPort(this.port)
        this.listening = true
        resolve()
      })
    })
  }

  stopListening(): Promise<void> {
    if (!this.listening) return Promise.resolve()
    this.listening = false
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      for (const res of this.stalled) res.destroy()
      this.stalled.clear()
      this.events.drop()
      for (const socket of this.sockets) socket.destroy()
    })
  }

  async shutdown(): Promise<void> {
    this.events.close()
    await this.stopListening()
    releasePort(this.port)
  }

  handle(): FakePlexServer {
    const state: FakePlexState = this.library.api()
    const faults: FakePlexFaults = {
      inject: (fault, options = {}) => this.faults.inject(fault, options),
      clear: () => this.faults.clear(),
      refuseConnections: Effect.promise(() => this.stopListening()),
      acceptConnections: Effect.promise(() => this.listening ? Promise.resolve() : this.listen(this.port)),
      isListening: () => this.listening
    }
    const ledger: FakePlexLedger = {
      entries: () => [...this.writes],
      forItem: (ratingKey) =>
        this.writes.filter((write) => write.ratingKey !== null && write.ratingKey.split(",").includes(ratingKey)),
      clear: () => {
        this.writes.length = 0
      }
    }
    const requests: FakePlexRequests = {
      count: () => this.requestLog.length,
      log: () => [...this.requestLog],
      reset: () => {
        this.requestLog.length = 0
      }
    }
    return {
      url: `http://127.0.0.1:${this.port}`,
      port: this.port,
      token: this.token,
      sharedToken: this.sharedToken,
      machineIdentifier: () => this.library.machineIdentifier,
      close: Effect.promise(() => this.shutdown()),
      state,
      faults,
      ledger,
      requests,
      sentJson: () => [...this.routes.jsonLog],
      events: this.events.api()
    }
  }

  onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("error", () => res.destroy())
    req.on("end", () => {
      const body = Buffer.concat(chunks)
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const method = (req.method ?? "GET").toUpperCase()
      const path = url.pathname
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(req.headers)) {
        if (name !== "accept" && !name.startsWith("x-plex-")) continue
        headers[name] = name === "x-plex-token" ? "<redacted>" : String(value)
      }
      this.requestLog.push({ seq: ++this.seq, method, path, at: this.now(), headers })
      const stream = path === eventStreamPath && method === "GET"
      if (!stream) {
        this.inFlight++
        res.on("close", () => this.inFlight--)
      }
      const { fault, latencyMs } = this.faults.take(method, path, this.inFlight)
      const proceed = () => this.respond(req, res, url, method, body, fault)
      if (latencyMs > 0) setTimeout(proceed, latencyMs)
      else proceed()
    })
  }

  respond(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    method: string,
    body: Buffer,
    fault: FakePlexFault | undefined
  ): void {
    if (!this.listening || res.destroyed) {
      res.destroy()
      return
    }
    const path = url.pathname
    const write = isWrite(method, path)
    const record = (status: number, applied: boolean) => {
      if (!write) return
      const params: Record<string, string> = {}
      for (const [key, value] of url.searchParams) if (key.toLowerCase() !== "x-plex-token") params[key] = value
      this.writes.push({
        seq: this.seq,
        method,
        path,
        ratingKey: ratingKeyOf(path, url.searchParams),
        params,
        query: url.search.replace(/^\?/, "").replace(/(^|&)(X-Plex-Token=)[^&]*/gi, "$1$2<redacted>"),
        bodyBytes: body.length,
        at: this.now(),
        status,
        applied
      })
    }
    const send = (reply: Reply) => {
      res.writeHead(reply.status, {
        "Content-Type": reply.contentType,
        "Cache-Control": "no-cache",
        "X-Plex-Protocol": "1.0",
        "Content-Length": String(Buffer.byteLength(reply.body)),
        ...reply.headers
      })
      res.end(reply.body)
    }

    if (fault !== undefined) {
      switch (fault._tag) {
        case "Stall":
          record(0, false)
          this.stalled.add(res)
          res.on("close", () => this.stalled.delete(res))
          return
        case "ResetBeforeResponse":
          record(0, false)
          req.socket.destroy()
          return
        case "HugeBody":
          record(200, false)
          void sendHugeBody(res, fault)
          return
        case "Latency":
        case "LoadLatency":
        case "ResetMidBody":
          break
        default: {
          const reply = faultReply(fault)
          record(reply.status, false)
          return send(reply)
        }
      }
    }

    if (path === eventStreamPath && method === "GET") {
      const token = req.headers["x-plex-token"] ?? url.searchParams.get("X-Plex-Token")
      if (token === this.token || token === this.sharedToken) return this.events.subscribe(res)
      return send(errorReply(401))
    }

    let reply: Reply
    try {
      reply = this.routes.route(req, url, method, body)
      record(reply.status, reply.status >= 200 && reply.status < 300)
    } catch (error) {
      // An unexpected exception is a bug in the fake: answer 500 rather than crash the test process.
      const status = error instanceof HttpFailure ? error.status : 500
      record(status, false)
      reply = errorReply(status)
    }

    if (fault?._tag === "ResetMidBody") {
      const payload = Buffer.from(
        typeof reply.body === "string" ? reply.body : reply.body.length > 0 ? reply.body : new Uint8Array(0)
      )
      const full = payload.length >= 2 ? payload : Buffer.alloc(64, 32)
      res.writeHead(reply.status, {
        "Content-Type": reply.contentType,
        "Content-Length": String(full.length),
        ...reply.headers
      })
      res.write(full.subarray(0, Math.floor(full.length / 2)), () => {
        setTimeout(() => req.socket.destroy(), 5)
      })
      return
    }
    send(reply)
  }
}

/** A small library for the demo and for scripts: one "Other Videos" section and three scenes. */
export const seedDemoLibrary = (state: FakePlexState): void => {
  const section = state.addSection({ key: "1", title: "Adult", type: "movie", locations: ["/data/adult"] })
  state.addItem({
    sectionKey: section.key,
    file: "/data/adult/Studio A/scene-one.mp4",
    title: "scene-one"
  })
  state.addItem({
    sectionKey: section.key,
    file: "/data/adult/Studio A/scene-two.mp4",
    title: "Scene Two",
    studio: "Studio A",
    genres: ["Outdoor"],
    actors: ["Jane Doe"]
  })
  state.addItem({
    sectionKey: section.key,
    file: "/data/adult/Studio B/scene-three.mkv",
    title: "scene-three"
  })
  state.addPendingItem({ sectionKey: section.key, file: "/data/adult/Studio B/scene-four.mp4" })
}
