import { Clock, Effect, Option, Ref } from "effect"
import type { PlexError } from "./Errors.js"
import { MatchAmbiguous, PlexNotFound, PlexPermanentError } from "./Errors.js"
import { basename, dirname, pathKey, sectionForPath } from "./PathMap.js"
import type { PlexItem, PlexSection } from "./PlexClient.js"
import { PlexClient } from "./PlexClient.js"

/**
 * Finding the Plex item of a scene's file, by full path:
 * 1. the remembered rating key, verified (the item exists and still has the file);
 * 2. Plex's `file` filter in the section whose location holds the path;
 * 3. an index of the section's files, built once from a paged listing and reused across jobs — refreshed on a
 *    miss at most once per `indexRefreshMs`, so an item Plex scanned since is found without a listing per job;
 * 4. the file name alone, as a last resort (a moved or re-mapped library).
 * Several candidates under strict matching are `MatchAmbiguous`. A transport error anywhere stays what it is:
 * it is never turned into "not found".
 */

export interface MatchOptions {
  /** Several candidates → `MatchAmbiguous` (true), or the first one (false). */
  readonly strict: boolean
  /** Section titles to match in; empty: every movie section. */
  readonly libraries: ReadonlyArray<string>
  /** A stale index or section list is refreshed on a miss at most this often. */
  readonly indexRefreshMs: number
  /** Items per `listSection` page while building the index. */
  readonly pageSize: number
  /** On a miss, ask Plex once per folder to scan the folder the file is in. */
  readonly scanOnMiss: boolean
}

export const defaultMatchOptions: MatchOptions = {
  strict: true,
  libraries: [],
  indexRefreshMs: 300_000,
  pageSize: 500,
  scanOnMiss: true
}

export type MatchedVia = "remembered" | "file" | "index" | "basename"

export interface Match {
  /** The item as Plex holds it now (fetched in full, with tags and locks). */
  readonly item: PlexItem
  readonly via: MatchedVia
}

export interface MatchInput {
  /** The file as Plex sees it (already mapped). */
  readonly plexPath: string
  /** The match remembered from the last sync, to verify first. */
  readonly remembered: { readonly ratingKey: string; readonly plexFile: string | null } | null
}

export interface Matcher {
  readonly match: (input: MatchInput) => Effect.Effect<Match, PlexError | PlexNotFound | MatchAmbiguous>
  /** The sections matched in (configured libraries, or every movie section). */
  readonly sections: Effect.Effect<ReadonlyArray<PlexSection>, PlexError>
}

interface IndexEntry {
  readonly ratingKey: string
  readonly title: string
  readonly file: string
}

interface SectionIndex {
  readonly builtAt: number
  readonly byPath: ReadonlyMap<string, ReadonlyArray<IndexEntry>>
  readonly byName: ReadonlyMap<string, ReadonlyArray<IndexEntry>>
}

const push = <K, V>(map: Map<K, Array<V>>, key: K, value: V) => {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}

const uniqueByKey = <A extends { readonly ratingKey: string }>(items: Iterable<A>): Array<A> => {
  const seen = new Set<string>()
  const out: Array<A> = []
  for (const item of items) {
    if (seen.has(item.ratingKey)) continue
    seen.add(item.ratingKey)
    out.push(item)
  }
  return out
}

const hasFile = (item: PlexItem, key: string) => item.files.some((file) => pathKey(file) === key)

/** A matcher holding its section list and indexes for the life of a worker run. */
export const makeMatcher = (options: MatchOptions): Effect.Effect<Matcher, never, PlexClient> =>
  Effect.gen(function*() {
    const plex = yield* PlexClient
    const sectionCache = yield* Ref.make<Option.Option<{ at: number; sections: ReadonlyArray<PlexSection> }>>(
      Option.none()
    )
    const indexes = new Map<string, SectionIndex>()
    const indexLock = yield* Effect.makeSemaphore(1)
    const scanned = new Set<string>()

    const loadSections = Effect.gen(function*() {
      const all = yield* plex.sections
      const now = yield* Clock.currentTimeMillis
      let chosen: ReadonlyArray<PlexSection>
      if (options.libraries.length === 0) chosen = all.filter((s) => s.type === "movie")
      else {
        const wanted = new Set(options.libraries.map((t) => t.trim().toLowerCase()))
        chosen = all.filter((s) => wanted.has(s.title.trim().toLowerCase()))
        if (chosen.length === 0) {
          return yield* Effect.fail(
            new PlexPermanentError({
              message: `None of the libraries in PLEXSYNC_PLEX_LIBRARIES (${options.libraries.join(", ")}) exists ` +
                `in Plex; it has: ${all.map((s) => s.title).join(", ") || "no libraries"}. Fix the setting.`
            })
          )
        }
      }
      yield* Ref.set(sectionCache, Option.some({ at: now, sections: chosen }))
      return chosen
    })

    // Concurrent first jobs share one request.
    const sectionsLock = yield* Effect.makeSemaphore(1)
    const sections = sectionsLock.withPermits(1)(Effect.flatMap(
      Ref.get(sectionCache),
      Option.match({ onNone: () => loadSections, onSome: ({ sections }) => Effect.succeed(sections) })
    ))

    /** Refreshes the section list on a miss, at most once per `indexRefreshMs`. */
    const refreshSectionsIfStale = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const cached = yield* Ref.get(sectionCache)
      if (Option.isSome(cached) && now - cached.value.at < options.indexRefreshMs) return false
      yield* sectionsLock.withPermits(1)(loadSections)
      return true
    })

    const buildIndex = (section: PlexSection) =>
      Effect.gen(function*() {
        const byPath = new Map<string, Array<IndexEntry>>()
        const byName = new Map<string, Array<IndexEntry>>()
        let start = 0
        while (true) {
          const page = yield* plex.listSection(section.key, { start, size: options.pageSize })
          for (const item of page.items) {
            for (const file of item.files) {
              const entry = { ratingKey: item.ratingKey, title: item.title, file }
              push(byPath, pathKey(file), entry)
              push(byName, basename(file).toLowerCase(), entry)
            }
          }
          start += page.items.length
          if (page.items.length === 0 || start >= page.totalSize) break
        }
        const index: SectionIndex = { builtAt: yield* Clock.currentTimeMillis, byPath, byName }
        indexes.set(section.key, index)
        yield* Effect.logDebug(`Indexed ${start} Plex items of section "${section.title}"`)
        return index
      }).pipe(Effect.withSpan("Matcher.buildIndex", { attributes: { section: section.key } }))

    /** The section's index: built on first use; on a miss (`refresh`), rebuilt if older than the refresh interval. */
    const indexOf = (section: PlexSection, refresh: boolean) =>
      indexLock.withPermits(1)(Effect.gen(function*() {
        const existing = indexes.get(section.key)
        if (existing === undefined) return { index: yield* buildIndex(section), fresh: true }
        const now = yield* Clock.currentTimeMillis
        if (refresh && now - existing.builtAt >= options.indexRefreshMs) {
          return { index: yield* buildIndex(section), fresh: true }
        }
        return { index: existing, fresh: false }
      }))

    /** One decision over the candidates: exactly one, or the strict rule. */
    const decide = (
      path: string,
      candidates: ReadonlyArray<IndexEntry>,
      via: MatchedVia
    ): Effect.Effect<Option.Option<{ ratingKey: string; via: MatchedVia }>, MatchAmbiguous> => {
      const unique = uniqueByKey(candidates)
      if (unique.length === 0) return Effect.succeed(Option.none())
      if (unique.length > 1 && options.strict) {
        return Effect.fail(
          new MatchAmbiguous({
            message: `${unique.length} Plex items match ${via === "basename" ? "the file name of " : ""}${path}; ` +
              `strict matching refuses to guess. Remove the duplicates in Plex or set PLEXSYNC_STRICT_MATCHING=false.`,
            path,
            candidates: unique.map((c) => ({ ratingKey: c.ratingKey, title: c.title, file: c.file }))
          })
        )
      }
      if (unique.length > 1) {
        return Effect.as(
          Effect.logWarning(`${unique.length} Plex items match ${path}; using the first (strict matching is off)`),
          Option.some({ ratingKey: unique[0]!.ratingKey, via })
        )
      }
      return Effect.succeed(Option.some({ ratingKey: unique[0]!.ratingKey, via }))
    }

    const notFound = (path: string, why: string) =>
      new PlexNotFound({ message: `No Plex item has the file ${path}${why}`, path })

    const fetchFull = (ratingKey: string, path: string) =>
      Effect.flatMap(
        plex.getItem(ratingKey),
        Option.match({
          // Deleted between the lookup and now: as good as not found.
          onNone: () => Effect.fail(notFound(path, ` (item ${ratingKey} vanished while matching)`)),
          onSome: (item) => Effect.succeed(item)
        })
      )

    const match = Effect.fn("Matcher.match")(function*(input: MatchInput) {
      const path = input.plexPath
      const key = pathKey(path)

      if (
        input.remembered !== null && input.remembered.plexFile !== null && pathKey(input.remembered.plexFile) === key
      ) {
        const item = yield* plex.getItem(input.remembered.ratingKey)
        if (Option.isSome(item) && hasFile(item.value, key)) return { item: item.value, via: "remembered" } as Match
        yield* Effect.logInfo(
          `The remembered Plex item ${input.remembered.ratingKey} no longer has ${path}; matching again`
        )
      }

      let allowed = yield* sections
      let chosen = sectionForPath(allowed, path)
      if (Option.isNone(chosen) && (yield* refreshSectionsIfStale)) {
        allowed = yield* sections
        chosen = sectionForPath(allowed, path)
      }
      // A path outside every library location (a path map that is off): look everywhere rather than give up.
      const targets = Option.isSome(chosen) ? [chosen.value.section] : allowed
      if (targets.length === 0) return yield* notFound(path, " (Plex has no movie library to look in)")

      const byFile: Array<IndexEntry> = []
      for (const section of targets) {
        const found = yield* plex.findByFile(section.key, path)
        for (const item of found) {
          if (hasFile(item, key)) byFile.push({ ratingKey: item.ratingKey, title: item.title, file: path })
        }
      }
      let decided = yield* decide(path, byFile, "file")

      if (Option.isNone(decided)) {
        const lookup = (refresh: boolean) =>
          Effect.gen(function*() {
            const exact: Array<IndexEntry> = []
            const named: Array<IndexEntry> = []
            let rebuilt = false
            for (const section of targets) {
              const { fresh, index } = yield* indexOf(section, refresh)
              rebuilt ||= fresh
              exact.push(...(index.byPath.get(key) ?? []))
              named.push(...(index.byName.get(basename(path).toLowerCase()) ?? []))
            }
            return { exact, named, rebuilt }
          })
        let found = yield* lookup(false)
        if (found.exact.length === 0 && !found.rebuilt) found = yield* lookup(true)
        decided = yield* decide(path, found.exact, "index")
        if (Option.isNone(decided)) decided = yield* decide(path, found.named, "basename")
      }

      if (Option.isSome(decided)) {
        if (decided.value.via === "basename") {
          yield* Effect.logWarning(`Matched ${path} by file name only (item ${decided.value.ratingKey})`)
        }
        return { item: yield* fetchFull(decided.value.ratingKey, path), via: decided.value.via } as Match
      }

      if (options.scanOnMiss && Option.isSome(chosen)) {
        const folder = dirname(path)
        const scanKey = `${chosen.value.section.key}\u0000${pathKey(folder)}`
        if (!scanned.has(scanKey)) {
          scanned.add(scanKey)
          yield* plex.scan(chosen.value.section.key, folder)
          yield* Effect.logInfo(`Asked Plex to scan ${folder} for ${path}`)
          return yield* notFound(path, " yet; asked Plex to scan its folder")
        }
      }
      return yield* notFound(path, Option.isSome(chosen) ? "" : " (the path is outside every Plex library location)")
    })

    return { match, sections }
  })
