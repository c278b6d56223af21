import { allFields, imageHash, wantedFields } from "@plexsync/domain/FieldMapping"
import type { PathMap } from "@plexsync/domain/PathMap"
import { mapPath } from "@plexsync/domain/PathMap"
import { StashClient } from "@plexsync/domain/StashClient"
import type { StashScene } from "@plexsync/domain/StashScene"
import { Effect, Option } from "effect"
import type { FakePlexItem } from "./FakePlex.js"

/**
 * Checks a Plex library against Stash field by field: what the demo ends with and what the end-to-end tests
 * assert. Stash is read through the real client (what the worker reads); Plex is the fake server's own state
 * (what a person would see), never plexsync's record of what it wrote.
 */

export interface Mismatch {
  readonly sceneId: string
  readonly field: string
  readonly want: string
  readonly got: string
}

export interface StashSide {
  readonly scene: StashScene
  /** SHA-256 of the cover bytes Stash serves; null when the scene has no cover. */
  readonly coverSha256: string | null
}

const show = (value: unknown) => (value === undefined ? "(unset)" : JSON.stringify(value))

const sameSet = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => {
  const x = [...new Set(a)].sort()
  const y = [...new Set(b)].sort()
  return x.length === y.length && x.every((v, i) => v === y[i])
}

/**
 * Every field of one scene against its Plex item. `originalTitle` is the item's title before any sync: a scene
 * without a title leaves it as it was.
 */
export const compareScene = (
  stash: StashSide,
  item: FakePlexItem | undefined,
  options: { readonly pathMap: PathMap; readonly originalTitle: (file: string) => string | undefined }
): Array<Mismatch> => {
  const { scene } = stash
  const file = scene.files[0] === undefined ? undefined : mapPath(options.pathMap, scene.files[0].path).path
  const id = scene.id
  if (item === undefined) return [{ sceneId: id, field: "item", want: show(file), got: "no Plex item" }]
  const wanted = wantedFields(scene, allFields)
  const out: Array<Mismatch> = []
  const check = (field: string, want: unknown, got: unknown, equal = want === got) => {
    if (!equal) out.push({ sceneId: id, field, want: show(want), got: show(got) })
  }
  const title = wanted.title ?? (file === undefined ? undefined : options.originalTitle(file))
  if (title !== undefined) check("title", title, item.title)
  check("summary", wanted.summary ?? null, item.summary === "" ? null : item.summary)
  check("studio", wanted.studio ?? null, item.studio === "" ? null : item.studio)
  if (wanted.originallyAvailableAt !== undefined) {
    check("date", wanted.originallyAvailableAt, item.originallyAvailableAt)
  }
  check("rating", wanted.rating ?? null, item.userRating)
  check("genres", wanted.genres ?? [], item.genres, sameSet(wanted.genres ?? [], item.genres))
  check("actors", wanted.actors ?? [], item.actors, sameSet(wanted.actors ?? [], item.actors))
  check("collections", wanted.collections ?? [], item.collections, sameSet(wanted.collections ?? [], item.collections))
  if (stash.coverSha256 !== null) check("poster", stash.coverSha256, item.poster?.sha256 ?? null)
  return out
}

/** Every scene in Stash, with its cover's hash, read through `StashClient`. */
export const readStash = Effect.gen(function*() {
  const stash = yield* StashClient
  const scenes: Array<StashScene> = []
  for (let page = 1;; page++) {
    const result = yield* stash.listScenes({ page, perPage: 250 })
    scenes.push(...result.items)
    if (result.items.length < 250 || scenes.length >= result.count) break
  }
  return yield* Effect.forEach(scenes, (scene) =>
    stash.screenshot(scene).pipe(
      Effect.map((image): StashSide => ({
        scene,
        coverSha256: Option.match(image, { onNone: () => null, onSome: (i) => imageHash(i.bytes) })
      }))
    ), { concurrency: 8 })
})

export interface Verdict {
  readonly scenes: number
  readonly matching: number
  readonly mismatches: ReadonlyArray<Mismatch>
}

export const verify = (
  stash: ReadonlyArray<StashSide>,
  itemByFile: (file: string) => FakePlexItem | undefined,
  options: { readonly pathMap: PathMap; readonly originalTitle: (file: string) => string | undefined }
): Verdict => {
  const mismatches: Array<Mismatch> = []
  let matching = 0
  for (const side of stash) {
    const file = side.scene.files[0] === undefined ? "" : mapPath(options.pathMap, side.scene.files[0].path).path
    const found = compareScene(side, itemByFile(file), options)
    if (found.length === 0) matching++
    mismatches.push(...found)
  }
  return { scenes: stash.length, matching, mismatches }
}
