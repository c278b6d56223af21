import { assert, describe, it } from "@effect/vitest"
import * as Documents from "@plexsync/stash/StashDocuments"
import { fakeStashSchema } from "@plexsync/testing/FakeStash"
import { loadRealStashSchema, realStashSchemaAvailable, realStashSchemaMissing } from "@plexsync/testing/StashSpecs"
import { parse, validate } from "graphql"

const errorsOf = (schema: Parameters<typeof validate>[0], source: string) =>
  validate(schema, parse(source)).map((error) => error.message)

describe("Stash GraphQL documents", () => {
  if (!realStashSchemaAvailable) console.warn(realStashSchemaMissing("every document the Stash client sends"))

  it.skipIf(!realStashSchemaAvailable)("every document the client sends validates against Stash's real schema", () => {
    const schema = loadRealStashSchema()
    assert.isAbove(Documents.allDocuments.length, 10)
    for (const document of Documents.allDocuments) {
      assert.deepStrictEqual(errorsOf(schema, document.source), [], document.name)
    }
  })

  it("the groups documents validate against the fake's current schema, the movies ones against its legacy schema", () => {
    for (const [list, version] of [["groups", "current"], ["movies", "legacy"]] as const) {
      for (const source of Object.values(Documents.sceneDocuments(list))) {
        assert.deepStrictEqual(errorsOf(fakeStashSchema(version), source), [])
      }
    }
    // The legacy (pre-v0.27) schema has no `groups`: the client must not send the groups variant there.
    assert.isNotEmpty(errorsOf(fakeStashSchema("legacy"), Documents.sceneDocuments("groups").sceneById))
  })

  it("no document carries a literal value where a variable belongs", () => {
    for (const document of Documents.allDocuments) {
      // The only literals allowed are fixed choices: sort keys, directions, modifiers, per_page -1, type names.
      const strings = [...document.source.matchAll(/"([^"]*)"/g)].map((match) => match[1])
      for (const value of strings) assert.include(["updated_at", "id", "Scene"], value, document.name)
    }
  })
})
