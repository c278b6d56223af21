import { assert, describe, it } from "@effect/vitest"
import { encodeValue, joinQuery } from "../src/PlexQuery.js"

describe("PlexQuery", () => {
  it("encodes a string with a lone surrogate (from a garbled Plex key or Stash title) instead of throwing", () => {
    // encodeURIComponent throws URIError on these; it crashed the worker on a section key of "\ud800".
    assert.strictEqual(encodeValue("a\ud800b"), "a%EF%BF%BDb")
    assert.strictEqual(encodeValue("\udc00"), "%EF%BF%BD")
    assert.strictEqual(joinQuery([["title", "x\ud83d"]]), "title=x%EF%BF%BD")
    // A well-formed pair is kept as it is.
    assert.strictEqual(encodeValue("\ud83d\ude00 (1)"), "%F0%9F%98%80%20%281%29")
  })
})
