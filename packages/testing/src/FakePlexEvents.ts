/**
 * The fake Plex's event stream (`GET /:/eventsource/notifications`, Server-Sent Events): each scan is announced as
 * Plex does — an `activity` (`library.update.section`) started, then, after the library's scan delay, a `timeline`
 * entry per new item (state 0 created, then 5 done) and the activity ended. While anyone listens, a scan's files
 * appear when its delay has passed in real time (a timer), whatever clock the library reads.
 */
import { randomUUID } from "node:crypto"
import type * as http from "node:http"
import type { FakePlexItem, FakePlexLibrary } from "./FakePlexState.js"

export interface FakePlexEventsApi {
  /** Open event streams. */
  readonly listeners: () => number
  /** Drops every open stream (as a Plex restart or a network cut does). */
  readonly drop: () => void
  /** Sends one raw event to every listener. */
  readonly emit: (type: string, data: unknown) => void
  /** Scans announced so far (started, in order). */
  readonly scansAnnounced: () => number
}

const timelineType = 1

export class FakePlexEventHub {
  readonly listeners = new Set<http.ServerResponse>()
  readonly timers = new Set<ReturnType<typeof setTimeout>>()
  announced = 0

  constructor(readonly library: FakePlexLibrary) {}

  subscribe(res: http.ServerResponse): void {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Plex-Protocol": "1.0" })
    res.write(": connected\n\n")
    this.listeners.add(res)
    res.on("close", () => this.listeners.delete(res))
  }

  emit(type: string, data: unknown): void {
    const text = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`
    for (const res of this.listeners) res.write(text)
  }

  container(type: string, key: string, entries: ReadonlyArray<unknown>) {
    return { NotificationContainer: { type, size: entries.length, [key]: entries } }
  }

  activity(event: "started" | "ended", uuid: string, sectionKey: string, title: string): void {
    this.emit(
      "activity",
      this.container("activity", "ActivityNotification", [{
        event,
        uuid,
        Activity: {
          uuid,
          type: "library.update.section",
          cancellable: false,
          userID: 1,
          title: `Scanning ${title}`,
          subtitle: "",
          progress: event === "ended" ? 100 : 0,
          Context: { librarySectionID: sectionKey }
        }
      }])
    )
  }

  timeline(item: FakePlexItem, state: number): void {
    this.emit(
      "timeline",
      this.container("timeline", "TimelineEntry", [{
        identifier: "com.plexapp.plugins.library",
        sectionID: item.sectionKey,
        itemID: item.ratingKey,
        type: timelineType,
        title: item.title,
        state,
        updatedAt: Math.floor(Date.now() / 1000)
      }])
    )
  }

  /** A scan was asked for: announced, and its files brought in after the scan delay, while anyone listens. */
  scanned(sectionKey: string, path: string | null): void {
    if (this.listeners.size === 0) return
    const uuid = randomUUID()
    const title = this.library.sectionsByKey.get(sectionKey)?.title ?? sectionKey
    this.announced++
    this.activity("started", uuid, sectionKey, title)
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      for (const item of this.library.bringIn(sectionKey, path)) {
        this.timeline(item, 0)
        this.timeline(item, 5)
      }
      this.activity("ended", uuid, sectionKey, title)
    }, this.library.scanDelayMs)
    this.timers.add(timer)
  }

  drop(): void {
    for (const res of this.listeners) res.destroy()
    this.listeners.clear()
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.drop()
  }

  api(): FakePlexEventsApi {
    return {
      listeners: () => this.listeners.size,
      drop: () => this.drop(),
      emit: (type, data) => this.emit(type, data),
      scansAnnounced: () => this.announced
    }
  }
}
