import type { FakeRelatedKind, FakeScene, FakeStamped, FakeStashState, FakeStudio } from "./FakeStashState.js"

/**
 * The fake Stash's query semantics, modelled on Stash's SQL: string timestamps compared as strings,
 * `LIKE`-style path equality (ASCII case-insensitive, `_` and `%` are wildcards), `findScenes(ids:)`
 * failing the whole field when one id is missing, 1-based pages of 25 by default, and a sort whitelist
 * with no tie-breaker.
 */

export interface ResolverContext {
  readonly state: FakeStashState
  /** `http://host:port` as the client addressed the server, for `paths.screenshot`. */
  readonly baseUrl: string
  /** When set, every root field fails with this message (a resolver error: 200 with `errors`). */
  readonly failWith: string | null
}

interface StringCriterion {
  readonly value: string
  readonly modifier: string
}

interface IntCriterion {
  readonly value: number
  readonly value2?: number | null
  readonly modifier: string
}

interface TimestampCriterion {
  readonly value: string
  readonly value2?: string | null
  readonly modifier: string
}

interface SceneFilter {
  readonly AND?: SceneFilter | null
  readonly OR?: SceneFilter | null
  readonly NOT?: SceneFilter | null
  readonly id?: IntCriterion | null
  readonly title?: StringCriterion | null
  readonly path?: StringCriterion | null
  readonly created_at?: TimestampCriterion | null
  readonly updated_at?: TimestampCriterion | null
  readonly tags?: MultiCriterion | null
  readonly performers?: MultiCriterion | null
  readonly studios?: MultiCriterion | null
  readonly groups?: MultiCriterion | null
  readonly movies?: MultiCriterion | null
}

/** `MultiCriterionInput` and `HierarchicalMultiCriterionInput` (which adds `depth`). */
interface MultiCriterion {
  readonly value?: ReadonlyArray<string> | null
  readonly modifier: string
  readonly depth?: number | null
  readonly excludes?: ReadonlyArray<string> | null
}

/** `TagFilterType`, `PerformerFilterType`, … as far as the fake knows them. */
interface RelatedFilter {
  readonly name?: StringCriterion | null
  readonly created_at?: TimestampCriterion | null
  readonly updated_at?: TimestampCriterion | null
}

interface FindFilter {
  readonly q?: string | null
  readonly page?: number | null
  readonly per_page?: number | null
  readonly sort?: string | null
  readonly direction?: "ASC" | "DESC" | null
}

interface SceneUpdateInput {
  readonly id: string
  readonly title?: string | null
  readonly code?: string | null
  readonly details?: string | null
  readonly director?: string | null
  readonly urls?: ReadonlyArray<string> | null
  readonly date?: string | null
  readonly rating100?: number | null
  readonly organized?: boolean | null
  readonly studio_id?: string | null
  readonly performer_ids?: ReadonlyArray<string> | null
  readonly tag_ids?: ReadonlyArray<string> | null
  readonly groups?: ReadonlyArray<{ readonly group_id: string; readonly scene_index?: number | null }> | null
}

/** Go's `strconv.Atoi` failure, which is what Stash reports for an id that is not a number. */
const parseId = (id: string): number => {
  if (!/^[+-]?[0-9]+$/.test(id)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(id)}: invalid syntax`)
  return Number(id)
}

const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase())

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** SQLite `LIKE` with Stash's unescaped value: `%` and `_` are wildcards, ASCII letters match either case. */
const like = (value: string, pattern: string): boolean => {
  const source = escapeRegex(asciiLower(pattern)).replace(/%/g, "[\\s\\S]*").replace(/_/g, "[\\s\\S]")
  return new RegExp(`^${source}$`).test(asciiLower(value))
}

/** Go regexp, approximately: a leading `(?i)` becomes the `i` flag. */
const goRegex = (pattern: string): RegExp =>
  pattern.startsWith("(?i)") ? new RegExp(pattern.slice(4), "i") : new RegExp(pattern)

const matchString = (values: ReadonlyArray<string>, criterion: StringCriterion): boolean => {
  const present = values.filter((value) => value !== "")
  const { modifier, value } = criterion
  const quoted = value.length >= 2 && value.startsWith("\"") && value.endsWith("\"")
  const words = quoted ? [value.slice(1, -1)] : value.split(/\s+/).filter((word) => word !== "")
  const includes = (text: string) => words.some((word) => like(text, `%${word}%`))
  switch (modifier) {
    case "EQUALS":
      return present.some((text) => like(text, value))
    case "NOT_EQUALS":
      return !present.some((text) => like(text, value))
    case "INCLUDES":
      return present.some(includes)
    case "EXCLUDES":
      return !present.some(includes)
    case "MATCHES_REGEX":
      return present.some((text) => goRegex(value).test(text))
    case "NOT_MATCHES_REGEX":
      return !present.some((text) => goRegex(value).test(text))
    case "IS_NULL":
      return present.length === 0
    case "NOT_NULL":
      return present.length > 0
    default:
      throw new Error(`unsupported string modifier: ${modifier}`)
  }
}

/**
 * Stash's modifiers that compare a value with `low`, or with the range from `low` to `high` (asked for only by the
 * range modifiers). `kind` names the criterion when the modifier is unknown.
 */
const matchOrdered = <A extends number | string>(
  value: A,
  modifier: string,
  low: A,
  high: () => A,
  kind: string
): boolean => {
  switch (modifier) {
    case "EQUALS":
      return value === low
    case "NOT_EQUALS":
      return value !== low
    case "GREATER_THAN":
      return value > low
    case "LESS_THAN":
      return value < low
    case "BETWEEN": {
      const top = high()
      return value >= low && value <= top
    }
    case "NOT_BETWEEN": {
      const top = high()
      return value < low || value > top
    }
    case "IS_NULL":
      return false
    case "NOT_NULL":
      return true
    default:
      throw new Error(`unsupported ${kind} modifier: ${modifier}`)
  }
}

const matchInt = (value: number, criterion: IntCriterion): boolean =>
  matchOrdered(value, criterion.modifier, criterion.value, () => criterion.value2 ?? criterion.value, "int")

/** Stash compares the stored RFC 3339 text with the raw value: a string comparison, not a time one. */
const matchTimestamp = (stored: string, criterion: TimestampCriterion, state: FakeStashState): boolean =>
  matchOrdered(
    stored,
    criterion.modifier,
    criterion.value,
    () => criterion.value2 ?? state.nowStringPlusDay(),
    "timestamp"
  )

/**
 * Stash's multi-criterion on a scene's links: `INCLUDES` any, `INCLUDES_ALL`, `EXCLUDES`, `IS_NULL`, `NOT_NULL`.
 * For studios, `depth` other than 0 takes in sub-studios (−1: all levels); tags and groups have no hierarchy here.
 */
const matchLinks = (
  linked: ReadonlyArray<string>,
  criterion: MultiCriterion,
  expand: (ids: ReadonlyArray<string>, depth: number) => ReadonlyArray<string> = (ids) => ids
): boolean => {
  const depth = criterion.depth ?? 0
  const wanted = new Set(expand((criterion.value ?? []).map((id) => String(parseId(id))), depth))
  const excluded = new Set(expand((criterion.excludes ?? []).map((id) => String(parseId(id))), depth))
  if (linked.some((id) => excluded.has(id))) return false
  switch (criterion.modifier) {
    case "INCLUDES":
      return wanted.size === 0 || linked.some((id) => wanted.has(id))
    case "INCLUDES_ALL":
      return [...wanted].every((id) => linked.includes(id))
    case "EXCLUDES":
      return !linked.some((id) => wanted.has(id))
    case "IS_NULL":
      return linked.length === 0
    case "NOT_NULL":
      return linked.length > 0
    default:
      throw new Error(`unsupported multi-criterion modifier: ${criterion.modifier}`)
  }
}

/** Studios and their sub-studios down to `depth` levels (−1: every level). */
const withSubStudios = (state: FakeStashState) => (ids: ReadonlyArray<string>, depth: number) => {
  const out = new Set(ids)
  let frontier = new Set(ids)
  for (let level = 0; (depth < 0 || level < depth) && frontier.size > 0; level++) {
    const next = new Set<string>()
    for (const studio of state.relatedObjects("studio") as unknown as ReadonlyArray<FakeStudio>) {
      if (studio.parentId !== null && frontier.has(studio.parentId) && !out.has(studio.id)) next.add(studio.id)
    }
    for (const id of next) out.add(id)
    frontier = next
  }
  return [...out]
}

const ownCriteria = (scene: FakeScene, filter: SceneFilter, state: FakeStashState): boolean =>
  (filter.tags == null || matchLinks(scene.tagIds, filter.tags)) &&
  (filter.performers == null || matchLinks(scene.performerIds, filter.performers)) &&
  (filter.studios == null ||
    matchLinks(scene.studioId === null ? [] : [scene.studioId], filter.studios, withSubStudios(state))) &&
  (filter.groups == null || matchLinks(scene.groups.map((entry) => entry.groupId), filter.groups)) &&
  (filter.movies == null || matchLinks(scene.groups.map((entry) => entry.groupId), filter.movies)) &&
  (filter.id == null || matchInt(Number(scene.id), filter.id)) &&
  (filter.title == null || matchString(scene.title === null ? [] : [scene.title], filter.title)) &&
  (filter.path == null || matchString(scene.files.map((file) => file.path), filter.path)) &&
  (filter.created_at == null || matchTimestamp(scene.createdAt, filter.created_at, state)) &&
  (filter.updated_at == null || matchTimestamp(scene.updatedAt, filter.updated_at, state))

/** Stash's sub-filters: `AND` narrows, `OR` widens, `NOT` excludes. */
export const matchesFilter = (scene: FakeScene, filter: SceneFilter, state: FakeStashState): boolean => {
  const both = ownCriteria(scene, filter, state) && (filter.AND == null || matchesFilter(scene, filter.AND, state))
  const either = both || (filter.OR != null && matchesFilter(scene, filter.OR, state))
  return either && (filter.NOT == null || !matchesFilter(scene, filter.NOT, state))
}

type SortKey = (scene: FakeScene) => string | number | null

/** The sorts the fake knows; Stash knows more, and rejects unknown ones as this does. */
const sorts: Record<string, SortKey> = {
  id: (scene) => Number(scene.id),
  title: (scene) => scene.title?.toLowerCase() ?? null,
  path: (scene) => scene.files[0]?.path ?? null,
  date: (scene) => scene.date,
  rating: (scene) => scene.rating100,
  created_at: (scene) => scene.createdAt,
  updated_at: (scene) => scene.updatedAt
}

const compare = (a: string | number | null, b: string | number | null): number => {
  if (a === b) return 0
  if (a === null) return -1 // SQLite sorts NULL first when ascending
  if (b === null) return 1
  return a < b ? -1 : 1
}

interface Page {
  readonly count: number
  readonly scenes: ReadonlyArray<FakeScene>
}

/** Sorting and paging as Stash does: no tie-breaker, 25 per page by default, -1 for all, 0 for a count only. */
const sortedPage = <A>(
  all: ReadonlyArray<A>,
  filter: FindFilter | null | undefined,
  keys: Record<string, (item: A) => string | number | null>
): { readonly count: number; readonly items: ReadonlyArray<A> } => {
  let sorted = [...all]
  const sort = filter?.sort
  // `random` keeps storage order: arbitrary, as far as a client may assume.
  if (sort !== null && sort !== undefined && sort !== "random") {
    const key = keys[sort]
    if (key === undefined) throw new Error(`invalid sort: ${sort}`)
    const sign = filter?.direction === "DESC" ? -1 : 1
    // A stable sort with no tie-breaker: equal keys keep storage order, as SQLite's ORDER BY may.
    sorted = sorted.sort((a, b) => sign * compare(key(a), key(b)))
  }
  const perPage = filter?.per_page ?? 25
  if (perPage < 0) return { count: sorted.length, items: sorted }
  const pageNumber = Math.max(1, filter?.page ?? 1)
  return { count: sorted.length, items: sorted.slice((pageNumber - 1) * perPage, pageNumber * perPage) }
}

const page = (scenes: ReadonlyArray<FakeScene>, filter: FindFilter | null | undefined): Page => {
  const { count, items } = sortedPage(scenes, filter, sorts)
  return { count, scenes: items }
}

type RelatedObject = FakeStamped & { readonly id: string; readonly name: string }

/** The sorts the fake knows for tags, performers, studios and groups (Stash knows more). */
const relatedSorts: Record<string, (object: RelatedObject) => string | number | null> = {
  id: (object) => Number(object.id),
  name: (object) => object.name.toLowerCase(),
  created_at: (object) => object.createdAt,
  updated_at: (object) => object.updatedAt
}

/** Paging and sorting as for scenes. */
const relatedPage = (objects: ReadonlyArray<RelatedObject>, filter: FindFilter | null | undefined) =>
  sortedPage(objects, filter, relatedSorts)

const relatedMatches = (object: RelatedObject, filter: RelatedFilter | null | undefined, state: FakeStashState) =>
  filter == null ||
  ((filter.name == null || matchString([object.name], filter.name)) &&
    (filter.created_at == null || matchTimestamp(object.createdAt, filter.created_at, state)) &&
    (filter.updated_at == null || matchTimestamp(object.updatedAt, filter.updated_at, state)))

/** The GraphQL view of a tag, performer, studio or group: its own fields plus Stash's timestamps. */
const relatedView = <A extends RelatedObject>(object: A) => ({
  ...object,
  created_at: object.createdAt,
  updated_at: object.updatedAt
})

/** `findTags` and friends: `ids` (ignoring the filter, missing ids simply absent), else filter and page. */
const findRelated = (kind: FakeRelatedKind, list: string) =>
(
  args: {
    readonly filter?: FindFilter | null
    readonly ids?: ReadonlyArray<string> | null
    readonly [filterArg: string]: unknown
  },
  context: ResolverContext
) => {
  guard(context)
  const all = context.state.relatedObjects(kind)
  const filterArg = Object.keys(args).find((key) => key.endsWith("_filter"))
  const filter = (filterArg === undefined ? null : args[filterArg]) as RelatedFilter | null | undefined
  const byIds = args.ids && args.ids.length > 0 ? new Set(args.ids.map((id) => String(parseId(id)))) : null
  const matching = all.filter((object) =>
    byIds === null ? relatedMatches(object, filter, context.state) : byIds.has(object.id)
  )
  const { count, items } = relatedPage(matching, args.filter)
  return {
    count,
    [list]: items.map((object) =>
      kind === "studio"
        ? studioObjectView(object as RelatedObject & { parentId: string | null }, context)
        : relatedView(object)
    )
  }
}

const studioObjectView = (
  studio: RelatedObject & { readonly parentId: string | null },
  context: ResolverContext,
  depth = 0
): unknown => {
  const parent = studio.parentId === null ? undefined : context.state.studio(studio.parentId)
  return {
    id: studio.id,
    name: studio.name,
    created_at: studio.createdAt,
    updated_at: studio.updatedAt,
    parent_studio: parent === undefined || depth > 4 ? null : studioObjectView(parent, context, depth + 1)
  }
}

/** `tagUpdate` and friends: only a `name` in the fake; like any edit in Stash, it bumps the object's `updated_at`. */
const updateRelated =
  (kind: FakeRelatedKind) =>
  (args: { readonly input: { readonly id: string; readonly name?: string | null } }, context: ResolverContext) => {
    guard(context)
    const id = String(parseId(args.input.id))
    const current = context.state.relatedObjects(kind).find((object) => object.id === id)
    if (current === undefined) throw new Error(`${kind} with id ${args.input.id} not found`)
    const updated = context.state.renameRelated(kind, id, args.input.name ?? current.name) as RelatedObject
    return kind === "studio"
      ? studioObjectView(updated as RelatedObject & { parentId: string | null }, context)
      : relatedView(updated)
  }

const destroyRelated =
  (kind: FakeRelatedKind) => (args: { readonly input: { readonly id: string } }, context: ResolverContext) => {
    guard(context)
    const id = String(parseId(args.input.id))
    if (!context.state.destroyRelated(kind, id)) throw new Error(`${kind} with id ${args.input.id} not found`)
    return true
  }

const qMatches = (scene: FakeScene, q: string | null | undefined): boolean => {
  if (q === null || q === undefined || q === "") return true
  return matchString([scene.title ?? "", scene.details ?? "", ...scene.files.map((file) => file.path)], {
    value: q,
    modifier: "INCLUDES"
  })
}

const basename = (path: string) => path.split(/[\\/]/).pop() ?? path

/** The GraphQL view of a scene: plain values, resolved eagerly (the library is small and in memory). */
const sceneView = (scene: FakeScene, context: ResolverContext) => {
  const { state } = context
  const studioView = (id: string | null): unknown => {
    const studio = id === null ? undefined : state.studio(id)
    return studio === undefined ? null : studioObjectView(studio, context)
  }
  const groups = scene.groups.flatMap((entry) => {
    const group = state.group(entry.groupId)
    return group === undefined ? [] : [{ group, sceneIndex: entry.sceneIndex }]
  })
  const stamp = Math.floor(Date.parse(scene.updatedAt) / 1000)
  return {
    id: scene.id,
    title: scene.title,
    code: scene.code,
    details: scene.details,
    director: scene.director,
    urls: scene.urls,
    date: scene.date,
    rating100: scene.rating100,
    organized: scene.organized,
    created_at: scene.createdAt,
    updated_at: scene.updatedAt,
    files: scene.files.map((file) => ({
      id: file.id,
      path: file.path,
      basename: basename(file.path),
      size: file.size,
      fingerprints: file.fingerprints,
      fingerprint: (args: { readonly type: string }) =>
        file.fingerprints.find((fingerprint) => fingerprint.type === args.type)?.value ?? null,
      format: "mp4",
      width: file.width,
      height: file.height,
      duration: file.duration
    })),
    paths: {
      screenshot: `${context.baseUrl}/scene/${scene.id}/screenshot?t=${stamp}`,
      preview: `${context.baseUrl}/scene/${scene.id}/preview`,
      stream: `${context.baseUrl}/scene/${scene.id}/stream`
    },
    studio: studioView(scene.studioId),
    groups: groups.map(({ group, sceneIndex }) => ({ group: relatedView(group), scene_index: sceneIndex })),
    movies: groups.map(({ group, sceneIndex }) => ({ movie: relatedView(group), scene_index: sceneIndex })),
    tags: scene.tagIds.flatMap((id) => {
      const tag = state.tag(id)
      return tag === undefined ? [] : [relatedView(tag)]
    }),
    performers: scene.performerIds.flatMap((id) => {
      const performer = state.performer(id)
      return performer === undefined ? [] : [relatedView(performer)]
    }),
    stash_ids: []
  }
}

const resultView = (result: Page, context: ResolverContext) => ({
  count: result.count,
  duration: result.scenes.reduce((sum, scene) => sum + (scene.files[0]?.duration ?? 0), 0),
  filesize: result.scenes.reduce((sum, scene) => sum + (scene.files[0]?.size ?? 0), 0),
  scenes: result.scenes.map((scene) => sceneView(scene, context))
})

const guard = (context: ResolverContext) => {
  if (context.failWith !== null) throw new Error(context.failWith)
}

/** The root value handed to graphql-js: each field is a function of (args, context). */
export const rootValue = {
  findScene: (args: { readonly id?: string | null; readonly checksum?: string | null }, context: ResolverContext) => {
    guard(context)
    if (args.id === null || args.id === undefined) return null
    const scene = context.state.scene(String(parseId(args.id)))
    return scene === undefined ? null : sceneView(scene, context)
  },
  findScenes: (
    args: {
      readonly scene_filter?: SceneFilter | null
      readonly scene_ids?: ReadonlyArray<number> | null
      readonly ids?: ReadonlyArray<string> | null
      readonly filter?: FindFilter | null
    },
    context: ResolverContext
  ) => {
    guard(context)
    const ids = args.ids && args.ids.length > 0
      ? args.ids
      : args.scene_ids && args.scene_ids.length > 0
      ? args.scene_ids.map(String)
      : null
    if (ids !== null) {
      // Like Stash: the id list ignores filters and paging, and one missing id fails the whole field.
      const scenes = ids.map((id) => {
        const scene = context.state.scene(String(parseId(id)))
        if (scene === undefined) throw new Error(`scene with id ${id} not found`)
        return scene
      })
      return resultView({ count: scenes.length, scenes }, context)
    }
    const filter = args.scene_filter
    const matching = context.state.scenes().filter((scene) =>
      (filter == null || matchesFilter(scene, filter, context.state)) && qMatches(scene, args.filter?.q)
    )
    return resultView(page(matching, args.filter), context)
  },
  findScenesByPathRegex: (args: { readonly filter?: FindFilter | null }, context: ResolverContext) => {
    guard(context)
    const q = args.filter?.q
    const matching = q === null || q === undefined || q === ""
      ? context.state.scenes()
      : context.state.scenes().filter((scene) =>
        matchString(scene.files.map((file) => file.path), { value: `(?i)${q}`, modifier: "MATCHES_REGEX" })
      )
    return resultView(page(matching, { ...args.filter, q: null }), context)
  },
  /** Only the fields present in the input change (null clears), as Stash's partial update does. */
  sceneUpdate: (args: { readonly input: SceneUpdateInput }, context: ResolverContext) => {
    guard(context)
    const { input } = args
    const id = String(parseId(input.id))
    if (context.state.scene(id) === undefined) throw new Error(`scene with id ${input.id} not found`)
    const has = (key: keyof SceneUpdateInput) => Object.prototype.hasOwnProperty.call(input, key)
    const scene = context.state.updateScene(id, {
      ...(has("title") ? { title: input.title ?? null } : {}),
      ...(has("code") ? { code: input.code ?? null } : {}),
      ...(has("details") ? { details: input.details ?? null } : {}),
      ...(has("director") ? { director: input.director ?? null } : {}),
      ...(has("urls") ? { urls: input.urls ?? [] } : {}),
      ...(has("date") ? { date: input.date === "" ? null : input.date ?? null } : {}),
      ...(has("rating100") ? { rating100: input.rating100 ?? null } : {}),
      ...(has("organized") ? { organized: input.organized ?? false } : {}),
      ...(has("studio_id") ? { studioId: input.studio_id ?? null } : {}),
      ...(has("performer_ids") ? { performerIds: input.performer_ids ?? [] } : {}),
      ...(has("tag_ids") ? { tagIds: input.tag_ids ?? [] } : {}),
      ...(has("groups")
        ? {
          groups: (input.groups ?? []).map((entry) => ({
            groupId: entry.group_id,
            sceneIndex: entry.scene_index ?? null
          }))
        }
        : {})
    })
    return sceneView(scene, context)
  },
  findTags: findRelated("tag", "tags"),
  findPerformers: findRelated("performer", "performers"),
  findStudios: findRelated("studio", "studios"),
  findGroups: findRelated("group", "groups"),
  findMovies: findRelated("group", "movies"),
  tagUpdate: updateRelated("tag"),
  tagDestroy: destroyRelated("tag"),
  performerUpdate: updateRelated("performer"),
  performerDestroy: destroyRelated("performer"),
  studioUpdate: updateRelated("studio"),
  studioDestroy: destroyRelated("studio"),
  groupUpdate: updateRelated("group"),
  groupDestroy: destroyRelated("group"),
  /** Moves the sources' scene links to the destination and deletes the sources; answers the destination. */
  tagsMerge: (
    args: { readonly input: { readonly source: ReadonlyArray<string>; readonly destination: string } },
    context: ResolverContext
  ) => {
    guard(context)
    const destination = String(parseId(args.input.destination))
    const sources = args.input.source.map((id) => String(parseId(id)))
    for (const id of [destination, ...sources]) {
      if (context.state.tag(id) === undefined) throw new Error(`tag with id ${id} not found`)
    }
    return relatedView(context.state.mergeTags(sources, destination))
  },
  sceneDestroy: (args: { readonly input: { readonly id: string } }, context: ResolverContext) => {
    guard(context)
    const id = String(parseId(args.input.id))
    if (!context.state.deleteScene(id)) throw new Error(`scene with id ${args.input.id} not found`)
    return true
  },
  systemStatus: (_args: unknown, context: ResolverContext) => {
    guard(context)
    return {
      databaseSchema: context.state.systemStatus === "SETUP" ? null : 72,
      databasePath: "/root/.stash/stash-go.sqlite",
      configPath: "/root/.stash/config.yml",
      appSchema: 72,
      status: context.state.systemStatus,
      os: "linux",
      workingDir: "/root",
      homeDir: "/root",
      ffmpegPath: "/usr/bin/ffmpeg",
      ffprobePath: "/usr/bin/ffprobe"
    }
  },
  version: (_args: unknown, context: ResolverContext) => {
    guard(context)
    return { version: context.state.version, hash: "b23b0267", build_time: "2025-12-18 00:00:00" }
  }
}
