/**
 * The live `PlexEvents`: Plex's Server-Sent Events stream (`GET /:/eventsource/notifications`), read for as long as
 * the layer lives and reconnected with backoff. The stream only speeds up jobs waiting for a scan: a server without
 * it (404), a refused connection or Plex being down is never an error, never counts toward Plex's breaker, and is
 * logged once per change of state.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { LibraryChange, PlexEventsService, PlexEventsStatus } from "@plexsync/domain/PlexEvents"
import { decodeEvent, makeEventReader, PlexEvents } from "@plexsync/domain/PlexEvents"
import type { Settings } from "@plexsync/domain/Settings"
import type { StoreError } from "@plexsync/domain/StoreError"
import { Clock, Data, Duration, Effect, Layer, Option, PubSub, Redacted, Ref, Stream } from "effect"
import { clientIdentifier, product, productVersion } from "./PlexClientLive.js"
import { findErrorCode, redactUrl } from "./PlexErrorMapping.js"

export interface PlexEventsOptions {
  readonly url: string
  readonly token: Redacted.Redacted<string>
  readonly clientIdentifier: string
  /** First wait before reconnecting; doubles up to `reconnectMaxMs`. Default 1 s. */
  readonly reconnectMinMs?: number
  /** Default 60 s. */
  readonly reconnectMaxMs?: number
  /** A stream silent this long is reconnected (a connection dropped without a close). Default 5 min. */
  readonly idleMs?: number
  /** Time to the response's status line. Default 10 s. */
  readonly connectTimeoutMs?: number
  /** A scan announced as started but never as ended stops counting as in flight after this. Default 10 min. */
  readonly scanMaxMs?: number
}

class StreamUnavailable extends Data.TaggedError("StreamUnavailable")<{ readonly detail: string }> {}

/** One Server-Sent Event: its type (`message` when unnamed) and its data lines joined. */
interface SseEvent {
  readonly type: string
  readonly data: string
}

/** Splits the stream's lines into events (the SSE framing: fields, then a blank line; `:` lines are comments). */
const sseEvents = <E>(lines: Stream.Stream<string, E>): Stream.Stream<SseEvent, E> =>
  lines.pipe(
    Stream.mapAccum(
      { type: "", data: [] as Array<string> },
      (state, line): [{ type: string; data: Array<string> }, Option.Option<SseEvent>] => {
        if (line === "") {
          const event = state.data.length === 0
            ? Option.none<SseEvent>()
            : Option.some({ type: state.type === "" ? "message" : state.type, data: state.data.join("\n") })
          return [{ type: "", data: [] }, event]
        }
        if (line.startsWith(":")) return [state, Option.none()]
        const colon = line.indexOf(":")
        const field = colon < 0 ? line : line.slice(0, colon)
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "")
        if (field === "event") return [{ ...state, type: value }, Option.none()]
        if (field === "data") return [{ ...state, data: [...state.data, value] }, Option.none()]
        return [state, Option.none()]
      }
    ),
    Stream.filterMap((event) => event)
  )

export const make = (options: PlexEventsOptions) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const base = options.url.trim().replace(/\/+$/, "")
    const shown = redactUrl(base)
    const minMs = options.reconnectMinMs ?? 1_000
    const maxMs = options.reconnectMaxMs ?? 60_000
    const idleMs = options.idleMs ?? 300_000
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    const scanMaxMs = options.scanMaxMs ?? 600_000

    const hub = yield* PubSub.unbounded<LibraryChange>()
    const status = yield* Ref.make<PlexEventsStatus>({
      connected: false,
      detail: "not connected yet",
      lastEventAt: null,
      connectedSince: null,
      reconnects: 0
    })
    /** Whether a connection was ever answered: each later one is a reconnection. */
    let answeredBefore = false
    /** Scans in flight: library → activity → Clock ms it started. */
    const scans = new Map<string, Map<string, number>>()

    const request = HttpClientRequest.get(`${base}/:/eventsource/notifications`).pipe(
      HttpClientRequest.setHeaders({
        Accept: "text/event-stream",
        "X-Plex-Token": Redacted.value(options.token),
        "X-Plex-Client-Identifier": options.clientIdentifier,
        "X-Plex-Product": product,
        "X-Plex-Version": productVersion
      })
    )

    const track = (change: LibraryChange, now: number) => {
      if (change.sectionKey === null || change._tag === "ItemAdded") return
      const running = scans.get(change.sectionKey) ?? new Map<string, number>()
      if (change._tag === "ScanStarted") running.set(change.activity, now)
      else if (change.activity === "" || !running.delete(change.activity)) running.clear()
      if (running.size === 0) scans.delete(change.sectionKey)
      else scans.set(change.sectionKey, running)
    }

    /** One connection, until the stream ends, goes silent or fails. True once the server answered 200. */
    const connectOnce = (connected: Ref.Ref<boolean>, announce: boolean) =>
      Effect.gen(function*() {
        const response = yield* http.execute(request).pipe(
          Effect.timeoutFail({
            duration: Duration.millis(connectTimeoutMs),
            onTimeout: () => new StreamUnavailable({ detail: `no answer within ${connectTimeoutMs} ms` })
          }),
          Effect.catchTags({
            RequestError: (error) =>
              new StreamUnavailable({ detail: `cannot connect (${findErrorCode(error.cause) ?? error.reason})` }),
            ResponseError: (error) => new StreamUnavailable({ detail: `the answer broke (${error.reason})` })
          })
        )
        if (response.status !== 200) {
          return yield* new StreamUnavailable({
            detail: response.status === 404
              ? "this Plex serves no event stream (404)"
              : `Plex answered ${response.status}`
          })
        }
        yield* Ref.set(connected, true)
        const answeredAt = yield* Clock.currentTimeMillis
        const before = yield* Ref.getAndUpdate(status, (s) => ({
          connected: true,
          detail: null,
          lastEventAt: null,
          connectedSince: answeredAt,
          reconnects: s.reconnects + (answeredBefore ? 1 : 0)
        }))
        answeredBefore = true
        const listening = `Listening to Plex's events at ${shown}`
        yield* announce ? Effect.logInfo(listening) : Effect.logDebug(listening)
        // Scans that were in flight when the stream dropped may have ended unseen: their libraries changed.
        for (const section of before.connected ? [] : [...scans.keys()]) {
          yield* PubSub.publish(hub, { _tag: "ScanEnded", sectionKey: section, activity: "" })
        }
        scans.clear()
        const read = makeEventReader()
        yield* response.stream.pipe(
          Stream.decodeText(),
          Stream.splitLines,
          sseEvents,
          Stream.timeout(Duration.millis(idleMs)),
          Stream.runForEach((event) =>
            Effect.gen(function*() {
              const now = yield* Clock.currentTimeMillis
              yield* Ref.update(status, (s) => ({ ...s, lastEventAt: now }))
              for (const change of read(decodeEvent(event.type, event.data))) {
                track(change, now)
                yield* PubSub.publish(hub, change)
              }
            })
          ),
          Effect.catchAll((error) => new StreamUnavailable({ detail: `the stream broke (${error._tag})` }))
        )
        return yield* new StreamUnavailable({ detail: "the stream ended" })
      }).pipe(Effect.scoped)

    /** Connects, and reconnects after each end with a backoff that starts over after a connection that worked. */
    const run = Effect.gen(function*() {
      let waitMs = minMs
      let lastDetail: string | null = null
      /** After a stream that worked and ended, the reconnection is not announced. */
      let quiet = false
      while (true) {
        const connected = yield* Ref.make(false)
        const failure = yield* Effect.flip(connectOnce(connected, !quiet))
        quiet = false
        const wasConnected = yield* Ref.get(connected)
        yield* Ref.update(status, (s) => ({ ...s, connected: false, detail: failure.detail, connectedSince: null }))
        if (wasConnected) {
          // A stream that worked and ended (a restart of Plex, an idle connection closed): reconnect quietly.
          yield* Effect.logDebug(`Plex's event stream ended: ${failure.detail}; reconnecting`)
          lastDetail = null
          quiet = true
        } else if (failure.detail !== lastDetail) {
          yield* Effect.logInfo(
            `Plex's event stream is not available: ${failure.detail}; reconnecting with backoff ` +
              `(jobs waiting for a scan are retried on their own schedule meanwhile)`
          )
          lastDetail = failure.detail
        }
        if (wasConnected) waitMs = minMs
        yield* Effect.sleep(Duration.millis(waitMs))
        waitMs = Math.min(maxMs, waitMs * 2)
      }
    })
    yield* Effect.forkScoped(Effect.interruptible(run))

    const scanning = (sectionKey: string) =>
      Effect.gen(function*() {
        if (!(yield* Ref.get(status)).connected) return false
        const now = yield* Clock.currentTimeMillis
        const running = scans.get(sectionKey)
        return running !== undefined && [...running.values()].some((startedAt) => now - startedAt < scanMaxMs)
      })

    return PlexEvents.of(
      {
        changes: Stream.fromPubSub(hub),
        scanning,
        status: Ref.get(status)
      } satisfies PlexEventsService
    )
  })

export const layer = (options: PlexEventsOptions): Layer.Layer<PlexEvents, never, HttpClient.HttpClient> =>
  Layer.scoped(PlexEvents, make(options))

/** `PlexEvents` as the same device as the Plex client (its identifier read from `Settings`). */
export const layerWithSettings = (
  options: Omit<PlexEventsOptions, "clientIdentifier">
): Layer.Layer<PlexEvents, StoreError, HttpClient.HttpClient | Settings> =>
  Layer.scoped(
    PlexEvents,
    Effect.flatMap(clientIdentifier, (identifier) => make({ ...options, clientIdentifier: identifier }))
  )
