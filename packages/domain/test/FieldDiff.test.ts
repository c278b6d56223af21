import { assert, describe, it } from "@effect/vitest"
import { diffFields, emptyWritten, isEmptyDiff } from "@plexsync/domain/FieldDiff"
import { allFields, type WantedFields, wantedFields } from "@plexsync/domain/FieldMapping"
import type { WrittenFields } from "@plexsync/domain/SyncState"
import * as fc from "fast-check"
import { makeItem, makeScene } from "./fixtures.js"

const plain = { preservePlexEdits: false }
const preserve = { preservePlexEdits: true }

/** Applies an edit the way Plex does: scalars set, tag lists replaced. */
const apply = (item: ReturnType<typeof makeItem>, diff: ReturnType<typeof diffFields>) =>
  makeItem({
    ...item,
    title: diff.edit?.scalars.title ?? item.title,
    summary: diff.edit?.scalars.summary !== undefined ? diff.edit.scalars.summary : item.summary,
    studio: diff.edit?.scalars.studio !== undefined ? diff.edit.scalars.studio : item.studio,
    originallyAvailableAt: diff.edit?.scalars.originallyAvailableAt !== undefined
      ? diff.edit.scalars.originallyAvailableAt
      : item.originallyAvailableAt,
    userRating: diff.rating ? diff.rating.value : item.userRating,
    genres: diff.edit?.tags.genre?.set ?? item.genres,
    actors: diff.edit?.tags.actor?.set ?? item.actors,
    collections: diff.edit?.tags.collection?.set ?? item.collections
  })

describe("scalar diff", () => {
  it("first sync sends every differing field in one locked edit, and the rating separately", () => {
    const wanted = wantedFields(makeScene({ title: "T", rating100: 70 }), allFields)
    const diff = diffFields(wanted, makeItem(), null, plain)
    assert.isTrue(diff.edit!.lock)
    assert.deepStrictEqual(diff.edit!.scalars, {
      title: "T",
      summary: "A summary.",
      studio: "Studio A",
      originallyAvailableAt: "2024-05-06"
    })
    assert.deepStrictEqual(diff.rating, { value: 7 })
  })

  it("sends only what changed", () => {
    const wanted = wantedFields(makeScene({ title: "New" }), allFields)
    const synced = apply(makeItem(), diffFields(wantedFields(makeScene(), allFields), makeItem(), null, plain))
    const diff = diffFields(wanted, synced, null, plain)
    assert.deepStrictEqual(diff.edit!.scalars, { title: "New" })
    assert.deepStrictEqual(diff.edit!.tags, {})
    assert.isNull(diff.rating)
  })

  it("an item that already matches gives no edit and no rating call", () => {
    const wanted = wantedFields(makeScene(), allFields)
    const first = diffFields(wanted, makeItem(), null, plain)
    const again = diffFields(wanted, apply(makeItem(), first), first.written, plain)
    assert.isTrue(isEmptyDiff(again))
    assert.isNull(again.edit)
  })

  it("clears a field Stash cleared (null), never the title", () => {
    const item = makeItem({ title: "Keep", summary: "old", studio: "S", originallyAvailableAt: "2020-01-01" })
    const wanted = wantedFields(makeScene({ title: null, details: null, studio: null, date: null }), allFields)
    const diff = diffFields(wanted, item, null, plain)
    assert.deepStrictEqual(diff.edit!.scalars, { summary: null, studio: null, originallyAvailableAt: null })
  })

  it("a rating change within rounding is no change; null clears", () => {
    assert.isNull(diffFields({ rating: 8.5 }, makeItem({ userRating: 8.5000001 }), null, plain).rating)
    // the smallest real change (rating100 85 → 84) is sent
    assert.deepStrictEqual(diffFields({ rating: 8.4 }, makeItem({ userRating: 8.5 }), null, plain).rating, {
      value: 8.4
    })
    assert.deepStrictEqual(diffFields({ rating: null }, makeItem({ userRating: 6 }), null, plain).rating, {
      value: null
    })
    assert.isNull(diffFields({ rating: null }, makeItem({ userRating: null }), null, plain).rating)
  })

  it("a field that does not sync is never sent", () => {
    const diff = diffFields({ title: "x" }, makeItem({ summary: "kept", genres: ["g"] }), null, plain)
    assert.deepStrictEqual(diff.edit!.scalars, { title: "x" })
    assert.deepStrictEqual(diff.edit!.tags, {})
  })
})

describe("tag lists are sets", () => {
  const written = (overrides: Partial<WrittenFields>): WrittenFields => ({ ...emptyWritten, ...overrides })

  it("adds what is new and keeps what a person added in Plex", () => {
    const item = makeItem({ genres: ["Handpicked"] })
    const diff = diffFields({ genres: ["a", "b"] }, item, written({ genres: [] }), plain)
    assert.deepStrictEqual(diff.edit!.tags.genre, { set: ["a", "b", "Handpicked"], remove: [] })
    assert.deepStrictEqual(diff.written.genres, ["a", "b"])
  })

  it("removes what plexsync added before and Stash dropped, but not a person's tag", () => {
    const item = makeItem({ genres: ["a", "b", "Handpicked"] })
    const diff = diffFields({ genres: ["a"] }, item, written({ genres: ["a", "b"] }), plain)
    assert.deepStrictEqual(diff.edit!.tags.genre, { set: ["a", "Handpicked"], remove: ["b"] })
    assert.deepStrictEqual(diff.written.genres, ["a"])
  })

  it("never claims a name a person had already put in Plex", () => {
    const item = makeItem({ actors: ["Anna"] })
    const first = diffFields({ actors: ["Anna", "Bob"] }, item, null, plain)
    assert.deepStrictEqual(first.written.actors, ["Bob"])
    // Stash drops both: only Bob (plexsync's) goes
    const after = makeItem({ actors: ["Anna", "Bob"] })
    const second = diffFields({ actors: [] }, after, first.written, plain)
    assert.deepStrictEqual(second.edit!.tags.actor, { set: ["Anna"], remove: ["Bob"] })
  })

  it("compares names without regard to case and keeps Plex's spelling", () => {
    const item = makeItem({ genres: ["Outdoor"] })
    const diff = diffFields({ genres: ["outdoor"] }, item, null, plain)
    assert.isNull(diff.edit)
  })

  it("an unchanged set sends nothing, whatever the order", () => {
    const item = makeItem({ collections: ["B", "A"] })
    assert.isNull(diffFields({ collections: ["A", "B"] }, item, written({ collections: ["A", "B"] }), plain).edit)
  })

  it("caps the combined list: wanted names first, then a person's", () => {
    const person = Array.from({ length: 10 }, (_, i) => `mine${i}`)
    const wanted = Array.from({ length: 45 }, (_, i) => `p${i}`)
    const diff = diffFields({ actors: wanted }, makeItem({ actors: person }), null, plain)
    const set = diff.edit!.tags.actor!.set
    assert.strictEqual(set.length, 50)
    assert.deepStrictEqual(set.slice(0, 45), wanted)
    assert.deepStrictEqual(diff.edit!.tags.actor!.remove, person.slice(5))
  })

  it("applying the diff leaves nothing to do; a person's names survive; Stash's names arrive", () => {
    const names = fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e", "f", "g"), { maxLength: 7 })
    fc.assert(
      fc.property(names, names, names, (want, have, prevOwn) => {
        const prev = written({ genres: prevOwn.filter((n) => have.includes(n)) })
        const item = makeItem({ genres: have })
        const diff = diffFields({ genres: want }, item, prev, plain)
        const after = apply(item, diff)
        for (const n of want) assert.include(after.genres, n)
        for (const n of have) {
          if (!prev.genres.includes(n)) assert.include(after.genres, n, `a person's ${n} was removed`)
        }
        for (const n of prev.genres) if (!want.includes(n)) assert.notInclude(after.genres, n)
        assert.isNull(diffFields({ genres: want }, after, diff.written, plain).edit)
      })
    )
  })

  it("maps each list to its Plex tag: genres, actors, collections", () => {
    const wanted: WantedFields = { genres: ["g"], actors: ["a"], collections: ["c"] }
    const diff = diffFields(wanted, makeItem(), null, plain)
    assert.deepStrictEqual(Object.keys(diff.edit!.tags).sort(), ["actor", "collection", "genre"])
    assert.deepStrictEqual(diff.edit!.tags.collection!.set, ["c"])
  })
})

describe("preserve Plex edits", () => {
  it("fills empty fields only, and leaves a person's values alone", () => {
    const item = makeItem({ title: "My title", summary: null, studio: "Mine", userRating: 3 })
    const wanted: WantedFields = { title: "Stash", summary: "S", studio: "Stash studio", rating: 8 }
    const diff = diffFields(wanted, item, null, preserve)
    assert.deepStrictEqual(diff.edit!.scalars, { summary: "S" })
    assert.isNull(diff.rating)
    assert.deepStrictEqual([...diff.preserved].sort(), ["rating", "studio", "title"])
  })

  it("keeps updating values that are plexsync's own", () => {
    const item = makeItem({ summary: "old from stash", userRating: 5 })
    const prev: WrittenFields = { ...emptyWritten, scalars: { summary: "old from stash" }, rating: 5 }
    const diff = diffFields({ summary: "new from stash", rating: 9 }, item, prev, preserve)
    assert.deepStrictEqual(diff.edit!.scalars, { summary: "new from stash" })
    assert.deepStrictEqual(diff.rating, { value: 9 })
    // a value Plex already showed at the first sync is plexsync's too: a later change in Stash still arrives
    const first = diffFields(
      { summary: "same", rating: 5 },
      makeItem({ summary: "same", userRating: 5 }),
      null,
      preserve
    )
    assert.isNull(first.edit)
    const later = diffFields(
      { summary: "changed in Stash", rating: 6 },
      makeItem({ summary: "same", userRating: 5 }),
      first.written,
      preserve
    )
    assert.deepStrictEqual(later.edit?.scalars, { summary: "changed in Stash" })
    assert.deepStrictEqual(later.rating, { value: 6 })
  })

  it("does not clear a person's value either", () => {
    const diff = diffFields({ studio: null }, makeItem({ studio: "Mine" }), null, preserve)
    assert.isNull(diff.edit)
  })

  it("tag lists: fills an empty list, leaves a list holding a person's names", () => {
    assert.deepStrictEqual(
      diffFields({ genres: ["a"] }, makeItem({ genres: [] }), null, preserve).edit!.tags.genre!.set,
      ["a"]
    )
    const kept = diffFields({ genres: ["a"] }, makeItem({ genres: ["mine"] }), null, preserve)
    assert.isNull(kept.edit)
    assert.deepStrictEqual(kept.preserved, ["genre"])
  })
})
