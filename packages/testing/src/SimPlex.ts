import type { PlexError } from "@plexsync/domain/Errors"
import { PlexAuthError, PlexPermanentError, PlexServerDown } from "@plexsync/domain/Errors"
import type { PlexClientService, PlexEdit, PlexScalarField, PlexTagField } from "@plexsync/domain/PlexClient"
import { blankPlexItem, PlexClient, PlexItem, PlexSection } from "@plexsync/domain/PlexClient"
import { Clock, Context, Effect, Layer, Option } from "effect"
import type { ScriptHandle } from "./SimScript.js"
import { makeScript } from "./SimScript.js"

/**
 * An in-memory Plex Media Server behind the `PlexClient` interface, with scripted behaviour over `Clock`
 * time (see `SimScript`). Item state follows Plex's edit semantics (`PlexEdit`): a scalar sets (null
 * clears); a tag list given with names replaces the list, and the names in `remove` are taken out; every
 * field sent is locked when `lock`. An agent refresh (`refreshFromAgent`) overwrites only unlocked fields,
 * so a test can show that locks keep a sync's values. Items can appear later: at a time, or some time
 * after a scan of their folder (the "not yet scanned" window).
 */

export type PlexOp =
  | "health"
  | "sections"
  | "findByFile"
  | "getItem"
  | "listSection"
  | "edit"
  | "rate"
  | "uploadPoster"
  | "scan"

export interface SimPlexOptions {
  readonly sections?: ReadonlyArray<PlexSection>
  readonly items?: Iterable<PlexItem>
  readonly version?: string
  readonly machineIdentifier?: string
  readonly logLimit?: number
  /**
   * The `file` filter answers every item of the file's folder (as some servers do): `findByFile` then reports them
   * as its `candidates`. Default: exact matches only.
   */
  readonly folderLevelFileFilter?: boolean
}

export interface Poster {
  readonly bytes: Uint8Array
  readonly contentType: string
  readonly uploadedAt: number
}

/** What an agent refresh would write: only the fields that are not locked change. */
export type AgentValues =
  & Partial<Record<PlexScalarField, string | null>>
  & Partial<Record<PlexTagField, ReadonlyArray<string>>>
  & { readonly thumb?: string | null }

export interface SimPlexHandle extends ScriptHandle<PlexOp, PlexError> {
  readonly setSections: (sections: ReadonlyArray<PlexSection>) => Effect.Effect<void>
  /** Adds (or replaces) an item; with `visibleAt`, Plex lists it only from that time on. */
  readonly addItem: (item: PlexItem, options?: { readonly visibleAt?: number }) => Effect.Effect<void>
  /** An item that appears `delayMs` after the first scan of a folder containing one of its files. */
  readonly addItemOnScan: (item: PlexItem, options: { readonly delayMs: number }) => Effect.Effect<void>
  readonly removeItem: (ratingKey: string) => Effect.Effect<void>
  /** The item as Plex holds it now (visible or not yet). */
  readonly item: (ratingKey: string) => Effect.Effect<Option.Option<PlexItem>>
  readonly itemCount: Effect.Effect<number>
  readonly poster: (ratingKey: string) => Effect.Effect<Option.Option<Poster>>
  /** Poster uploads received for one item. */
  readonly posterUploads: (ratingKey: string) => Effect.Effect<number>
  /** Every scan asked for, oldest first. */
  readonly scans: Effect.Effect<
    ReadonlyArray<{ readonly sectionKey: string; readonly folder: string; readonly at: number }>
  >
  /** A metadata agent refresh: writes `values` into the fields that are not locked. */
  readonly refreshFromAgent: (ratingKey: string, values: AgentValues) => Effect.Effect<void>
  /** A different server behind the same URL, for identity-change tests. */
  readonly setIdentity: (
    identity: { readonly version?: string; readonly machineIdentifier?: string }
  ) => Effect.Effect<void>
}

export class SimPlex extends Context.Tag("@plexsync/testing/SimPlex")<SimPlex, SimPlexHandle>() {}

/** A movie section at `/data`. */
export const sampleSection = (key = "1", overrides: Partial<PlexSection> = {}): PlexSection =>
  new PlexSection({ key, title: "Adult", type: "movie", locations: ["/data"], ...overrides })

/** A plausible item with one file and nothing set; `overrides` replace any field. */
export const sampleItem = (ratingKey: string | number, file: string, overrides: Partial<PlexItem> = {}): PlexItem =>
  blankPlexItem({
    ratingKey: String(ratingKey),
    sectionKey: "1",
    title: file.split("/").pop()!.replace(/\.[^.]*$/, ""),
    files: [file],
    ...overrides
  })

const tagListOf = { genre: "genres", actor: "actors", collection: "collections" } as const

const uniq = (names: ReadonlyArray<string>) => [...new Set(names)]

/** Names as the client sends them: trimmed-blank names dropped, each once. */
const sent = (names: ReadonlyArray<string>) => uniq(names.filter((name) => name.trim() !== ""))

/** Whether the client sends anything for this edit (an empty edit makes no request). */
export const editSendsAnything = (edit: PlexEdit): boolean =>
  Object.values(edit.scalars).some((value) => value !== undefined) ||
  Object.values(edit.tags).some((change) =>
    change !== undefined && (edit.lock || sent(change.set).length > 0 || sent(change.remove).length > 0)
  )

/** Applies one edit request to an item, as Plex does. */
export const applyEdit = (item: PlexItem, edit: PlexEdit): PlexItem => {
  const next: { -readonly [K in keyof PlexItem]: PlexItem[K] } = { ...item }
  const locked = new Set(item.lockedFields)
  for (const [field, value] of Object.entries(edit.scalars) as Array<[PlexScalarField, string | null | undefined]>) {
    if (value === undefined) continue
    // Plex keeps a title string; clearing it leaves it empty.
    if (field === "title") next.title = value ?? ""
    else next[field] = value
    if (edit.lock) locked.add(field)
  }
  for (const [field, change] of Object.entries(edit.tags) as Array<[PlexTagField, PlexEdit["tags"][PlexTagField]]>) {
    if (change === undefined) continue
    const key = tagListOf[field]
    // Names sent replace the list; with none sent only the removals apply (that is how a list is cleared).
    const wanted = sent(change.set)
    const base = wanted.length > 0 ? wanted : item[key]
    const removed = new Set(sent(change.remove))
    next[key] = base.filter((name) => !removed.has(name))
    if (edit.lock) locked.add(field)
  }
  next.lockedFields = [...locked]
  return new PlexItem(next)
}

interface Held {
  item: PlexItem
  /** Listed from this time on; null while it waits for a scan. */
  visibleAt: number | null
  scanDelayMs: number
}

const numericOrder = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)

export const make = (options: SimPlexOptions = {}) =>
  Effect.sync(() => {
    let sections: ReadonlyArray<PlexSection> = options.sections ?? [sampleSection()]
    let version = options.version ?? "1.41.3.9314-a0bfb8370"
    let machineIdentifier = options.machineIdentifier ?? "sim-plex-0001"
    const items = new Map<string, Held>()
    for (const item of options.items ?? []) items.set(item.ratingKey, { item, visibleAt: 0, scanDelayMs: 0 })
    const posters = new Map<string, Poster>()
    const uploads = new Map<string, number>()
    const scans: Array<{ sectionKey: string; folder: string; at: number }> = []

    const script = makeScript<PlexOp, PlexError>({
      down: (op) => new PlexServerDown({ message: `Plex refused the connection (${op})`, code: "ECONNREFUSED" }),
      unauthorized: () => new PlexAuthError({ message: "Plex answered 401: the token was refused", status: 401 })
    }, options.logLimit === undefined ? {} : { logLimit: options.logLimit })

    const visible = (held: Held, now: number) => held.visibleAt !== null && held.visibleAt <= now

    const withVisible = <A, E>(f: (now: number) => Effect.Effect<A, E>) => Effect.flatMap(Clock.currentTimeMillis, f)

    const notFound = (ratingKey: string) =>
      new PlexPermanentError({ message: `Plex answered 404: no item ${ratingKey}`, status: 404 })

    const visibleItem = (ratingKey: string) =>
      withVisible((now) => {
        const held = items.get(ratingKey)
        return held !== undefined && visible(held, now) ? Effect.succeed(held) : Effect.fail(notFound(ratingKey))
      })

    const sectionExists = (sectionKey: string) =>
      sections.some((s) => s.key === sectionKey)
        ? Effect.void
        : Effect.fail(new PlexPermanentError({ message: `Plex answered 404: no section ${sectionKey}`, status: 404 }))

    const sectionItems = (sectionKey: string, now: number) =>
      [...items.values()]
        .filter((h) => h.item.sectionKey === sectionKey && visible(h, now))
        .map((h) => h.item)
        .sort((a, b) => numericOrder(a.ratingKey, b.ratingKey))

    const client: PlexClientService = {
      health: script.request(
        "health",
        null,
        Effect.sync(() => ({ version, machineIdentifier, sections: sections.length }))
      ),
      sections: script.request("sections", null, Effect.sync(() => sections)),
      findByFile: (sectionKey, path) =>
        script.request(
          "findByFile",
          { sectionKey, path },
          Effect.zipRight(
            sectionExists(sectionKey),
            withVisible((now) => {
              const listed = sectionItems(sectionKey, now)
              const exact = listed.filter((item) => item.files.includes(path))
              if (options.folderLevelFileFilter !== true) return Effect.succeed(exact)
              const folder = path.slice(0, path.lastIndexOf("/") + 1)
              const candidates = listed.filter((item) =>
                item.files.some((f) =>
                  f.startsWith(folder) && !f.slice(folder.length).includes("/")
                )
              ).length
              return Effect.succeed(Object.assign(exact, { candidates }))
            })
          )
        ),
      getItem: (ratingKey) =>
        script.request(
          "getItem",
          ratingKey,
          withVisible((now) => {
            const held = items.get(ratingKey)
            return Effect.succeed(held !== undefined && visible(held, now) ? Option.some(held.item) : Option.none())
          })
        ),
      listSection: (sectionKey, { size, start }) =>
        script.request(
          "listSection",
          { sectionKey, start, size },
          Effect.zipRight(
            sectionExists(sectionKey),
            withVisible((now) => {
              const all = sectionItems(sectionKey, now)
              return Effect.succeed({ items: all.slice(start, start + size), totalSize: all.length })
            })
          )
        ),
      edit: (item, edit) =>
        !editSendsAnything(edit) ? Effect.void : script.request(
          "edit",
          { ratingKey: item.ratingKey, edit },
          Effect.map(visibleItem(item.ratingKey), (held) => {
            held.item = applyEdit(held.item, edit)
          })
        ),
      rate: (ratingKey, rating) =>
        script.request(
          "rate",
          { ratingKey, rating },
          rating !== null && !(rating >= 0 && rating <= 10)
            ? Effect.fail(new PlexPermanentError({ message: `Plex answered 400: rating ${rating}`, status: 400 }))
            : Effect.map(visibleItem(ratingKey), (held) => {
              held.item = new PlexItem({ ...held.item, userRating: rating })
            })
        ),
      uploadPoster: (ratingKey, image) =>
        script.request(
          "uploadPoster",
          { ratingKey, bytes: image.bytes.length, contentType: image.contentType },
          Effect.flatMap(visibleItem(ratingKey), (held) =>
            Effect.map(Clock.currentTimeMillis, (now) => {
              const count = (uploads.get(ratingKey) ?? 0) + 1
              uploads.set(ratingKey, count)
              posters.set(ratingKey, { bytes: image.bytes, contentType: image.contentType, uploadedAt: now })
              // The upload becomes the selected poster, locked so an agent refresh keeps it.
              held.item = new PlexItem({
                ...held.item,
                thumb: `/library/metadata/${ratingKey}/thumb/${Math.floor(now / 1000)}${count}`,
                lockedFields: uniq([...held.item.lockedFields, "thumb"])
              })
            }))
        ),
      scan: (sectionKey, folder) =>
        script.request(
          "scan",
          { sectionKey, folder },
          Effect.zipRight(
            sectionExists(sectionKey),
            Effect.map(Clock.currentTimeMillis, (now) => {
              scans.push({ sectionKey, folder, at: now })
              const prefix = folder.endsWith("/") ? folder : `${folder}/`
              for (const held of items.values()) {
                if (
                  held.visibleAt === null && held.item.sectionKey === sectionKey &&
                  held.item.files.some((f) => f === folder || f.startsWith(prefix))
                ) held.visibleAt = now + held.scanDelayMs
              }
            })
          )
        )
    }

    const handle: SimPlexHandle = {
      ...script.handle,
      setSections: (next) => Effect.sync(() => void (sections = next)),
      addItem: (item, opts) =>
        Effect.sync(() => void items.set(item.ratingKey, { item, visibleAt: opts?.visibleAt ?? 0, scanDelayMs: 0 })),
      addItemOnScan: (item, { delayMs }) =>
        Effect.sync(() => void items.set(item.ratingKey, { item, visibleAt: null, scanDelayMs: delayMs })),
      removeItem: (ratingKey) => Effect.sync(() => void items.delete(ratingKey)),
      item: (ratingKey) => Effect.sync(() => Option.fromNullable(items.get(ratingKey)?.item)),
      itemCount: Effect.sync(() => items.size),
      poster: (ratingKey) => Effect.sync(() => Option.fromNullable(posters.get(ratingKey))),
      posterUploads: (ratingKey) => Effect.sync(() => uploads.get(ratingKey) ?? 0),
      scans: Effect.sync(() => [...scans]),
      refreshFromAgent: (ratingKey, values) =>
        Effect.sync(() => {
          const held = items.get(ratingKey)
          if (held === undefined) return
          const locked = new Set(held.item.lockedFields)
          const next: { -readonly [K in keyof PlexItem]: PlexItem[K] } = { ...held.item }
          for (const field of ["title", "summary", "studio", "originallyAvailableAt"] as const) {
            const value = values[field]
            if (value === undefined || locked.has(field)) continue
            if (field === "title") next.title = value ?? ""
            else next[field] = value
          }
          for (const field of ["genre", "actor", "collection"] as const) {
            const value = values[field]
            if (value !== undefined && !locked.has(field)) next[tagListOf[field]] = uniq(value)
          }
          if (values.thumb !== undefined && !locked.has("thumb")) next.thumb = values.thumb
          held.item = new PlexItem(next)
        }),
      setIdentity: (identity) =>
        Effect.sync(() => {
          if (identity.version !== undefined) version = identity.version
          if (identity.machineIdentifier !== undefined) machineIdentifier = identity.machineIdentifier
        })
    }

    return { client, handle }
  })

/** `PlexClient` backed by the simulation, plus the `SimPlex` handle to script it and read its counters. */
export const layer = (options: SimPlexOptions = {}): Layer.Layer<PlexClient | SimPlex> =>
  Layer.effectContext(
    Effect.map(
      make(options),
      ({ client, handle }) => Context.make(PlexClient, client).pipe(Context.add(SimPlex, handle))
    )
  )
