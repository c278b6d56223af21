/**
 * Fault switches of the fake Plex: faults injected for some requests (by method and path, a number of times), taken
 * by each request as it arrives; the server answers for them (see `FakePlex.ts`).
 */
import type { Effect } from "effect"
import type { ServerResponse } from "node:http"
import type { Reply } from "./FakePlexRender.js"
import { forbiddenHtml, maintenanceXml, unauthorizedHtml } from "./FakePlexRender.js"

export type FakePlexFault =
  /** 401 with Plex's HTML page, whatever token was sent. */
  | { readonly _tag: "Unauthorized" }
  /** 403 (HTML). */
  | { readonly _tag: "Forbidden" }
  /** 503 with Plex's XML maintenance body. */
  | { readonly _tag: "Maintenance" }
  /** Any status with a body (default: an HTML page). */
  | {
    readonly _tag: "Status"
    readonly status: number
    readonly body?: string
    readonly contentType?: string
  }
  /** The connection is destroyed before any response; nothing is applied. */
  | { readonly _tag: "ResetBeforeResponse" }
  /** The request is handled (a write is applied), the status line and half the body are sent, then reset. */
  | { readonly _tag: "ResetMidBody" }
  /** No answer at all until the server closes; nothing is applied. */
  | { readonly _tag: "Stall" }
  /** Delays the request (real time), then handles it normally. */
  | { readonly _tag: "Latency"; readonly ms: number }
  /**
   * 200 with a JSON body of `bytes` bytes, streamed in 64 KiB pieces (nothing is applied); with `Content-Length`
   * unless `declareLength` is false (then chunked, so only counting what arrives finds out).
   */
  | { readonly _tag: "HugeBody"; readonly bytes: number; readonly declareLength?: boolean }
  /**
   * A server whose latency rises with load: with `n` requests in flight (this one included), each waits
   * `baseMs + perExtraMs × max(0, n − capacity)` (real time); above `overloadAt` in flight it answers 503 at once.
   */
  | {
    readonly _tag: "LoadLatency"
    readonly baseMs: number
    readonly capacity: number
    readonly perExtraMs: number
    readonly overloadAt?: number
  }

export interface FakePlexFaultOptions {
  /** How many matching requests it affects; unlimited when absent. */
  readonly times?: number
  readonly method?: string
  /** Exact path, or a pattern tested against the path. */
  readonly path?: string | RegExp
}

export interface FakePlexFaults {
  readonly inject: (fault: FakePlexFault, options?: FakePlexFaultOptions) => void
  readonly clear: () => void
  /** Stops listening (and drops open connections): clients get `ECONNREFUSED`. */
  readonly refuseConnections: Effect.Effect<void>
  /** Listens again on the same port. */
  readonly acceptConnections: Effect.Effect<void>
  readonly isListening: () => boolean
}

interface ActiveFault {
  readonly fault: FakePlexFault
  readonly options: FakePlexFaultOptions
  remaining: number
}

/** The faults injected and not used up yet. */
export class FaultSchedule {
  readonly active: Array<ActiveFault> = []

  inject(fault: FakePlexFault, options: FakePlexFaultOptions = {}): void {
    this.active.push({ fault, options, remaining: options.times ?? Number.POSITIVE_INFINITY })
  }

  clear(): void {
    this.active.length = 0
  }

  /** The faults for a request: its latency (all matching `Latency` faults add up) and the first other fault. */
  take(method: string, path: string, inFlight = 1): { latencyMs: number; fault: FakePlexFault | undefined } {
    let latencyMs = 0
    let fault: FakePlexFault | undefined
    for (const active of [...this.active]) {
      const { options } = active
      if (options.method !== undefined && options.method.toUpperCase() !== method) continue
      if (options.path !== undefined) {
        const matches = typeof options.path === "string" ? options.path === path : options.path.test(path)
        if (!matches) continue
      }
      if (active.fault._tag === "Latency") {
        latencyMs += active.fault.ms
      } else if (active.fault._tag === "LoadLatency") {
        const load = active.fault
        if (load.overloadAt !== undefined && inFlight > load.overloadAt) fault ??= { _tag: "Maintenance" }
        else latencyMs += load.baseMs + load.perExtraMs * Math.max(0, inFlight - load.capacity)
      } else if (fault === undefined) {
        fault = active.fault
      } else {
        continue
      }
      active.remaining -= 1
      if (active.remaining <= 0) this.active.splice(this.active.indexOf(active), 1)
    }
    return { latencyMs, fault }
  }
}

/** The faults answered with a status and a body instead of the route. */
export type AnsweringFault = Extract<
  FakePlexFault,
  { readonly _tag: "Unauthorized" | "Forbidden" | "Maintenance" | "Status" }
>

export const faultReply = (fault: AnsweringFault): Reply => {
  switch (fault._tag) {
    case "Unauthorized":
      return { status: 401, contentType: "text/html", body: unauthorizedHtml }
    case "Forbidden":
      return { status: 403, contentType: "text/html", body: forbiddenHtml }
    case "Maintenance":
      return { status: 503, contentType: "text/xml;charset=utf-8", body: maintenanceXml }
    case "Status":
      return {
        status: fault.status,
        contentType: fault.contentType ?? "text/html",
        body: fault.body ??
          `<html><head><title>${fault.status}</title></head><body><h1>${fault.status}</h1></body></html>`
      }
  }
}

/**
 * Sends `bytes` bytes of a JSON document (`{"padding":"xxx…"}`) in 64 KiB pieces, waiting for the socket to drain,
 * and stops early if the client goes away. Shared by the fake Plex and the fake Stash. Resolves with the bytes sent.
 */
export const sendHugeBody = (
  res: ServerResponse,
  options: { readonly bytes: number; readonly declareLength?: boolean; readonly contentType?: string }
): Promise<number> =>
  new Promise((resolve) => {
    const total = Math.max(16, Math.floor(options.bytes))
    res.writeHead(200, {
      "Content-Type": options.contentType ?? "application/json",
      ...(options.declareLength === false ? {} : { "Content-Length": String(total) })
    })
    const head = Buffer.from("{\"padding\":\"")
    const tail = Buffer.from("\"}")
    const piece = Buffer.alloc(64 * 1024, 120)
    let sent = 0
    const write = () => {
      while (sent < total) {
        if (res.destroyed) return resolve(sent)
        const left = total - sent
        const chunk = sent === 0
          ? Buffer.concat([head, piece]).subarray(0, Math.min(left, head.length + piece.length))
          : left <= tail.length + piece.length
          ? Buffer.concat([piece.subarray(0, Math.max(0, left - tail.length)), tail]).subarray(0, left)
          : piece
        sent += chunk.length
        if (!res.write(chunk)) return res.once("drain", write)
      }
      res.end(() => resolve(sent))
    }
    res.on("close", () => resolve(sent))
    write()
  })
