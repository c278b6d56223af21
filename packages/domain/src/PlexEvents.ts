import type { Effect, Stream } from "effect"
import { Context, Either, Schema } from "effect"

/**
 * What Plex's event stream (`GET /:/eventsource/notifications`) tells plexsync: a library scan started or ended,
 * an item was added. A job waiting because its file is not in Plex yet (`PlexNotFound`) need not wait out its
 * backoff once a scan of its library ended or an item appeared there (see `ScanWaits`).
 *
 * Over Server-Sent Events each event is `event: <type>` and `data: <JSON>`; the JSON is the container's entries,
 * either bare or inside `{"NotificationContainer": {…}}` (as the WebSocket sends them), one entry as an object or
 * an array. Every field is read leniently: an unknown event type, an unknown field or an entry that does not decode
 * is skipped, never an error (a newer Plex must not break the stream).
 */

// ---------------------------------------------------------------------------------------------------------
// Wire

const Key = Schema.Union(Schema.String, Schema.Number).pipe(
  Schema.transform(Schema.String, { strict: true, decode: (value) => String(value), encode: (value) => value })
)

/** One `TimelineEntry`: an item's state in a library (0 created … 5 done, 9 deleted). */
export const TimelineEntry = Schema.Struct({
  identifier: Schema.optional(Schema.String),
  sectionID: Schema.optional(Key),
  itemID: Schema.optional(Key),
  type: Schema.optional(Schema.Number),
  title: Schema.optional(Schema.String),
  state: Schema.Number
})
export type TimelineEntry = typeof TimelineEntry.Type

/** One `ActivityNotification`: a server activity (`library.update.section` is a scan) started, moved or ended. */
export const ActivityNotification = Schema.Struct({
  event: Schema.String,
  uuid: Schema.optional(Schema.String),
  Activity: Schema.Struct({
    uuid: Schema.optional(Schema.String),
    type: Schema.String,
    title: Schema.optional(Schema.String),
    subtitle: Schema.optional(Schema.String),
    Context: Schema.optional(Schema.Struct({ librarySectionID: Schema.optional(Key) }))
  })
})
export type ActivityNotification = typeof ActivityNotification.Type

/** Timeline states (Plex's numbering). */
export const TimelineState = { created: 0, done: 5, deleted: 9 } as const

/** The activity type of a library scan. */
export const scanActivityType = "library.update.section"

const libraryIdentifier = "com.plexapp.plugins.library"

const Json = Schema.parseJson()
const decodeJson = Schema.decodeUnknownEither(Json)
const decodeTimeline = Schema.decodeUnknownEither(TimelineEntry)
const decodeActivity = Schema.decodeUnknownEither(ActivityNotification)

const asRecord = (value: unknown): Record<string, unknown> | null =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : null

/** The entries under `key`, whichever way the event wraps them; the data itself when it is one entry. */
const entriesOf = (data: unknown, key: string, isEntry: (value: Record<string, unknown>) => boolean) => {
  const record = asRecord(data)
  if (record === null) return Array.isArray(data) ? data : []
  const container = asRecord(record["NotificationContainer"]) ?? record
  const entries = container[key]
  if (Array.isArray(entries)) return entries
  if (entries !== undefined) return [entries]
  return isEntry(container) ? [container] : []
}

/** One decoded event of the stream; events plexsync does not use are `Other`. */
export type PlexEvent =
  | { readonly _tag: "Timeline"; readonly entries: ReadonlyArray<TimelineEntry> }
  | { readonly _tag: "Activity"; readonly notifications: ReadonlyArray<ActivityNotification> }
  | { readonly _tag: "Other"; readonly type: string }

/** Decodes one event's type and data text; what does not decode is left out (see above). */
export const decodeEvent = (type: string, data: string): PlexEvent => {
  const parsed = decodeJson(data)
  if (Either.isLeft(parsed)) return { _tag: "Other", type }
  const kept = <A>(values: ReadonlyArray<unknown>, decode: (value: unknown) => Either.Either<A, unknown>) =>
    values.flatMap((value) => Either.match(decode(value), { onLeft: () => [], onRight: (a) => [a] }))
  switch (type) {
    case "timeline":
      return {
        _tag: "Timeline",
        entries: kept(entriesOf(parsed.right, "TimelineEntry", (r) => "state" in r), decodeTimeline)
      }
    case "activity":
      return {
        _tag: "Activity",
        notifications: kept(
          entriesOf(parsed.right, "ActivityNotification", (r) => "Activity" in r),
          decodeActivity
        )
      }
    default:
      return { _tag: "Other", type }
  }
}

// ---------------------------------------------------------------------------------------------------------
// What the events mean

/**
 * A change in a library that may have brought a missing file in. `sectionKey` is null when the event does not say
 * which library.
 */
export type LibraryChange =
  | { readonly _tag: "ScanStarted"; readonly sectionKey: string | null; readonly activity: string }
  | { readonly _tag: "ScanEnded"; readonly sectionKey: string | null; readonly activity: string }
  | { readonly _tag: "ItemAdded"; readonly sectionKey: string | null; readonly itemId: string }

/**
 * Reads the stream's events as library changes. An item counts as added when it reaches state 5 (done) after this
 * reader saw it created (state 0): a done item seen without its creation is an existing item's update (an edit,
 * plexsync's own writes included), which brings no file in. Remembers at most `maxCreated` created items.
 */
export const makeEventReader = (options: { readonly maxCreated?: number } = {}) => {
  const maxCreated = options.maxCreated ?? 10_000
  const created = new Set<string>()
  return (event: PlexEvent): ReadonlyArray<LibraryChange> => {
    switch (event._tag) {
      case "Timeline":
        return event.entries.flatMap((entry): Array<LibraryChange> => {
          if (entry.identifier !== undefined && entry.identifier !== libraryIdentifier) return []
          if (entry.itemID === undefined) return []
          const id = entry.itemID
          if (entry.state === TimelineState.created) {
            if (created.size >= maxCreated) created.delete(created.values().next().value!)
            created.add(id)
            return []
          }
          if (entry.state === TimelineState.deleted) created.delete(id)
          if (entry.state !== TimelineState.done || !created.delete(id)) return []
          return [{ _tag: "ItemAdded", sectionKey: entry.sectionID ?? null, itemId: entry.itemID }]
        })
      case "Activity":
        return event.notifications.flatMap((notification): Array<LibraryChange> => {
          if (notification.Activity.type !== scanActivityType) return []
          const sectionKey = notification.Activity.Context?.librarySectionID ?? null
          const activity = notification.Activity.uuid ?? notification.uuid ?? ""
          if (notification.event === "started") return [{ _tag: "ScanStarted", sectionKey, activity }]
          if (notification.event === "ended") return [{ _tag: "ScanEnded", sectionKey, activity }]
          return []
        })
      case "Other":
        return []
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The service

/** Whether the event stream is connected, as shown by `status`. */
export interface PlexEventsStatus {
  readonly connected: boolean
  /** Why it is not (Plex down, no event stream on this server…); null while connected. */
  readonly detail: string | null
  /** Clock ms of the last event received; null before the first. */
  readonly lastEventAt: number | null
  /** Clock ms the current connection was answered; null while disconnected. */
  readonly connectedSince: number | null
  /** Connections made after the first one (a dropped stream resumed, Plex restarted). */
  readonly reconnects: number
}

export interface PlexEventsService {
  /** The library changes from now on (each subscriber gets every change). Never fails; ends with the scope. */
  readonly changes: Stream.Stream<LibraryChange>
  /** Whether a scan of the library is in flight, as far as the stream tells (false while disconnected). */
  readonly scanning: (sectionKey: string) => Effect.Effect<boolean>
  readonly status: Effect.Effect<PlexEventsStatus>
}

/** Plex's event stream. Optional everywhere: without it, jobs waiting for a scan wait out their backoff. */
export class PlexEvents extends Context.Tag("@plexsync/domain/PlexEvents")<PlexEvents, PlexEventsService>() {}
