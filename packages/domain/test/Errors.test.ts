import { assert, describe, it } from "@effect/vitest"
import * as Errors from "@plexsync/domain/Errors"
import { Schema } from "effect"

describe("error taxonomy", () => {
  it("ErrorTag is exactly the tags of the SyncError classes, in their order", () => {
    assert.deepStrictEqual(
      [...Errors.ErrorTag.literals],
      Errors.SyncError.members.map((cls) => cls._tag)
    )
    assert.deepStrictEqual(Errors.allErrorTags, Errors.ErrorTag.literals)
    assert.lengthOf(new Set(Errors.allErrorTags), Errors.SyncError.members.length)
  })

  it("decodes every tag of the union and nothing else", () => {
    for (const tag of Errors.allErrorTags) assert.isTrue(Schema.is(Errors.ErrorTag)(tag), tag)
    assert.isFalse(Schema.is(Errors.ErrorTag)("BreakerOpen"))
    assert.isFalse(Schema.is(Errors.ErrorTag)("plexServerDown"))
  })

  it("round-trips an error through its tag (as the DLQ stores it)", () => {
    const error = new Errors.PlexServerDown({ message: "refused", code: "ECONNREFUSED" })
    const encoded = Schema.encodeSync(Errors.SyncError)(error)
    assert.strictEqual(encoded._tag, "PlexServerDown")
    assert.isTrue(Schema.is(Errors.ErrorTag)(encoded._tag))
    assert.deepStrictEqual(Schema.decodeUnknownSync(Errors.SyncError)(encoded), error)
  })
})
