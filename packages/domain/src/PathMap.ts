import { Option, ParseResult, Schema } from "effect"
import type { PlexSection } from "./PlexClient.js"

/**
 * `PLEXSYNC_PATH_MAP`: `stashPrefix=>plexPrefix;…` rewrites a file path as Stash sees it into the path Plex sees
 * (Docker mounts, a NAS share seen from two machines). The longest matching prefix wins; a prefix matches whole
 * path segments only (`/data/a` does not match `/data/ab/x`).
 */
export class PathMapping extends Schema.Class<PathMapping>("PathMapping")({
  stashPrefix: Schema.NonEmptyTrimmedString,
  plexPrefix: Schema.NonEmptyTrimmedString
}) {}

export const PathMap = Schema.Array(PathMapping)
export type PathMap = typeof PathMap.Type

const describeEntry = (index: number, raw: string) => `entry ${index + 1} ("${raw}")`

/** Decodes the `stashPrefix=>plexPrefix;…` form; errors name the bad entry. An empty string is an empty map. */
export const PathMapFromString = Schema.transformOrFail(Schema.String, PathMap, {
  strict: true,
  decode: (text, _, ast) => {
    const entries = text.split(";").map((raw) => raw.trim())
    const out: Array<PathMapping> = []
    const seen = new Map<string, number>()
    for (let i = 0; i < entries.length; i++) {
      const raw = entries[i]!
      if (raw === "") continue
      const fail = (why: string) =>
        ParseResult.fail(
          new ParseResult.Type(
            ast,
            text,
            `${describeEntry(i, raw)} ${why}; expected stashPrefix=>plexPrefix, entries separated by ";"`
          )
        )
      const parts = raw.split("=>")
      if (parts.length !== 2) return fail(parts.length < 2 ? "has no \"=>\"" : "has more than one \"=>\"")
      const stashPrefix = parts[0]!.trim()
      const plexPrefix = parts[1]!.trim()
      if (stashPrefix === "") return fail("has an empty Stash prefix")
      if (plexPrefix === "") return fail("has an empty Plex prefix")
      const key = comparable(stripTrailingSeparator(normalise(stashPrefix)), isWindowsPath(stashPrefix))
      const earlier = seen.get(key)
      if (earlier !== undefined) {
        return fail(`repeats the Stash prefix of ${describeEntry(earlier, entries[earlier]!)}`)
      }
      seen.set(key, i)
      out.push(new PathMapping({ stashPrefix, plexPrefix }))
    }
    return ParseResult.succeed(out)
  },
  encode: (map) => ParseResult.succeed(map.map((m) => `${m.stashPrefix}=>${m.plexPrefix}`).join(";"))
})

/** Parses a path map, with a message naming the bad entry on failure. */
export const parsePathMap = Schema.decodeUnknownEither(PathMapFromString)

/**
 * A Windows path: one that starts with a drive letter (`C:\\`, `C:/`) or a UNC share (`\\\\server\\share`,
 * `\\\\?\\…`). Decided by how the path starts — as the path map's prefixes and Plex's library locations do —
 * never by a backslash elsewhere, which is an ordinary character in a POSIX file name.
 */
export const isWindowsPath = (path: string): boolean => {
  const p = path.trim()
  return /^[A-Za-z]:([\\/]|$)/.test(p) || p.startsWith("\\\\")
}

/**
 * Windows paths: forward slashes, no `\\?\` long-path prefix, no doubled separators (a UNC path keeps its
 * leading two). POSIX paths: no doubled slashes; a backslash stays what it is.
 */
export const normalise = (path: string): string => {
  let p = path.trim()
  if (!isWindowsPath(p)) return p.replace(/\/{2,}/g, "/")
  if (p.startsWith("\\\\?\\UNC\\")) p = "\\\\" + p.slice(8)
  else if (p.startsWith("\\\\?\\")) p = p.slice(4)
  const unc = p.startsWith("\\\\")
  p = p.replace(/\\/g, "/").replace(/\/{2,}/g, "/")
  return unc ? "/" + p : p
}

const stripTrailingSeparator = (path: string): string =>
  path.length > 1 && path.endsWith("/") && !/^[A-Za-z]:\/$/.test(path) ? path.slice(0, -1) : path

/** Windows paths compare without regard to case. */
const comparable = (normalisedPath: string, windows: boolean): string =>
  windows ? normalisedPath.toLowerCase() : normalisedPath

/**
 * The key two paths are compared by: normalised separators, and case-folded for Windows paths. Plex's
 * `Part.file` and a mapped Stash path that name the same file have the same key.
 */
export const pathKey = (path: string): string => comparable(normalise(path), isWindowsPath(path))

/** True when `prefix` is `path` or a whole-segment prefix of it. Both already normalised and comparable. */
const segmentPrefix = (prefix: string, path: string): boolean => {
  const p = stripTrailingSeparator(prefix)
  if (p === "/") return path.startsWith("/")
  return path === p || path.startsWith(p.endsWith("/") ? p : p + "/")
}

export interface MappedPath {
  /** The path as Plex sees it. */
  readonly path: string
  /** The mapping used, if any (none: the path is passed through unchanged). */
  readonly mapping: Option.Option<PathMapping>
}

/** A prefix as paths are compared with it: normalised, no trailing separator, case-folded for Windows. */
const prefixKey = (prefix: string): string =>
  comparable(stripTrailingSeparator(normalise(prefix)), isWindowsPath(prefix))

/** `path` with its first `length` (normalised) characters replaced by `prefix`, in `prefix`'s style. */
const replacePrefix = (path: string, length: number, prefix: string): string => {
  // Keep the original spelling of the rest of the path; only the prefix is replaced.
  const rest = normalise(path).slice(length).replace(/^\/+/, "")
  const to = stripTrailingSeparator(normalise(prefix))
  const joined = rest === "" ? to : to.endsWith("/") ? to + rest : `${to}/${rest}`
  return isWindowsPath(prefix) ? joined.replace(/\//g, "\\") : joined
}

/** Rewrites `path` from one side's prefix to the other's, by the longest matching prefix on the `from` side. */
const rewrite = (
  map: PathMap,
  path: string,
  from: (m: PathMapping) => string,
  to: (m: PathMapping) => string
): MappedPath => {
  const key = comparable(normalise(path), isWindowsPath(path))
  let best: PathMapping | undefined
  let bestLength = -1
  for (const mapping of map) {
    const prefix = prefixKey(from(mapping))
    if (segmentPrefix(prefix, key) && prefix.length > bestLength) {
      best = mapping
      bestLength = prefix.length
    }
  }
  if (best === undefined) return { path, mapping: Option.none() }
  return { path: replacePrefix(path, bestLength, to(best)), mapping: Option.some(best) }
}

/** Rewrites a Stash path with the longest matching prefix; a path no prefix matches is passed through. */
export const mapPath = (map: PathMap, stashPath: string): MappedPath =>
  rewrite(map, stashPath, (m) => m.stashPrefix, (m) => m.plexPrefix)

/**
 * Every Stash path that maps to this Plex path: one per rule whose Plex prefix holds it (two Stash folders may
 * be mounted into one Plex folder), or the path itself when no rule does.
 */
export const unmapPaths = (map: PathMap, plexPath: string): ReadonlyArray<string> => {
  const key = comparable(normalise(plexPath), isWindowsPath(plexPath))
  const out = new Set<string>()
  for (const mapping of map) {
    const prefix = prefixKey(mapping.plexPrefix)
    if (segmentPrefix(prefix, key)) out.add(replacePrefix(plexPath, prefix.length, mapping.stashPrefix))
  }
  return out.size === 0 ? [plexPath] : [...out]
}

/**
 * A path under a library location, its prefix spelled as the location spells it (a path map may write a Windows
 * prefix in another case than Plex's `Location`); a path not under the location is returned as it is.
 */
export const spelledUnder = (location: string, path: string): string => {
  const prefix = prefixKey(location)
  if (!segmentPrefix(prefix, pathKey(path))) return path
  return replacePrefix(path, prefix.length, location)
}

/** The final path segment (file name). */
export const basename = (path: string): string => {
  const n = normalise(path)
  const i = n.lastIndexOf("/")
  return i === -1 ? n : n.slice(i + 1)
}

/** The folder holding a file (for a partial scan). */
export const dirname = (path: string): string => {
  const windows = isWindowsPath(path)
  const n = normalise(path)
  const i = n.lastIndexOf("/")
  const dir = i <= 0 ? (i === 0 ? "/" : n) : n.slice(0, i)
  return windows ? dir.replace(/\//g, "\\") : dir
}

export interface SectionChoice {
  readonly section: PlexSection
  readonly location: string
}

/** The section whose root folder (`Location`) is the longest prefix of the Plex path. */
export const sectionForPath = (
  sections: ReadonlyArray<PlexSection>,
  plexPath: string
): Option.Option<SectionChoice> => {
  const key = pathKey(plexPath)
  let best: SectionChoice | undefined
  let bestLength = -1
  for (const section of sections) {
    for (const location of section.locations) {
      const prefix = stripTrailingSeparator(pathKey(location))
      if (segmentPrefix(prefix, key) && prefix.length > bestLength) {
        best = { section, location }
        bestLength = prefix.length
      }
    }
  }
  return Option.fromNullable(best)
}

/**
 * Every section with a root folder holding the Plex path, the deepest first. Libraries overlap (a broad one whose
 * folder contains a narrower one's), and then one file is an item in each of them.
 */
export const sectionsForPath = (
  sections: ReadonlyArray<PlexSection>,
  plexPath: string
): ReadonlyArray<SectionChoice> => {
  const key = pathKey(plexPath)
  const out: Array<SectionChoice & { readonly depth: number }> = []
  for (const section of sections) {
    let best = -1
    let location = ""
    for (const candidate of section.locations) {
      const prefix = stripTrailingSeparator(pathKey(candidate))
      if (segmentPrefix(prefix, key) && prefix.length > best) {
        best = prefix.length
        location = candidate
      }
    }
    if (best >= 0) out.push({ section, location, depth: best })
  }
  return out.sort((a, b) => b.depth - a.depth).map(({ location, section }) => ({ section, location }))
}
