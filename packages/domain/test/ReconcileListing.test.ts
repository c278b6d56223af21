import { assert, describe, it } from "@effect/vitest"
import { diffFields, isEmptyDiff } from "@plexsync/domain/FieldDiff"
import type { WantedFields } from "@plexsync/domain/FieldMapping"
import { blankPlexItem, PlexItem, PlexSection } from "@plexsync/domain/PlexClient"
import type { TagCaps } from "@plexsync/domain/PlexIndex"
import { listedDifferences, PlexIndexBuilder, textHash, toListed, wholeLists } from "@plexsync/domain/PlexIndex"
import type { WrittenFields } from "@plexsync/domain/SyncState"
import { applyEdit } from "@plexsync/testing/SimPlex"
import { FastCheck as fc } from "effect"

/**
 * The listing comparison must agree with the sync itself: with whole tag lists it reports a difference exactly
 * when `diffFields` would write something; with lists cut short as Plex's listings cut them, it never reports an
 * item a sync has just written (or a reconciliation right after a repair would find work forever).
 */

const pool = ["Anna", "anna", "Bob", "Cleo", "Dax", "Eve", "Finn"]
const names = fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 6, selector: (n) => n.toLowerCase() })
const anyNames = fc.array(fc.constantFrom(...pool), { maxLength: 6 }).map((xs) => [...new Set(xs)])
const text = fc.constantFrom("One", "Two", "Three")
const date = fc.constantFrom("2020-01-01", "2021-06-15")
const rating = fc.constantFrom(0, 2.5, 8, 8.5, 10)
const optional = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined })

const wantedArb: fc.Arbitrary<WantedFields> = fc.record({
  title: optional(text),
  summary: optional(fc.option(text, { nil: null })),
  studio: optional(fc.option(text, { nil: null })),
  originallyAvailableAt: optional(fc.option(date, { nil: null })),
  rating: optional(fc.option(rating, { nil: null })),
  genres: optional(names),
  actors: optional(names),
  collections: optional(names)
}).map((w) => Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)) as WantedFields)

const itemArb = fc.record({
  title: fc.constantFrom("", "One", "Two", "file"),
  summary: fc.option(fc.constantFrom("", "One", "Two"), { nil: null }),
  studio: fc.option(text, { nil: null }),
  originallyAvailableAt: fc.option(date, { nil: null }),
  userRating: fc.option(rating, { nil: null }),
  genres: anyNames,
  actors: anyNames,
  collections: anyNames
}).map((fields) =>
  new PlexItem({
    ratingKey: "1",
    sectionKey: "1",
    thumb: null,
    files: ["/data/1.mp4"],
    // As on an item plexsync has synced: it locks every field it writes, and Plex locks every field a person edits.
    // A listing shows no locks, so its preserve-mode rule takes a value that is not plexsync's for a person's.
    lockedFields: ["title", "summary", "studio", "originallyAvailableAt"],
    ...fields
  })
)

const writtenArb: fc.Arbitrary<WrittenFields> = fc.record({
  scalars: fc.dictionary(
    fc.constantFrom("title", "summary", "studio", "originallyAvailableAt"),
    fc.option(fc.constantFrom("One", "Two", "2020-01-01"), { nil: null })
  ),
  rating: fc.option(rating, { nil: null }),
  genres: names,
  actors: names,
  collections: names
})

const syncOnce = (wanted: WantedFields, item: PlexItem, previous: WrittenFields, preservePlexEdits: boolean) => {
  const diff = diffFields(wanted, item, previous, { preservePlexEdits })
  let after = diff.edit === null ? item : applyEdit(item, diff.edit)
  if (diff.rating !== null) after = new PlexItem({ ...after, userRating: diff.rating.value })
  return { after, written: diff.written }
}

/** A listing's view: each tag list in some order, cut to the server's limit (2 genres, 3 actors). */
const cut = (item: PlexItem, order: ReadonlyArray<number>) => {
  const shuffle = (xs: ReadonlyArray<string>) =>
    xs.map((x, i) => [x, order[i % order.length]!] as const).sort((a, b) => a[1] - b[1]).map(([x]) => x)
  return new PlexItem({
    ...item,
    genres: shuffle(item.genres).slice(0, 2),
    actors: shuffle(item.actors).slice(0, 3)
  })
}

describe("comparing a listed Plex item", () => {
  it.prop(
    "with whole lists, reports a difference exactly when a sync would write something",
    { wanted: wantedArb, item: itemArb, previous: writtenArb, preserve: fc.boolean() },
    ({ item, preserve, previous, wanted }) => {
      const listed = listedDifferences(wanted, toListed(item), previous, {
        preservePlexEdits: preserve,
        caps: wholeLists
      })
      const diff = diffFields(wanted, item, previous, { preservePlexEdits: preserve })
      assert.strictEqual(listed.length > 0, !isEmptyDiff(diff), `listed: ${listed.join(",")}`)
    },
    { fastCheck: { numRuns: 3000 } }
  )

  it.prop(
    "right after a sync, a listing cut short reports nothing, whatever the server's cut and the order it lists in",
    {
      wanted: wantedArb,
      item: itemArb,
      previous: writtenArb,
      preserve: fc.boolean(),
      order: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 6 }),
      extra: fc.record({ genres: fc.nat(3), actors: fc.nat(3), collections: fc.nat(3) })
    },
    ({ extra, item, order, preserve, previous, wanted }) => {
      const { after, written } = syncOnce(wanted, item, previous, preserve)
      const shown = cut(after, order)
      // The longest list seen anywhere: at least this item's, at most the server's cut.
      const caps: TagCaps = {
        genres: Math.min(2, shown.genres.length + extra.genres),
        actors: Math.min(3, shown.actors.length + extra.actors),
        collections: shown.collections.length + extra.collections
      }
      const listed = listedDifferences(wanted, toListed(shown), written, { preservePlexEdits: preserve, caps })
      assert.deepStrictEqual(listed, [])
    },
    { fastCheck: { numRuns: 3000 } }
  )

  it("a list shorter than the longest one seen is whole: a missing tag there is a difference", () => {
    const wanted: WantedFields = { genres: ["A", "B"] }
    const written: WrittenFields = { scalars: {}, rating: null, genres: ["A", "B"], actors: [], collections: [] }
    const item = (genres: ReadonlyArray<string>) => toListed(new PlexItem({ ...cut(item0, [0]), genres: [...genres] }))
    const item0 = blankPlexItem({ ratingKey: "1", sectionKey: "1", title: "t", files: [] })
    const caps = { genres: 2, actors: 3, collections: Infinity }
    const opts = { preservePlexEdits: false, caps }
    assert.deepStrictEqual(listedDifferences(wanted, item(["A"]), written, opts), ["genres"])
    assert.deepStrictEqual(listedDifferences(wanted, item(["a", "b"]), written, opts), [])
    // Two shown of a possibly longer list: what is not shown proves nothing.
    assert.deepStrictEqual(listedDifferences({ genres: ["A", "B", "C"] }, item(["A", "B"]), written, opts), [])
    // A kind no listed item shows at all is not compared.
    assert.deepStrictEqual(listedDifferences(wanted, item([]), written, { ...opts, caps: { ...caps, genres: 0 } }), [])
  })

  it("the index keeps each item once, finds it by any of its files, and learns the listing's cut", () => {
    const section = new PlexSection({ key: "1", title: "Adult", type: "movie", locations: ["/data"] })
    const builder = new PlexIndexBuilder([section])
    const base = {
      sectionKey: "1",
      title: "t",
      summary: "A long summary ".repeat(100),
      studio: null,
      originallyAvailableAt: null,
      userRating: 7,
      thumb: null,
      actors: [],
      collections: [],
      lockedFields: []
    }
    builder.add(
      new PlexItem({ ...base, ratingKey: "1", genres: ["a", "b"], files: ["/data/1.mp4", "/data/1b.mp4"] }),
      0
    )
    builder.add(new PlexItem({ ...base, ratingKey: "1", genres: ["a", "b"], files: ["/data/1.mp4"] }), 0)
    builder.add(new PlexItem({ ...base, ratingKey: "2", genres: ["c"], files: ["/data/2.mp4"] }), 0)
    builder.add(new PlexItem({ ...base, ratingKey: "3", genres: [], files: ["/data/2.mp4"] }), 0)
    const index = builder.build()
    assert.strictEqual(index.size, 3)
    assert.deepStrictEqual(index.caps, { genres: 2, actors: 0, collections: 0 })
    const one = index.lookup("/data/1b.mp4")
    assert.isTrue(one._tag === "One" && index.ratingKey(one.item) === "1")
    const two = index.lookup("/data//2.mp4")
    assert.isTrue(two._tag === "Several" && two.items.map(index.ratingKey).join() === "2,3")
    assert.strictEqual(index.lookup("/data/3.mp4")._tag, "None")
    const listed = index.listed(0)
    assert.strictEqual(listed.rating, 7)
    assert.strictEqual(listed.scalars.summary, textHash(base.summary))
    index.markSeen(0)
    assert.deepStrictEqual([...index.unseen()].map(index.ratingKey), ["2", "3"])
  })
})
