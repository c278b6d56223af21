/**
 * The GraphQL schema the fake Stash serves: the part of Stash's schema that plexsync uses, written out
 * by hand with Stash's names, types and nullability (a test holds it to the real schema). Types keep
 * only the fields plexsync may select; enums keep all of Stash's values.
 */

const sceneListFields = {
  /** Stash ≥ v0.27: `groups`, with `movies` kept as a deprecated alias. */
  current: `  groups: [SceneGroup!]!
  movies: [SceneMovie!]! @deprecated(reason: "Use groups")`,
  /** Stash < v0.27: only `movies`. */
  legacy: `  movies: [SceneMovie!]!`
} as const

const sceneUpdateListFields = {
  current: `  groups: [SceneGroupInput!]`,
  legacy: ``
} as const

/** `findGroups`, group mutations and the scene filter on groups exist since v0.27; `findMovies` in both. */
const groupQueries = {
  current: `  "A function which queries Group objects"
  findGroups(
    group_filter: GroupFilterType
    filter: FindFilterType
    ids: [ID!]
  ): FindGroupsResultType!`,
  legacy: ``
} as const

const groupMutations = {
  current: `  groupUpdate(input: GroupUpdateInput!): Group
  groupDestroy(input: GroupDestroyInput!): Boolean!`,
  legacy: ``
} as const

const groupSceneFilter = {
  current: `  groups: HierarchicalMultiCriterionInput`,
  legacy: ``
} as const

export type FakeStashSchemaVersion = keyof typeof sceneListFields

export const fakeStashSdl = (version: FakeStashSchemaVersion = "current"): string => `
scalar Time
scalar Int64

type Query {
  "Find a scene by ID or Checksum"
  findScene(id: ID, checksum: String): Scene

  "A function which queries Scene objects"
  findScenes(
    scene_filter: SceneFilterType
    scene_ids: [Int!] @deprecated(reason: "use ids")
    ids: [ID!]
    filter: FindFilterType
  ): FindScenesResultType!

  findScenesByPathRegex(filter: FindFilterType): FindScenesResultType!

  findTags(
    tag_filter: TagFilterType
    filter: FindFilterType
    ids: [ID!]
  ): FindTagsResultType!

  "A function which queries Performer objects"
  findPerformers(
    performer_filter: PerformerFilterType
    filter: FindFilterType
    performer_ids: [Int!] @deprecated(reason: "use ids")
    ids: [ID!]
  ): FindPerformersResultType!

  "A function which queries Studio objects"
  findStudios(
    studio_filter: StudioFilterType
    filter: FindFilterType
    ids: [ID!]
  ): FindStudiosResultType!

  "A function which queries Movie objects"
  findMovies(
    movie_filter: MovieFilterType
    filter: FindFilterType
    ids: [ID!]
  ): FindMoviesResultType! @deprecated(reason: "Use findGroups instead")

${groupQueries[version]}

  systemStatus: SystemStatus!
  version: Version!
}

"Lets a demo or a test edit the library over HTTP as a user would in Stash's UI."
type Mutation {
  sceneUpdate(input: SceneUpdateInput!): Scene
  sceneDestroy(input: SceneDestroyInput!): Boolean!
  tagUpdate(input: TagUpdateInput!): Tag
  tagDestroy(input: TagDestroyInput!): Boolean!
  tagsMerge(input: TagsMergeInput!): Tag
  performerUpdate(input: PerformerUpdateInput!): Performer
  performerDestroy(input: PerformerDestroyInput!): Boolean!
  studioUpdate(input: StudioUpdateInput!): Studio
  studioDestroy(input: StudioDestroyInput!): Boolean!
${groupMutations[version]}
}

input TagUpdateInput {
  id: ID!
  name: String
}

input TagDestroyInput {
  id: ID!
}

input TagsMergeInput {
  source: [ID!]!
  destination: ID!
}

input PerformerUpdateInput {
  id: ID!
  name: String
}

input PerformerDestroyInput {
  id: ID!
}

input StudioUpdateInput {
  id: ID!
  name: String
}

input StudioDestroyInput {
  id: ID!
}

input GroupUpdateInput {
  id: ID!
  name: String
}

input GroupDestroyInput {
  id: ID!
}

input SceneGroupInput {
  group_id: ID!
  scene_index: Int
}

input SceneUpdateInput {
  clientMutationId: String
  id: ID!
  title: String
  code: String
  details: String
  director: String
  urls: [String!]
  date: String
  rating100: Int
  organized: Boolean
  studio_id: ID
  performer_ids: [ID!]
${sceneUpdateListFields[version]}
  tag_ids: [ID!]
}

input SceneDestroyInput {
  id: ID!
  delete_file: Boolean
  delete_generated: Boolean
}

type Version {
  version: String
  hash: String!
  build_time: String!
}

enum SystemStatusEnum {
  SETUP
  NEEDS_MIGRATION
  OK
}

type SystemStatus {
  databaseSchema: Int
  databasePath: String
  configPath: String
  appSchema: Int!
  status: SystemStatusEnum!
  os: String!
  workingDir: String!
  homeDir: String!
  ffmpegPath: String
  ffprobePath: String
}

type Scene {
  id: ID!
  title: String
  code: String
  details: String
  director: String
  urls: [String!]!
  date: String
  rating100: Int
  organized: Boolean!
  created_at: Time!
  updated_at: Time!
  files: [VideoFile!]!
  paths: ScenePathsType!
  studio: Studio
${sceneListFields[version]}
  tags: [Tag!]!
  performers: [Performer!]!
  stash_ids: [StashID!]!
}

type ScenePathsType {
  screenshot: String
  preview: String
  stream: String
}

type Fingerprint {
  type: String!
  value: String!
}

type VideoFile {
  id: ID!
  path: String!
  basename: String!
  size: Int64!
  fingerprint(type: String!): String
  fingerprints: [Fingerprint!]!
  format: String!
  width: Int!
  height: Int!
  duration: Float!
}

type Studio {
  id: ID!
  name: String!
  parent_studio: Studio
  created_at: Time!
  updated_at: Time!
}

enum GenderEnum {
  MALE
  FEMALE
  TRANSGENDER_MALE
  TRANSGENDER_FEMALE
  INTERSEX
  NON_BINARY
}

type Performer {
  id: ID!
  name: String!
  disambiguation: String
  gender: GenderEnum
  created_at: Time!
  updated_at: Time!
}

type Tag {
  id: ID!
  name: String!
  created_at: Time!
  updated_at: Time!
}

type Group {
  id: ID!
  name: String!
  created_at: Time!
  updated_at: Time!
}

type SceneGroup {
  group: Group!
  scene_index: Int
}

type Movie {
  id: ID!
  name: String!
  created_at: Time!
  updated_at: Time!
}

type SceneMovie {
  movie: Movie!
  scene_index: Int
}

type StashID {
  endpoint: String!
  stash_id: String!
  updated_at: Time!
}

type FindScenesResultType {
  count: Int!
  "Total duration in seconds"
  duration: Float!
  "Total file size in bytes"
  filesize: Float!
  scenes: [Scene!]!
}

type FindTagsResultType {
  count: Int!
  tags: [Tag!]!
}

type FindPerformersResultType {
  count: Int!
  performers: [Performer!]!
}

type FindStudiosResultType {
  count: Int!
  studios: [Studio!]!
}

type FindGroupsResultType {
  count: Int!
  groups: [Group!]!
}

type FindMoviesResultType {
  count: Int!
  movies: [Movie!]!
}

enum SortDirectionEnum {
  ASC
  DESC
}

input FindFilterType {
  q: String
  page: Int
  "use per_page = -1 to indicate all results. Defaults to 25."
  per_page: Int
  sort: String
  direction: SortDirectionEnum
}

enum CriterionModifier {
  EQUALS
  NOT_EQUALS
  GREATER_THAN
  LESS_THAN
  IS_NULL
  NOT_NULL
  INCLUDES_ALL
  INCLUDES
  EXCLUDES
  MATCHES_REGEX
  NOT_MATCHES_REGEX
  BETWEEN
  NOT_BETWEEN
}

input StringCriterionInput {
  value: String!
  modifier: CriterionModifier!
}

input IntCriterionInput {
  value: Int!
  value2: Int
  modifier: CriterionModifier!
}

input TimestampCriterionInput {
  value: String!
  value2: String
  modifier: CriterionModifier!
}

input MultiCriterionInput {
  value: [ID!]
  modifier: CriterionModifier!
  excludes: [ID!]
}

input HierarchicalMultiCriterionInput {
  value: [ID!]
  modifier: CriterionModifier!
  depth: Int
  excludes: [ID!]
}

input SceneFilterType {
  AND: SceneFilterType
  OR: SceneFilterType
  NOT: SceneFilterType
  id: IntCriterionInput
  title: StringCriterionInput
  path: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
  tags: HierarchicalMultiCriterionInput
  performers: MultiCriterionInput
  studios: HierarchicalMultiCriterionInput
${groupSceneFilter[version]}
  movies: MultiCriterionInput @deprecated(reason: "use groups instead")
}

input TagFilterType {
  name: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}

input PerformerFilterType {
  name: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}

input StudioFilterType {
  name: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}

input GroupFilterType {
  name: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}

input MovieFilterType {
  name: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}
`
