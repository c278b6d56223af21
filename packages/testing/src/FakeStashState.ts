import { solidPng } from "./FakeStashImage.js"

/**
 * The in-memory library of the fake Stash, with Stash's own semantics where plexsync can notice them:
 * `updated_at` is an RFC 3339 string in server-local time with one-second precision (bumped by every
 * scene update, not by renaming a tag, performer, studio or group), and it is compared as a string.
 * Tags, performers, studios and groups have their own `updated_at`, bumped when they are edited; deleting one
 * removes its scene links (the join rows cascade) and leaves every scene's `updated_at` alone, and
 * `tagsMerge` moves the sources' scene links to the destination and deletes the sources — as in Stash.
 */

export type SystemStatusValue = "SETUP" | "NEEDS_MIGRATION" | "OK"

export type Gender = "MALE" | "FEMALE" | "TRANSGENDER_MALE" | "TRANSGENDER_FEMALE" | "INTERSEX" | "NON_BINARY"

/** What every related object has: Stash's own timestamps, in the same format as a scene's. */
export interface FakeStamped {
  readonly createdAt: string
  readonly updatedAt: string
}

export interface FakeStudio extends FakeStamped {
  readonly id: string
  readonly name: string
  readonly parentId: string | null
}

export interface FakePerformer extends FakeStamped {
  readonly id: string
  readonly name: string
  readonly disambiguation: string | null
  readonly gender: Gender | null
}

export interface FakeTag extends FakeStamped {
  readonly id: string
  readonly name: string
}

export interface FakeGroup extends FakeStamped {
  readonly id: string
  readonly name: string
}

export interface FakeFile {
  readonly id: string
  readonly path: string
  readonly size: number
  readonly duration: number
  /** What Stash's scan computes from the content (`oshash`, `md5`): the same for a file moved or renamed. */
  readonly fingerprints: ReadonlyArray<{ readonly type: string; readonly value: string }>
  readonly width: number
  readonly height: number
}

export interface FakeImage {
  readonly bytes: Uint8Array
  readonly contentType: string
}

export interface FakeScene {
  readonly id: string
  readonly title: string | null
  readonly code: string | null
  readonly details: string | null
  readonly director: string | null
  readonly urls: ReadonlyArray<string>
  readonly date: string | null
  readonly rating100: number | null
  readonly organized: boolean
  readonly studioId: string | null
  readonly performerIds: ReadonlyArray<string>
  readonly tagIds: ReadonlyArray<string>
  readonly groups: ReadonlyArray<{ readonly groupId: string; readonly sceneIndex: number | null }>
  readonly files: ReadonlyArray<FakeFile>
  /** The cover image served at `/scene/{id}/screenshot`; null answers 404. */
  readonly screenshot: FakeImage | null
  readonly createdAt: string
  readonly updatedAt: string
}

export interface FakeFileInput {
  readonly path: string
  readonly size?: number
  readonly duration?: number
  /** Stands for the file's bytes: files with the same content have the same fingerprints. Default: the path. */
  readonly content?: string
  readonly width?: number
  readonly height?: number
}

export interface FakeSceneInput {
  /** Digits; defaults to the next free id. */
  readonly id?: string
  readonly title?: string | null
  readonly code?: string | null
  readonly details?: string | null
  readonly director?: string | null
  readonly urls?: ReadonlyArray<string>
  /** `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, stored as given. */
  readonly date?: string | null
  readonly rating100?: number | null
  readonly organized?: boolean
  readonly studioId?: string | null
  readonly performerIds?: ReadonlyArray<string>
  readonly tagIds?: ReadonlyArray<string>
  readonly groups?: ReadonlyArray<{ readonly groupId: string; readonly sceneIndex?: number | null }>
  readonly files?: ReadonlyArray<string | FakeFileInput>
  /** Defaults to a small PNG unique to the scene. */
  readonly screenshot?: FakeImage | null
}

export type FakeScenePatch = Omit<FakeSceneInput, "id">

export interface FakeStashClockOptions {
  /** Wall clock in epoch ms (default `Date.now`). `advanceClock` adds to it. */
  readonly now?: () => number
  /** Offset of the server's local time from UTC, in minutes (default: this machine's current offset). */
  readonly utcOffsetMinutes?: number
}

const pad = (value: number, width = 2): string => String(value).padStart(width, "0")

/** Go's `time.RFC3339` of `epochMs` in a zone `offsetMinutes` from UTC: seconds precision, `Z` for UTC. */
export const formatStashTime = (epochMs: number, offsetMinutes: number): string => {
  const shifted = new Date(Math.floor(epochMs / 1000) * 1000 + offsetMinutes * 60_000)
  const date = `${pad(shifted.getUTCFullYear(), 4)}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}`
  const time = `${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}:${pad(shifted.getUTCSeconds())}`
  if (offsetMinutes === 0) return `${date}T${time}Z`
  const sign = offsetMinutes > 0 ? "+" : "-"
  const abs = Math.abs(offsetMinutes)
  return `${date}T${time}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

/** A hex digest of `length` characters standing for a hash of `content` (not a real one; stable and spread). */
const digest = (content: string, length: number): string => {
  let out = ""
  for (let round = 0; out.length < length; round++) {
    let h = 0x811c9dc5 ^ round
    for (let i = 0; i < content.length; i++) h = Math.imul(h ^ content.charCodeAt(i), 0x01000193)
    out += (h >>> 0).toString(16).padStart(8, "0")
  }
  return out.slice(0, length)
}

const toFile = (input: string | FakeFileInput, id: string): FakeFile => {
  const file = typeof input === "string" ? { path: input } : input
  const size = file.size ?? 1_073_741_824
  const content = `${file.content ?? file.path}\u0000${size}`
  return {
    id,
    path: file.path,
    size,
    duration: file.duration ?? 1800,
    fingerprints: [{ type: "oshash", value: digest(content, 16) }, { type: "md5", value: digest(content, 32) }],
    width: file.width ?? 1920,
    height: file.height ?? 1080
  }
}

type IdKind = "scene" | "studio" | "performer" | "tag" | "group" | "file"

/** The related objects' kinds, as Stash's hooks name them in lower case. */
export type FakeRelatedKind = "studio" | "performer" | "tag" | "group"

const isDigits = (id: string) => /^[0-9]+$/.test(id)

export class FakeStashState {
  private readonly studios = new Map<string, FakeStudio>()
  private readonly performers = new Map<string, FakePerformer>()
  private readonly tags = new Map<string, FakeTag>()
  private readonly groups = new Map<string, FakeGroup>()
  private readonly sceneMap = new Map<string, FakeScene>()
  private nextIds: Record<IdKind, number> = { scene: 1, studio: 1, performer: 1, tag: 1, group: 1, file: 1 }
  private skewMs = 0
  private offsetMinutes: number
  private readonly wallClock: () => number

  /** What `systemStatus.status` answers. */
  systemStatus: SystemStatusValue = "OK"
  /** What `version.version` answers (null like a development build). */
  version: string | null = "v0.30.1"

  constructor(options: FakeStashClockOptions = {}) {
    this.wallClock = options.now ?? Date.now
    this.offsetMinutes = options.utcOffsetMinutes ?? -new Date().getTimezoneOffset()
  }

  // --- time ---------------------------------------------------------------------------------------

  /** The server's current time, epoch ms. */
  nowMs(): number {
    return this.wallClock() + this.skewMs
  }

  /** The server's current time as Stash writes it into `updated_at`. */
  nowString(): string {
    return formatStashTime(this.nowMs(), this.offsetMinutes)
  }

  /** Stash's default upper bound for `BETWEEN` without `value2`: one day from now. */
  nowStringPlusDay(): string {
    return formatStashTime(this.nowMs() + 86_400_000, this.offsetMinutes)
  }

  /** Move the server's clock forward (or back), e.g. so that two updates fall in different seconds. */
  advanceClock(ms: number): void {
    this.skewMs += ms
  }

  /** Change the server's UTC offset from now on, as a DST switch does. Stored strings keep their old offset. */
  setUtcOffset(minutes: number): void {
    this.offsetMinutes = minutes
  }

  get utcOffsetMinutes(): number {
    return this.offsetMinutes
  }

  // --- related objects ------------------------------------------------------------------------------

  addStudio(input: { readonly name: string; readonly parentId?: string | null; readonly id?: string }): FakeStudio {
    const studio = {
      id: this.takeId("studio", input.id),
      name: input.name,
      parentId: input.parentId ?? null,
      ...this.stamps()
    }
    this.studios.set(studio.id, studio)
    return studio
  }

  addPerformer(
    input: {
      readonly name: string
      readonly disambiguation?: string | null
      readonly gender?: Gender | null
      readonly id?: string
    }
  ): FakePerformer {
    const performer = {
      id: this.takeId("performer", input.id),
      name: input.name,
      disambiguation: input.disambiguation ?? null,
      gender: input.gender ?? null,
      ...this.stamps()
    }
    this.performers.set(performer.id, performer)
    return performer
  }

  addTag(input: { readonly name: string; readonly id?: string }): FakeTag {
    const tag = { id: this.takeId("tag", input.id), name: input.name, ...this.stamps() }
    this.tags.set(tag.id, tag)
    return tag
  }

  addGroup(input: { readonly name: string; readonly id?: string }): FakeGroup {
    const group = { id: this.takeId("group", input.id), name: input.name, ...this.stamps() }
    this.groups.set(group.id, group)
    return group
  }

  /**
   * Rename a studio. Like Stash, this bumps the studio's own `updated_at` and does not touch any scene's.
   * (The `…Update` mutations do the same over HTTP.)
   */
  renameStudio(id: string, name: string): FakeStudio {
    return this.put(this.studios, { ...this.must(this.studios, id, "studio"), name, updatedAt: this.nowString() })
  }

  renamePerformer(id: string, name: string): FakePerformer {
    return this.put(this.performers, {
      ...this.must(this.performers, id, "performer"),
      name,
      updatedAt: this.nowString()
    })
  }

  renameTag(id: string, name: string): FakeTag {
    return this.put(this.tags, { ...this.must(this.tags, id, "tag"), name, updatedAt: this.nowString() })
  }

  renameGroup(id: string, name: string): FakeGroup {
    return this.put(this.groups, { ...this.must(this.groups, id, "group"), name, updatedAt: this.nowString() })
  }

  /** Rename (edit) any related object: its `updated_at` becomes now; its scenes' stay as they were. */
  renameRelated(kind: FakeRelatedKind, id: string, name: string): FakeStamped & { readonly id: string } {
    switch (kind) {
      case "studio":
        return this.renameStudio(id, name)
      case "performer":
        return this.renamePerformer(id, name)
      case "tag":
        return this.renameTag(id, name)
      case "group":
        return this.renameGroup(id, name)
    }
  }

  /**
   * Delete a related object as Stash's `…Destroy` does: the join rows go with it (`scenes_tags`,
   * `performers_scenes`, `scenes.studio_id`, `groups_scenes`), sub-studios lose their parent, and no scene's
   * `updated_at` changes. False when there was no such object.
   */
  destroyRelated(kind: FakeRelatedKind, id: string): boolean {
    const map: Map<string, unknown> = this.mapOf(kind)!
    if (!map.delete(id)) return false
    for (const scene of this.sceneMap.values()) {
      const next = this.unlink(scene, kind, id)
      if (next !== scene) this.sceneMap.set(scene.id, next)
    }
    if (kind === "studio") {
      for (const studio of this.studios.values()) {
        if (studio.parentId === id) this.studios.set(studio.id, { ...studio, parentId: null })
      }
    }
    return true
  }

  /**
   * `tagsMerge`: every scene linked to a source is linked to the destination instead (once), the sources are
   * deleted, and the destination's `updated_at` becomes now. Scenes keep their `updated_at`.
   */
  mergeTags(sources: ReadonlyArray<string>, destination: string): FakeTag {
    const target = this.must(this.tags, destination, "tag")
    const from = new Set(sources.filter((id) => id !== destination))
    for (const id of from) this.must(this.tags, id, "tag")
    for (const scene of this.sceneMap.values()) {
      if (!scene.tagIds.some((id) => from.has(id))) continue
      const kept = scene.tagIds.filter((id) => !from.has(id))
      this.sceneMap.set(scene.id, {
        ...scene,
        tagIds: kept.includes(destination) ? kept : [...kept, destination]
      })
    }
    for (const id of from) this.tags.delete(id)
    return this.put(this.tags, { ...target, updatedAt: this.nowString() })
  }

  /** Every object of a kind, in id order. */
  relatedObjects(kind: FakeRelatedKind): Array<FakeStamped & { readonly id: string; readonly name: string }> {
    const map = this.mapOf(kind) as Map<string, FakeStamped & { readonly id: string; readonly name: string }>
    return [...map.values()].sort((a, b) => Number(a.id) - Number(b.id))
  }

  studio(id: string): FakeStudio | undefined {
    return this.studios.get(id)
  }

  performer(id: string): FakePerformer | undefined {
    return this.performers.get(id)
  }

  tag(id: string): FakeTag | undefined {
    return this.tags.get(id)
  }

  group(id: string): FakeGroup | undefined {
    return this.groups.get(id)
  }

  // --- scenes ---------------------------------------------------------------------------------------

  addScene(input: FakeSceneInput = {}): FakeScene {
    const id = this.takeId("scene", input.id)
    const now = this.nowString()
    const scene: FakeScene = {
      id,
      title: input.title ?? null,
      code: input.code ?? null,
      details: input.details ?? null,
      director: input.director ?? null,
      urls: [...(input.urls ?? [])],
      date: input.date ?? null,
      rating100: input.rating100 ?? null,
      organized: input.organized ?? false,
      studioId: this.checkRef(this.studios, input.studioId ?? null, "studio"),
      performerIds: (input.performerIds ?? []).map((ref) => this.checkRef(this.performers, ref, "performer")),
      tagIds: (input.tagIds ?? []).map((ref) => this.checkRef(this.tags, ref, "tag")),
      groups: (input.groups ?? []).map((entry) => ({
        groupId: this.checkRef(this.groups, entry.groupId, "group"),
        sceneIndex: entry.sceneIndex ?? null
      })),
      files: (input.files ?? []).map((file) => toFile(file, this.takeId("file"))),
      screenshot: input.screenshot === undefined ? { bytes: solidPng(id), contentType: "image/png" } : input.screenshot,
      createdAt: now,
      updatedAt: now
    }
    this.sceneMap.set(id, scene)
    return scene
  }

  /** Apply a patch and bump `updated_at` to now, as every Stash scene update does. */
  updateScene(id: string, patch: FakeScenePatch): FakeScene {
    const current = this.must(this.sceneMap, id, "scene")
    const next: FakeScene = {
      ...current,
      ...(patch.title === undefined ? {} : { title: patch.title }),
      ...(patch.code === undefined ? {} : { code: patch.code }),
      ...(patch.details === undefined ? {} : { details: patch.details }),
      ...(patch.director === undefined ? {} : { director: patch.director }),
      ...(patch.urls === undefined ? {} : { urls: [...patch.urls] }),
      ...(patch.date === undefined ? {} : { date: patch.date }),
      ...(patch.rating100 === undefined ? {} : { rating100: patch.rating100 }),
      ...(patch.organized === undefined ? {} : { organized: patch.organized }),
      ...(patch.studioId === undefined ? {} : { studioId: this.checkRef(this.studios, patch.studioId, "studio") }),
      ...(patch.performerIds === undefined
        ? {}
        : { performerIds: patch.performerIds.map((ref) => this.checkRef(this.performers, ref, "performer")) }),
      ...(patch.tagIds === undefined
        ? {}
        : { tagIds: patch.tagIds.map((ref) => this.checkRef(this.tags, ref, "tag")) }),
      ...(patch.groups === undefined ? {} : {
        groups: patch.groups.map((entry) => ({
          groupId: this.checkRef(this.groups, entry.groupId, "group"),
          sceneIndex: entry.sceneIndex ?? null
        }))
      }),
      ...(patch.files === undefined ? {} : { files: patch.files.map((file) => toFile(file, this.takeId("file"))) }),
      ...(patch.screenshot === undefined ? {} : { screenshot: patch.screenshot }),
      updatedAt: this.nowString()
    }
    this.sceneMap.set(id, next)
    return next
  }

  /** Replace the cover image (null: the screenshot URL answers 404). Bumps `updated_at`, as in Stash. */
  setScreenshot(id: string, image: FakeImage | null): FakeScene {
    return this.updateScene(id, { screenshot: image })
  }

  deleteScene(id: string): boolean {
    return this.sceneMap.delete(id)
  }

  scene(id: string): FakeScene | undefined {
    return this.sceneMap.get(id)
  }

  /** All scenes, in id order. */
  scenes(): Array<FakeScene> {
    return [...this.sceneMap.values()].sort((a, b) => Number(a.id) - Number(b.id))
  }

  get sceneCount(): number {
    return this.sceneMap.size
  }

  // --- internals ------------------------------------------------------------------------------------

  private stamps(): FakeStamped {
    const now = this.nowString()
    return { createdAt: now, updatedAt: now }
  }

  private put<A extends { readonly id: string }>(map: Map<string, A>, value: A): A {
    map.set(value.id, value)
    return value
  }

  /** The scene without its link to one object (the same object when it had none). */
  private unlink(scene: FakeScene, kind: FakeRelatedKind, id: string): FakeScene {
    switch (kind) {
      case "studio":
        return scene.studioId === id ? { ...scene, studioId: null } : scene
      case "performer":
        return scene.performerIds.includes(id)
          ? { ...scene, performerIds: scene.performerIds.filter((ref) => ref !== id) }
          : scene
      case "tag":
        return scene.tagIds.includes(id) ? { ...scene, tagIds: scene.tagIds.filter((ref) => ref !== id) } : scene
      case "group":
        return scene.groups.some((entry) => entry.groupId === id)
          ? { ...scene, groups: scene.groups.filter((entry) => entry.groupId !== id) }
          : scene
    }
  }

  private takeId(kind: IdKind, wanted?: string): string {
    if (wanted !== undefined) {
      if (!isDigits(wanted)) throw new Error(`a fake Stash ${kind} id must be digits, got ${JSON.stringify(wanted)}`)
      const map = this.mapOf(kind)
      if (map?.has(wanted)) throw new Error(`the fake Stash already has a ${kind} with id ${wanted}`)
      this.nextIds[kind] = Math.max(this.nextIds[kind], Number(wanted) + 1)
      return wanted
    }
    const map = this.mapOf(kind)
    while (map?.has(String(this.nextIds[kind]))) this.nextIds[kind]++
    return String(this.nextIds[kind]++)
  }

  private mapOf(kind: IdKind): Map<string, unknown> | undefined {
    switch (kind) {
      case "scene":
        return this.sceneMap
      case "studio":
        return this.studios
      case "performer":
        return this.performers
      case "tag":
        return this.tags
      case "group":
        return this.groups
      case "file":
        return undefined
    }
  }

  private must<A>(map: Map<string, A>, id: string, kind: string): A {
    const value = map.get(id)
    if (value === undefined) throw new Error(`the fake Stash has no ${kind} with id ${id}`)
    return value
  }

  private checkRef<Id extends string | null>(map: Map<string, unknown>, id: Id, kind: string): Id {
    if (id !== null && !map.has(id)) throw new Error(`the fake Stash has no ${kind} with id ${id}`)
    return id
  }
}
