import { assert, it } from "@effect/vitest"
import { fakeStashSchema } from "@plexsync/testing/FakeStash"
import { loadRealStashSchema } from "@plexsync/testing/StashSpecs"
import { describeWithSpec, realStashSchema } from "@plexsync/testing/TestSuites"
import type { GraphQLNamedType, GraphQLSchema } from "graphql"
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isRequiredArgument,
  isRequiredInputField,
  isScalarType
} from "graphql"

/**
 * Differences between the fake's schema and Stash's: every type, field, argument and enum value the fake
 * has must exist in Stash with the same name, type and nullability; and nothing Stash requires (a
 * non-null argument or input field without a default) may be missing from the fake.
 */
const subsetProblems = (fake: GraphQLSchema, real: GraphQLSchema): Array<string> => {
  const problems: Array<string> = []
  const fakeTypes = Object.values(fake.getTypeMap()).filter((type) => !type.name.startsWith("__"))
  for (const type of fakeTypes) {
    const realType: GraphQLNamedType | undefined | null = real.getType(type.name)
    if (realType === undefined || realType === null) {
      problems.push(`type ${type.name} does not exist in Stash`)
      continue
    }
    if (isScalarType(type)) {
      if (!isScalarType(realType)) problems.push(`${type.name} is a scalar in the fake only`)
    } else if (isEnumType(type)) {
      if (!isEnumType(realType)) {
        problems.push(`${type.name} is an enum in the fake only`)
        continue
      }
      const realValues = new Set(realType.getValues().map((value) => value.name))
      for (const value of type.getValues()) {
        if (!realValues.has(value.name)) problems.push(`enum value ${type.name}.${value.name} does not exist in Stash`)
      }
    } else if (isObjectType(type) || isInterfaceType(type)) {
      if (!isObjectType(realType) && !isInterfaceType(realType)) {
        problems.push(`${type.name} is an object type in the fake only`)
        continue
      }
      const realFields = realType.getFields()
      for (const field of Object.values(type.getFields())) {
        const realField = realFields[field.name]
        if (realField === undefined) {
          problems.push(`field ${type.name}.${field.name} does not exist in Stash`)
          continue
        }
        if (String(field.type) !== String(realField.type)) {
          problems.push(`${type.name}.${field.name} is ${field.type} in the fake, ${realField.type} in Stash`)
        }
        const realArgs = new Map(realField.args.map((arg) => [arg.name, arg]))
        for (const arg of field.args) {
          const realArg = realArgs.get(arg.name)
          if (realArg === undefined) problems.push(`argument ${type.name}.${field.name}(${arg.name}) is not in Stash`)
          else if (String(arg.type) !== String(realArg.type)) {
            problems.push(
              `${type.name}.${field.name}(${arg.name}) is ${arg.type} in the fake, ${realArg.type} in Stash`
            )
          }
        }
        for (const realArg of realField.args) {
          if (isRequiredArgument(realArg) && !field.args.some((arg) => arg.name === realArg.name)) {
            problems.push(`${type.name}.${field.name} lacks Stash's required argument ${realArg.name}`)
          }
        }
      }
    } else if (isInputObjectType(type)) {
      if (!isInputObjectType(realType)) {
        problems.push(`${type.name} is an input type in the fake only`)
        continue
      }
      const realFields = realType.getFields()
      const fakeFields = type.getFields()
      for (const field of Object.values(fakeFields)) {
        const realField = realFields[field.name]
        if (realField === undefined) problems.push(`input field ${type.name}.${field.name} does not exist in Stash`)
        else if (String(field.type) !== String(realField.type)) {
          problems.push(`${type.name}.${field.name} is ${field.type} in the fake, ${realField.type} in Stash`)
        }
      }
      for (const realField of Object.values(realFields)) {
        if (isRequiredInputField(realField) && fakeFields[realField.name] === undefined) {
          problems.push(`${type.name} lacks Stash's required input field ${realField.name}`)
        }
      }
    } else {
      problems.push(`${type.name}: unions are not expected in the fake`)
    }
  }
  return problems
}

describeWithSpec("the fake Stash's schema", realStashSchema("the fake Stash's schema"), () => {
  it("is a faithful subset of Stash's real schema (current and legacy)", () => {
    const real = loadRealStashSchema()
    assert.deepStrictEqual(subsetProblems(fakeStashSchema("current"), real), [])
    assert.deepStrictEqual(subsetProblems(fakeStashSchema("legacy"), real), [])
  })

  it("the check catches a field whose nullability differs", async () => {
    const { buildSchema } = await import("graphql")
    const real = loadRealStashSchema()
    const drifted = buildSchema("type Query { findScene(id: ID): Scene }\ntype Scene { id: ID!, title: String! }")
    assert.deepStrictEqual(subsetProblems(drifted, real), ["Scene.title is String! in the fake, String in Stash"])
    const missingRequired = buildSchema(
      "type Query { version: Version! }\ntype Version { hash: String! }\n" +
        "input TimestampCriterionInput { value: String! }"
    )
    assert.deepStrictEqual(subsetProblems(missingRequired, real), [
      "TimestampCriterionInput lacks Stash's required input field modifier"
    ])
  })
})
