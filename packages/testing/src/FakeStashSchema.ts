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

  systemStatus: SystemStatus!
  version: Version!
}

"Lets a demo or a test edit the library over HTTP as a user would in Stash's UI."
type Mutation {
  sceneUpdate(input: SceneUpdateInput!): Scene
  sceneDestroy(input: SceneDestroyInput!): Boolean!
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

type VideoFile {
  id: ID!
  path: String!
  basename: String!
  size: Int64!
  format: String!
  width: Int!
  height: Int!
  duration: Float!
}

type Studio {
  id: ID!
  name: String!
  parent_studio: Studio
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
}

type Tag {
  id: ID!
  name: String!
}

type Group {
  id: ID!
  name: String!
}

type SceneGroup {
  group: Group!
  scene_index: Int
}

type Movie {
  id: ID!
  name: String!
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

input SceneFilterType {
  AND: SceneFilterType
  OR: SceneFilterType
  NOT: SceneFilterType
  id: IntCriterionInput
  title: StringCriterionInput
  path: StringCriterionInput
  created_at: TimestampCriterionInput
  updated_at: TimestampCriterionInput
}
`
