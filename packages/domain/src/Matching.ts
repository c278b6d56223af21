import { Clock, Effect, Either, Option, Ref } from "effect"
import type { PlexError, StashError } from "./Errors.js"
import { MatchAmbiguous, PlexNotFound, PlexPermanentError } from "./Errors.js"
import type { SceneId } from "./Ids.js"
import type { PathMap } from "./PathMap.js"
import {
  basename,
  dirname,
  isWindowsPath,
  mapPath,
  pathKey,
  sectionsForPath,
  spelledUnder,
  unmapPaths
} from "./PathMap.js"
import type { PlexItem, PlexSection } from "./PlexClient.js"
import { PlexClient } from "./PlexClient.js"
import { StashClient } from "./StashClient.js"

/**
 * Finding the Plex items of a scene. Identity comes before names:
 *
 * 1. **remembered**: the items of the last sync, verified (each still exists and holds the path it was matched
 *    through, and that path is still one of the scene's files);
 * 2. **file**: a part whose path equals one of the scene's files under the path map — every file, the primary
 *    first — found with Plex's `file` filter in every library whose location holds the path;
 * 3. **index**: the same, in an index of each library's files built from paged listings and reused across jobs
 *    (rebuilt on a miss at most once per `indexRefreshMs`, so an item Plex scanned since is found). Once a
 *    library has answered `indexAfterLookups` file-filter lookups in one run (a bulk sync), or one lookup answered
 *    `indexWhenCandidates` candidates, its index is built and consulted *before* the filter: a file it holds costs
 *    no lookup, only the item's read, which verifies it still holds the file; a file it lacks, or an entry gone
 *    stale, goes on to the filter as before. Plex's `file` filter can answer a whole folder of candidates, paged:
 *    over a folder of thousands of files that is several pages per job, and the index turns a bulk sync's cost
 *    from O(folder) per scene into O(library) once;
 * 4. **content**: a part with the same file name whose size and duration equal the Stash file's, and whose path
 *    is no other Stash scene's file — a file moved or renamed on one side only. A name alone never matches.
 *
 * One file is one item per library: where libraries overlap (a broad "All Videos" holding a narrower one's
 * folders) the scene's file is an item in each, and every one of them is the scene's. Several items holding the
 * file in one library, or several content-equal namesakes, are `MatchAmbiguous` under strict matching. Nothing
 * found: `PlexNotFound`, after asking Plex to scan the folder — again on a later miss, at most once per
 * `scanIntervalMs` — (also after a content match, so the file's own item appears). A transport error anywhere stays what it is: it is never turned into "not found".
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
  /**
   * After this many file-filter lookups in one library, its index is built and consulted first (a bulk sync);
   * `Infinity`: never.
   */
  readonly indexAfterLookups: number
  /**
   * A file-filter lookup that answered at least this many candidates (the server answers whole folders, and this
   * one is big) builds the library's index at once.
   */
  readonly indexWhenCandidates: number
  /** On a miss, ask Plex to scan the folder the file is in (at most once per `scanIntervalMs` per folder). */
  readonly scanOnMiss: boolean
  /**
   * A folder is asked again only this long after the last ask: a scan Plex finished without the file (or never
   * ran, on a Plex that scans nothing by itself) is asked again, but each job's retry does not ask again at once.
   */
  readonly scanIntervalMs: number
  /** The path map, read backwards: which Stash file a Plex path would be (to refuse another scene's file). */
  readonly pathMap: PathMap
  /**
   * Whether Plex is scanning the library now (its event stream says so): no folder of it that was asked before is
   * asked again meanwhile — the scan's end makes the waiting jobs due, and a miss after it asks again. A folder
   * never asked is asked at once.
   */
  readonly scanning?: (sectionKey: string) => Effect.Effect<boolean>
}

export const defaultMatchOptions: MatchOptions = {
  strict: true,
  libraries: [],
  indexRefreshMs: 300_000,
  pageSize: 500,
  indexAfterLookups: 50,
  indexWhenCandidates: 200,
  scanOnMiss: true,
  scanIntervalMs: 30_000,
  pathMap: []
}

export type MatchedVia = "remembered" | "file" | "index" | "content"

/** One of the scene's files, as both servers see it. */
export interface MatchFile {
  readonly stashPath: string
  /** The path as Plex sees it (mapped). */
  readonly plexPath: string
  /** Bytes; null when unknown. */
  readonly size: number | null
  /** Seconds; null when unknown. */
  readonly duration: number | null
}

export interface Match {
  /** The items holding the file, one per library, fetched in full (tags, locks); the first is the primary. */
  readonly items: readonly [PlexItem, ...Array<PlexItem>]
  readonly via: MatchedVia
  /** The Plex path the items hold (for a content match, not the scene's own path). */
  readonly plexFile: string
  /** The scene's file that matched, as Stash sees it. */
  readonly stashFile: string
}

export interface MatchInput {
  readonly sceneId: SceneId
  /** The scene's files, the primary first. */
  readonly files: ReadonlyArray<MatchFile>
  /** The match remembered from the last sync, to verify first. */
  readonly remembered: { readonly ratingKeys: ReadonlyArray<string>; readonly plexFile: string | null } | null
  /**
   * Match afresh even when the remembered items still hold the file (a reconciliation found Plex differing, or a
   * person asked): finds a library added since, or an item re-added beside the old one.
   */
  readonly fresh?: boolean
}

export interface Matcher {
  readonly match: (
    input: MatchInput
  ) => Effect.Effect<Match, PlexError | StashError | PlexNotFound | MatchAmbiguous>
  /** The sections matched in (configured libraries, or every movie section). */
  readonly sections: Effect.Effect<ReadonlyArray<PlexSection>, PlexError>
}

interface IndexEntry {
  readonly ratingKey: string
  readonly title: string
  readonly sectionKey: string
  readonly file: string
  readonly size: number | null
  /** Milliseconds. */
  readonly duration: number | null
}

interface SectionIndex {
  readonly builtAt: number
  /** Kept up to date by lookups: what the file filter found is added, a stale entry dropped. */
  readonly byPath: Map<string, ReadonlyArray<IndexEntry>>
  readonly byName: ReadonlyMap<string, ReadonlyArray<IndexEntry>>
}

const push = <K, V>(map: Map<K, Array<V>>, key: K, value: V) => {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}

/** Plex's duration (ms) and Stash's (s) come from two probes of the file: they agree to well within a second. */
const durationToleranceMs = 1000

/** Same content: both servers report the size and it is equal, and the durations agree. */
export const sameContent = (
  part: { readonly size: number | null; readonly duration: number | null },
  file: { readonly size: number | null; readonly duration: number | null }
): boolean =>
  part.size !== null && file.size !== null && part.size === file.size &&
  part.duration !== null && file.duration !== null &&
  Math.abs(part.duration - file.duration * 1000) <= durationToleranceMs

const hasFile = (item: PlexItem, key: string) => item.files.some((file) => pathKey(file) === key)

/** A matcher holding its section list and indexes for the life of a worker run. */
export const makeMatcher = (options: MatchOptions): Effect.Effect<Matcher, never, PlexClient | StashClient> =>
  Effect.gen(function*() {
    const plex = yield* PlexClient
    const stash = yield* StashClient
    const sectionCache = yield* Ref.make<Option.Option<{ at: number; sections: ReadonlyArray<PlexSection> }>>(
      Option.none()
    )
    const indexes = new Map<string, SectionIndex>()
    const indexLock = yield* Effect.makeSemaphore(1)
    /** When each (library, folder) was last asked to scan. */
    const scanned = new Map<string, number>()
    /** File-filter lookups per library in this run. */
    const lookups = new Map<string, number>()

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
            for (const file of new Set(item.files)) {
              const part = item.parts.find((p) => p.file === file)
              const entry: IndexEntry = {
                ratingKey: item.ratingKey,
                title: item.title,
                sectionKey: section.key,
                file,
                size: part?.size ?? null,
                duration: part?.duration ?? null
              }
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

    /**
     * After a file-filter lookup in a library: what it found goes into the library's index, if built; the
     * `indexAfterLookups`-th lookup builds it (a bulk sync is under way), and so does a lookup that answered a
     * whole big folder (each further one would read it again).
     */
    const lookedUp = (section: PlexSection, key: string, found: ReadonlyArray<IndexEntry>, candidates: number) =>
      Effect.gen(function*() {
        const count = (lookups.get(section.key) ?? 0) + 1
        lookups.set(section.key, count)
        const index = indexes.get(section.key)
        if (index !== undefined) {
          if (found.length > 0) index.byPath.set(key, found)
          return
        }
        if (count >= options.indexAfterLookups || candidates >= options.indexWhenCandidates) {
          yield* Effect.logDebug(
            `${count} file lookup(s) in library "${section.title}", the last answering ${candidates} candidate(s): ` +
              `indexing it, to match from the index first`
          )
          yield* indexOf(section, false)
        }
      })

    /** The libraries to look for a path in: those whose location holds it, or every one for a path outside all. */
    const librariesFor = (allowed: ReadonlyArray<PlexSection>, plexPath: string) => {
      const holding = sectionsForPath(allowed, plexPath).map((choice) => choice.section)
      return { holding, targets: holding.length > 0 ? holding : allowed }
    }

    const ambiguous = (path: string, entries: ReadonlyArray<IndexEntry>, what: string) =>
      new MatchAmbiguous({
        message: `${entries.length} Plex items ${what} ${path}; strict matching refuses to guess. Remove the ` +
          `duplicates in Plex or set PLEXSYNC_STRICT_MATCHING=false.`,
        path,
        candidates: entries.map((c) => ({ ratingKey: c.ratingKey, title: c.title, file: c.file }))
      })

    /**
     * The items holding one path: one per library. Several in one library are ambiguous (strict), or the first is
     * taken with a warning.
     */
    const perLibrary = (path: string, entries: ReadonlyArray<IndexEntry>, what: string) =>
      Effect.gen(function*() {
        const bySection = new Map<string, Array<IndexEntry>>()
        for (const entry of entries) {
          const list = bySection.get(entry.sectionKey) ?? []
          if (!list.some((e) => e.ratingKey === entry.ratingKey)) list.push(entry)
          bySection.set(entry.sectionKey, list)
        }
        const chosen: Array<IndexEntry> = []
        for (const list of bySection.values()) {
          if (list.length > 1 && options.strict) return yield* ambiguous(path, list, what)
          if (list.length > 1) {
            yield* Effect.logWarning(
              `${list.length} Plex items ${what} ${path}; using the first (strict matching is off)`
            )
          }
          chosen.push(list[0]!)
        }
        return chosen
      })

    const notFound = (path: string, why: string) =>
      new PlexNotFound({ message: `No Plex item has the file ${path}${why}`, path })

    /** Every item in full; one deleted since the lookup is dropped, all of them gone is "not found". */
    const fetchAll = (ratingKeys: ReadonlyArray<string>, path: string) =>
      Effect.gen(function*() {
        const fetched = yield* Effect.forEach(ratingKeys, (key) => plex.getItem(key), { concurrency: "unbounded" })
        const items = fetched.flatMap((item) => Option.isSome(item) ? [item.value] : [])
        if (items.length === 0) {
          return yield* notFound(path, ` (item ${ratingKeys.join(", ")} vanished while matching)`)
        }
        return items as unknown as readonly [PlexItem, ...Array<PlexItem>]
      })

    /**
     * Asks Plex to scan a file's folder in each library holding it, at most once per `scanIntervalMs`, the folder
     * spelled as the library's location spells it (a path map may write a Windows prefix in another case).
     */
    const scanFolderOf = (allowed: ReadonlyArray<PlexSection>, path: string) =>
      Effect.gen(function*() {
        if (!options.scanOnMiss) return false
        const now = yield* Clock.currentTimeMillis
        let asked = false
        for (const { location, section } of sectionsForPath(allowed, path)) {
          const folder = spelledUnder(location, dirname(path))
          const scanKey = `${section.key}\u0000${pathKey(folder)}`
          const last = scanned.get(scanKey)
          if (last !== undefined && now - last < options.scanIntervalMs) continue
          // A folder asked before may be what Plex is scanning now; a folder never asked is not (the scans of other
          // folders do not bring its file in, and their ends would only run its job to miss again).
          if (last !== undefined && options.scanning !== undefined && (yield* options.scanning(section.key))) {
            yield* Effect.logDebug(
              `Plex is scanning library ${section.title}: not asking it to scan ${folder} again now`
            )
            continue
          }
          scanned.set(scanKey, now)
          yield* plex.scan(section.key, folder)
          yield* Effect.logInfo(`Asked Plex to scan ${folder} for ${path}`)
          asked = true
        }
        return asked
      })

    /**
     * Another Stash scene whose file is this Plex path: asked of Stash for every Stash path the path map maps here,
     * and compared as Plex paths compare (a Windows path whatever its case).
     */
    const ownedByAnother = (sceneId: SceneId, plexPath: string) =>
      Effect.gen(function*() {
        const key = pathKey(plexPath)
        for (const stashPath of unmapPaths(options.pathMap, plexPath)) {
          for (const candidate of yield* stash.scenesWithFile(stashPath)) {
            if (candidate.id === sceneId) continue
            if (candidate.files.some((file) => pathKey(mapPath(options.pathMap, file).path) === key)) {
              return candidate.id
            }
          }
        }
        return undefined
      })

    /**
     * The remembered items, when each still holds the path it was matched through. Only for a scene with one file:
     * a scene with several may have gained an item for another of them, so it is matched in full.
     */
    const rememberedMatch = (input: MatchInput) =>
      Effect.gen(function*() {
        const remembered = input.remembered
        if (
          input.fresh === true || input.files.length !== 1 || remembered === null || remembered.plexFile === null ||
          remembered.ratingKeys.length === 0
        ) {
          return Option.none<Match>()
        }
        const key = pathKey(remembered.plexFile)
        const file = input.files[0]!
        if (pathKey(file.plexPath) !== key) return Option.none<Match>()
        const fetched = yield* Effect.forEach(remembered.ratingKeys, (k) => plex.getItem(k), {
          concurrency: "unbounded"
        })
        const holding = fetched.flatMap((item) => Option.isSome(item) && hasFile(item.value, key) ? [item.value] : [])
        // One of them deleted, re-added under a new key or holding another file now: match afresh.
        if (holding.length === remembered.ratingKeys.length) {
          return Option.some<Match>({
            items: holding as unknown as readonly [PlexItem, ...Array<PlexItem>],
            via: "remembered",
            plexFile: file.plexPath,
            stashFile: file.stashPath
          })
        }
        yield* Effect.logInfo(
          `The remembered Plex item ${remembered.ratingKeys.join(", ")} no longer holds ${remembered.plexFile}; ` +
            `matching again`
        )
        return Option.none<Match>()
      })

    const match = Effect.fn("Matcher.match")(function*(input: MatchInput) {
      const primary = input.files[0]
      if (primary === undefined) {
        return yield* new PlexNotFound({ message: `Scene ${input.sceneId} has no file in Stash` })
      }
      const remembered = yield* rememberedMatch(input)
      if (Option.isSome(remembered)) return remembered.value
      let allowed = yield* sections

      if (input.files.every((f) => librariesFor(allowed, f.plexPath).holding.length === 0)) {
        if (yield* refreshSectionsIfStale) allowed = yield* sections
      }
      if (allowed.length === 0) return yield* notFound(primary.plexPath, " (Plex has no movie library to look in)")

      /** The items holding any of the scene's files, one per library and file, the primary file's first. */
      const matched = (
        found: ReadonlyArray<{ file: MatchFile; entries: ReadonlyArray<IndexEntry> }>,
        via: MatchedVia
      ) =>
        Effect.gen(function*() {
          const keys: Array<string> = []
          for (const { entries, file } of found) {
            for (const entry of yield* perLibrary(file.plexPath, entries, "hold")) {
              if (!keys.includes(entry.ratingKey)) keys.push(entry.ratingKey)
            }
          }
          const first = found[0]!.file
          const items = yield* fetchAll(keys, first.plexPath)
          return { items, via, plexFile: first.plexPath, stashFile: first.stashPath } satisfies Match as Match
        })

      // 2. Plex's `file` filter, for every file; a library holding a Windows path where the filter found nothing
      // (the path spelled in another case there) is looked up in its index. In a bulk sync (the library indexed),
      // a file the index holds (one item per library) is taken from it instead, and checked once read.
      const byFilter = (useIndex: boolean) =>
        Effect.gen(function*() {
          const found: Array<{ file: MatchFile; entries: ReadonlyArray<IndexEntry> }> = []
          /** Entries taken from an index, to check against the items read. */
          const fromIndex: Array<{ key: string; entry: IndexEntry }> = []
          let indexed = false
          for (const file of input.files) {
            const key = pathKey(file.plexPath)
            const { holding, targets } = librariesFor(allowed, file.plexPath)
            const entries: Array<IndexEntry> = []
            for (const section of targets) {
              const known = useIndex ? indexes.get(section.key)?.byPath.get(key) : undefined
              if (known !== undefined && known.length === 1) {
                entries.push(known[0]!)
                fromIndex.push({ key, entry: known[0]! })
                indexed = true
                continue
              }
              const inSection: Array<IndexEntry> = []
              const answered = yield* plex.findByFile(section.key, file.plexPath)
              for (const item of answered) {
                if (!hasFile(item, key)) continue
                inSection.push({
                  ratingKey: item.ratingKey,
                  title: item.title,
                  sectionKey: section.key,
                  file: file.plexPath,
                  size: null,
                  duration: null
                })
              }
              entries.push(...inSection)
              yield* lookedUp(section, key, inSection, answered.candidates ?? answered.length)
            }
            if (entries.length === 0) continue
            // Plex's filter compares as the text is spelled; a Windows path is the same file in any case.
            for (const section of isWindowsPath(file.plexPath) ? holding : []) {
              if (entries.some((entry) => entry.sectionKey === section.key)) continue
              const { index } = yield* indexOf(section, false)
              indexed = true
              entries.push(...(index.byPath.get(key) ?? []))
            }
            found.push({ file, entries })
          }
          if (found.length === 0) return Option.none<Match>()
          if (fromIndex.length === 0) return Option.some(yield* matched(found, indexed ? "index" : "file"))
          // An indexed entry may be stale: its item deleted, or holding another file now.
          // (All of them gone is "not found": matched afresh too. Any other failure is what it is.)
          const result = yield* Effect.either(matched(found, "index"))
          if (Either.isLeft(result) && result.left._tag !== "PlexNotFound") return yield* result.left
          const stale = fromIndex.filter(({ entry, key }) =>
            Either.isLeft(result) ||
            !result.right.items.some((item) => item.ratingKey === entry.ratingKey && hasFile(item, key))
          )
          if (Either.isRight(result) && stale.length === 0) return Option.some(result.right)
          for (const { entry, key } of stale) indexes.get(entry.sectionKey)?.byPath.delete(key)
          return "stale" as const
        })
      const first = yield* byFilter(true)
      const filtered = first === "stale" ? yield* byFilter(false) : first
      if (filtered !== "stale" && Option.isSome(filtered)) return filtered.value

      // 3. The libraries' indexes: the paths, then (4) same-content namesakes.
      const lookup = (refresh: boolean) =>
        Effect.gen(function*() {
          let rebuilt = false
          const indexes = new Map<string, SectionIndex>()
          for (const section of allowed) {
            const { fresh, index } = yield* indexOf(section, refresh)
            rebuilt ||= fresh
            indexes.set(section.key, index)
          }
          const exact: Array<{ file: MatchFile; entries: ReadonlyArray<IndexEntry> }> = []
          for (const file of input.files) {
            const targets = librariesFor(allowed, file.plexPath).targets
            const entries = targets.flatMap((s) => indexes.get(s.key)?.byPath.get(pathKey(file.plexPath)) ?? [])
            if (entries.length > 0) exact.push({ file, entries })
          }
          return { exact, indexes, rebuilt }
        })
      let looked = yield* lookup(false)
      if (looked.exact.length === 0 && !looked.rebuilt) looked = yield* lookup(true)
      if (looked.exact.length > 0) return yield* matched(looked.exact, "index")

      const byContent = yield* contentMatch(input, [...looked.indexes.values()])
      const asked = yield* scanFolderOf(allowed, primary.plexPath)
      if (Option.isSome(byContent)) {
        const { entries, file } = byContent.value
        const items = yield* fetchAll(entries.map((e) => e.ratingKey), entries[0]!.file)
        yield* Effect.logInfo(
          `Matched ${file.plexPath} to Plex item ${items.map((i) => i.ratingKey).join(", ")} at ${entries[0]!.file}: ` +
            `same file name, size and duration, and no other scene's file (the file's own path is not in Plex yet)`
        )
        return { items, via: "content", plexFile: entries[0]!.file, stashFile: file.stashPath } satisfies Match
      }
      const where = librariesFor(allowed, primary.plexPath).holding.length > 0
        ? asked ? " yet; asked Plex to scan its folder" : ""
        : " (the path is outside every Plex library location)"
      return yield* notFound(primary.plexPath, where)
    })

    /**
     * Same-content namesakes of the scene's files that are no other scene's file. One path (an item in each
     * library holding it) matches; several paths are ambiguous (strict) or the first is taken.
     */
    const contentMatch = (input: MatchInput, indexes: ReadonlyArray<SectionIndex>) =>
      Effect.gen(function*() {
        for (const file of input.files) {
          const named = indexes.flatMap((index) => index.byName.get(basename(file.plexPath).toLowerCase()) ?? [])
          if (named.length === 0) continue
          const equal = named.filter((entry) => sameContent(entry, file))
          if (equal.length < named.length) {
            yield* Effect.logDebug(
              `${named.length - equal.length} Plex item(s) named like ${file.plexPath} differ in size or duration: ` +
                `not the scene's file`
            )
          }
          const byPath = new Map<string, Array<IndexEntry>>()
          for (const entry of equal) push(byPath, pathKey(entry.file), entry)
          const free: Array<ReadonlyArray<IndexEntry>> = []
          for (const entries of byPath.values()) {
            const owner = yield* ownedByAnother(input.sceneId, entries[0]!.file)
            if (owner !== undefined) {
              yield* Effect.logDebug(`${entries[0]!.file} is the file of scene ${owner}: not scene ${input.sceneId}'s`)
            } else free.push(entries)
          }
          if (free.length === 0) continue
          if (free.length > 1 && options.strict) {
            return yield* ambiguous(file.plexPath, free.flat(), "with the same name, size and duration as")
          }
          if (free.length > 1) {
            yield* Effect.logWarning(
              `${free.length} Plex files have the name, size and duration of ${file.plexPath}; using the first ` +
                `(strict matching is off)`
            )
          }
          const entries = yield* perLibrary(free[0]![0]!.file, free[0]!, "hold")
          return Option.some({ entries, file })
        }
        return Option.none<{ entries: ReadonlyArray<IndexEntry>; file: MatchFile }>()
      })

    return { match, sections }
  })
