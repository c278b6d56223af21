/**
 * Shapes of test that recur across the packages' test files.
 */
import { describe, it } from "@effect/vitest"
import type { Layer, Scope, TestServices } from "effect"
import { Effect } from "effect"
import { plexSpecAvailable, plexSpecMissing } from "./PlexSpecs.js"
import { realStashSchemaAvailable, realStashSchemaMissing } from "./StashSpecs.js"

/** A spec some tests check against, which is not always on disk. */
export interface SpecOnDisk {
  readonly available: boolean
  /** The warning to print when it is absent. */
  readonly missing: () => string
}

/** The Plex OpenAPI spec; `unchecked` says what goes unchecked without it. */
export const plexSpec = (unchecked: string): SpecOnDisk => ({
  available: plexSpecAvailable,
  missing: () => plexSpecMissing(unchecked)
})

/** Stash's real GraphQL schema; `unchecked` says what goes unchecked without it. */
export const realStashSchema = (unchecked: string): SpecOnDisk => ({
  available: realStashSchemaAvailable,
  missing: () => realStashSchemaMissing(unchecked)
})

/** A `describe` block of tests that need `spec`: when it is absent, they are skipped after a warning. */
export const describeWithSpec = (name: string, spec: SpecOnDisk, tests: () => void): void => {
  if (!spec.available) console.warn(spec.missing())
  describe.skipIf(!spec.available)(name, tests)
}

/**
 * `it.effect`, `it.scoped` and `it.scopedLive` with `layer` provided to each test, built afresh for every test
 * (`it.layer` would share one build among the tests of a block). Bound to `test`, the calls are formatted as
 * tests are: `const test = withLayer(NodeHttpClient.layer)`, then `test.scoped("…", () => …)`.
 */
export const withLayer = <ROut, E>(layer: Layer.Layer<ROut, E>) => ({
  effect: <A, E2>(name: string, test: () => Effect.Effect<A, E2, ROut | TestServices.TestServices>) =>
    it.effect(name, () => Effect.provide(test(), layer)),
  scoped: <A, E2>(
    name: string,
    test: () => Effect.Effect<A, E2, ROut | Scope.Scope | TestServices.TestServices>
  ) => it.scoped(name, () => Effect.provide(test(), layer)),
  scopedLive: <A, E2>(name: string, test: () => Effect.Effect<A, E2, ROut | Scope.Scope>) =>
    it.scopedLive(name, () => Effect.provide(test(), layer))
})
