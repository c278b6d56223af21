/**
 * Every GraphQL document the Stash client sends. Values always travel as `variables`; nothing here is
 * ever built from user data, so a quote in a title or path cannot break a query.
 *
 * Scene documents come in two variants: `groups` (Stash ≥ v0.27) and `movies` (older servers, where
 * `groups` does not exist). The client asks the server which one it has.
 */

export type SceneListField = "groups" | "movies"

const sceneFields = (list: SceneListField): string => {
  const collection = list === "groups"
    ? "groups { group { id name } scene_index }"
    : "movies { movie { id name } scene_index }"
  return `fragment SceneSync on Scene {
  id
  title
  details
  date
  rating100
  created_at
  updated_at
  studio { id name }
  performers { id name }
  tags { id name }
  ${collection}
  files { path size duration }
  paths { screenshot }
}`
}

export const health = `query StashHealth {
  version { version }
  systemStatus { status }
}`

/** Which of `groups` / `movies` this server's `Scene` type has. */
export const sceneFieldNames = `query StashSceneFields {
  __type(name: "Scene") { fields { name } }
}`

/**
 * Existing scene ids within an inclusive id range. `findScenes(ids:)` cannot answer "which of these
 * exist": it fails the whole query when one id is missing. A range filter with `per_page: -1` can, and
 * selects only `id`.
 */
export const sceneIdsInRange = `query SceneIdsInRange($low: Int!, $high: Int!) {
  findScenes(
    scene_filter: { id: { value: $low, value2: $high, modifier: BETWEEN } }
    filter: { per_page: -1 }
  ) {
    scenes { id }
  }
}`

/**
 * The scenes with a file at a path. Stash's `EQUALS` on `path` ignores case and treats `_` and `%` as wildcards:
 * the answer is candidates, re-checked exactly by the client.
 */
export const scenesByPath = `query ScenesByPath($path: String!) {
  findScenes(scene_filter: { path: { value: $path, modifier: EQUALS } }, filter: { per_page: -1 }) {
    scenes { id files { path } }
  }
}`

/** Existence of one scene whose id does not fit GraphQL's 32-bit `Int` (the range filter cannot express it). */
export const sceneExists = `query SceneExists($id: ID!) {
  findScene(id: $id) { id }
}`

/** The change feed without a watermark: every scene, oldest `updated_at` first. */
export const scenesUpdatedAll = `query ScenesUpdatedAll($page: Int!, $perPage: Int!) {
  findScenes(filter: { page: $page, per_page: $perPage, sort: "updated_at", direction: ASC }) {
    count
    scenes { id updated_at }
  }
}`

/** The change feed: `updated_at` is compared by Stash as a string, so `$since` must be a string Stash returned. */
export const scenesUpdatedSince = `query ScenesUpdatedSince($since: String!, $page: Int!, $perPage: Int!) {
  findScenes(
    scene_filter: { updated_at: { value: $since, modifier: GREATER_THAN } }
    filter: { page: $page, per_page: $perPage, sort: "updated_at", direction: ASC }
  ) {
    count
    scenes { id updated_at }
  }
}`

/** The change feed in id order (keyset on id), for a second holding more changes than a page. */
export const scenesUpdatedSinceById = `query ScenesUpdatedSinceById($since: String!, $after: Int!, $perPage: Int!) {
  findScenes(
    scene_filter: {
      updated_at: { value: $since, modifier: GREATER_THAN }
      id: { value: $after, modifier: GREATER_THAN }
    }
    filter: { page: 1, per_page: $perPage, sort: "id", direction: ASC }
  ) {
    count
    scenes { id updated_at }
  }
}`

/** Every scene in id order (keyset on id): the feed's first read, when one second holds more than a page. */
export const scenesById = `query ScenesById($after: Int!, $perPage: Int!) {
  findScenes(
    scene_filter: { id: { value: $after, modifier: GREATER_THAN } }
    filter: { page: 1, per_page: $perPage, sort: "id", direction: ASC }
  ) {
    count
    scenes { id updated_at }
  }
}`

export interface SceneDocuments {
  readonly sceneById: string
  readonly scenesByIds: string
  /** Sorted by `id`: unique, so pages neither overlap nor skip while nothing is deleted. */
  readonly scenesPage: string
  readonly scenesChangedSince: string
}

export const sceneDocuments = (list: SceneListField): SceneDocuments => {
  const fragment = sceneFields(list)
  return {
    sceneById: `query SceneById($id: ID!) {
  findScene(id: $id) { ...SceneSync }
}
${fragment}`,
    scenesByIds: `query ScenesByIds($ids: [ID!]!) {
  findScenes(ids: $ids) {
    scenes { ...SceneSync }
  }
}
${fragment}`,
    scenesPage: `query ScenesPage($page: Int!, $perPage: Int!) {
  findScenes(filter: { page: $page, per_page: $perPage, sort: "id", direction: ASC }) {
    count
    scenes { ...SceneSync }
  }
}
${fragment}`,
    scenesChangedSince: `query ScenesChangedSince($since: String!, $page: Int!, $perPage: Int!) {
  findScenes(
    scene_filter: {
      created_at: { value: $since, modifier: GREATER_THAN }
      OR: { updated_at: { value: $since, modifier: GREATER_THAN } }
    }
    filter: { page: $page, per_page: $perPage, sort: "id", direction: ASC }
  ) {
    count
    scenes { ...SceneSync }
  }
}
${fragment}`
  }
}

/**
 * Related objects: tags, performers, studios and groups (`movies` on servers older than v0.27). Each query's
 * root field is aliased `result` and its list `items`, so one decoder reads every kind.
 */
export type RelatedQueryKind = "tag" | "performer" | "studio" | "group" | "movie"

interface RelatedNames {
  /** Prefix of the operation names. */
  readonly op: string
  readonly field: string
  readonly filterArg: string
  readonly list: string
  /** The `SceneFilterType` field, and whether it is hierarchical (takes `depth`). */
  readonly sceneFilter: string
  readonly hierarchical: boolean
}

const relatedNames: Record<RelatedQueryKind, RelatedNames> = {
  tag: {
    op: "Tags",
    field: "findTags",
    filterArg: "tag_filter",
    list: "tags",
    sceneFilter: "tags",
    hierarchical: true
  },
  performer: {
    op: "Performers",
    field: "findPerformers",
    filterArg: "performer_filter",
    list: "performers",
    sceneFilter: "performers",
    hierarchical: false
  },
  studio: {
    op: "Studios",
    field: "findStudios",
    filterArg: "studio_filter",
    list: "studios",
    sceneFilter: "studios",
    hierarchical: true
  },
  group: {
    op: "Groups",
    field: "findGroups",
    filterArg: "group_filter",
    list: "groups",
    sceneFilter: "groups",
    hierarchical: true
  },
  movie: {
    op: "Movies",
    field: "findMovies",
    filterArg: "movie_filter",
    list: "movies",
    sceneFilter: "movies",
    hierarchical: false
  }
}

export interface RelatedDocument {
  readonly name: string
  readonly source: string
}

export interface RelatedDocuments {
  /** Changed since `$since` (a string Stash returned), oldest `updated_at` first: ids, names, times. */
  readonly updatedSince: RelatedDocument
  /** The same without a watermark. */
  readonly updatedAll: RelatedDocument
  /** The newest `updated_at`: where a new feed starts. */
  readonly latest: RelatedDocument
  /** The number of objects, and nothing else. */
  readonly count: RelatedDocument
  /** Every id, in id order, paged. */
  readonly ids: RelatedDocument
  /**
   * The ids of the scenes that use any of `$ids` (exactly these objects: `depth: 0` where hierarchical), after
   * scene id `$after`, in id order: keyset pages, which neither skip nor repeat while scenes gain or lose links.
   */
  readonly scenesWith: RelatedDocument
}

export const relatedDocuments = (kind: RelatedQueryKind): RelatedDocuments => {
  const n = relatedNames[kind]
  const item = "items: " + n.list + " { id name updated_at }"
  const depth = n.hierarchical ? ", depth: 0" : ""
  return {
    updatedSince: {
      name: `${n.op}UpdatedSince`,
      source: `query ${n.op}UpdatedSince($since: String!, $page: Int!, $perPage: Int!) {
  result: ${n.field}(
    ${n.filterArg}: { updated_at: { value: $since, modifier: GREATER_THAN } }
    filter: { page: $page, per_page: $perPage, sort: "updated_at", direction: ASC }
  ) {
    count
    ${item}
  }
}`
    },
    updatedAll: {
      name: `${n.op}UpdatedAll`,
      source: `query ${n.op}UpdatedAll($page: Int!, $perPage: Int!) {
  result: ${n.field}(filter: { page: $page, per_page: $perPage, sort: "updated_at", direction: ASC }) {
    count
    ${item}
  }
}`
    },
    latest: {
      name: `${n.op}Latest`,
      source: `query ${n.op}Latest {
  result: ${n.field}(filter: { page: 1, per_page: 1, sort: "updated_at", direction: DESC }) {
    count
    ${item}
  }
}`
    },
    count: {
      name: `${n.op}Count`,
      source: `query ${n.op}Count {
  result: ${n.field}(filter: { per_page: 1 }) {
    count
  }
}`
    },
    ids: {
      name: `${n.op}Ids`,
      source: `query ${n.op}Ids($page: Int!, $perPage: Int!) {
  result: ${n.field}(filter: { page: $page, per_page: $perPage, sort: "id", direction: ASC }) {
    count
    items: ${n.list} { id }
  }
}`
    },
    scenesWith: {
      name: `ScenesWith${n.op}`,
      source: `query ScenesWith${n.op}($ids: [ID!], $after: Int!, $perPage: Int!) {
  result: findScenes(
    scene_filter: {
      id: { value: $after, modifier: GREATER_THAN }
      ${n.sceneFilter}: { value: $ids, modifier: INCLUDES${depth} }
    }
    filter: { page: 1, per_page: $perPage, sort: "id", direction: ASC }
  ) {
    count
    items: scenes { id }
  }
}`
    }
  }
}

export const relatedQueryKinds: ReadonlyArray<RelatedQueryKind> = ["tag", "performer", "studio", "group", "movie"]

/** Every document the client can send, for tests that validate them against Stash's schema. */
export const allDocuments: ReadonlyArray<{ readonly name: string; readonly source: string }> = [
  { name: "StashHealth", source: health },
  { name: "StashSceneFields", source: sceneFieldNames },
  { name: "SceneIdsInRange", source: sceneIdsInRange },
  { name: "SceneExists", source: sceneExists },
  { name: "ScenesUpdatedAll", source: scenesUpdatedAll },
  { name: "ScenesUpdatedSince", source: scenesUpdatedSince },
  { name: "ScenesUpdatedSinceById", source: scenesUpdatedSinceById },
  { name: "ScenesById", source: scenesById },
  ...(["groups", "movies"] as const).flatMap((list) =>
    Object.entries(sceneDocuments(list)).map(([name, source]) => ({ name: `${name} (${list})`, source }))
  ),
  ...relatedQueryKinds.flatMap((kind) => Object.values(relatedDocuments(kind)))
]
