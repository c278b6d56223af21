// Spec loaders (PlexSpecs, StashSpecs) are left out: they read ../shared and load ajv/yaml, for tests only.
export * as FakePlex from "./FakePlex.js"
export * as FakeStash from "./FakeStash.js"
export * as FakeStashSeed from "./FakeStashSeed.js"
export * as FakeStashState from "./FakeStashState.js"
export * as SimPlex from "./SimPlex.js"
export * as SimScript from "./SimScript.js"
export * as SimStash from "./SimStash.js"
