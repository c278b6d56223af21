import { basename, pathKey, sectionForPath } from "@plexsync/domain/PathMap"
import type { PlexSection } from "@plexsync/domain/PlexClient"
import { Option } from "effect"

/**
 * What `doctor` works out from Plex's libraries without asking anything more: library folders that contain
 * another library's folder (one file, an item in both), and file names several Plex items share.
 */

export interface Overlap {
  /** The library whose folder contains the other's. */
  readonly outer: { readonly section: PlexSection; readonly location: string }
  readonly inner: { readonly section: PlexSection; readonly location: string }
}

/** A folder's comparison key, without a trailing separator. */
const folderKey = (path: string): string => pathKey(path).replace(/\/+$/, "") || "/"

/** Every pair of libraries where a folder of one is, or contains, a folder of the other. */
export const overlaps = (sections: ReadonlyArray<PlexSection>): ReadonlyArray<Overlap> => {
  const found: Array<Overlap> = []
  for (const outer of sections) {
    for (const inner of sections) {
      if (outer === inner) continue
      for (const location of inner.locations) {
        const container = sectionForPath([outer], location)
        if (Option.isNone(container)) continue
        // The same folder in both libraries is one overlap, reported once.
        const same = folderKey(container.value.location) === folderKey(location)
        if (same && sections.indexOf(outer) > sections.indexOf(inner)) continue
        found.push({
          outer: { section: outer, location: container.value.location },
          inner: { section: inner, location }
        })
      }
    }
  }
  return found
}

export const describeOverlap = (o: Overlap): string =>
  folderKey(o.outer.location) === folderKey(o.inner.location)
    ? `${o.outer.section.title} and ${o.inner.section.title} both hold ${o.inner.location}`
    : `${o.outer.section.title} (${o.outer.location}) contains ${o.inner.section.title} (${o.inner.location})`

export interface DuplicateNames {
  /** File names held by items in more than one folder, with their distinct paths. */
  readonly names: ReadonlyMap<string, ReadonlyArray<string>>
  /** Items' files whose name another file in another folder shares. */
  readonly files: number
}

/** The file names that more than one distinct Plex file carries (the same file in two libraries counts once). */
export const duplicateNames = (files: Iterable<string>): DuplicateNames => {
  const byName = new Map<string, Map<string, string>>()
  for (const file of files) {
    const name = basename(file)
    const paths = byName.get(name) ?? new Map<string, string>()
    paths.set(pathKey(file), file)
    byName.set(name, paths)
  }
  const names = new Map<string, ReadonlyArray<string>>()
  let count = 0
  for (const [name, paths] of byName) {
    if (paths.size < 2) continue
    names.set(name, [...paths.values()])
    count += paths.size
  }
  return { names, files: count }
}

/** The most shared names first, e.g. `video.mp4 ×3, scene.mp4 ×2`. */
export const describeDuplicates = (duplicates: DuplicateNames, shown = 3): string =>
  [...duplicates.names.entries()]
    .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))
    .slice(0, shown)
    .map(([name, paths]) => `${name} ×${paths.length}`)
    .join(", ")
