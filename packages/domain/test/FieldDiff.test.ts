import { assert, describe, it } from "@effect/vitest"
import { diffFields, emptyWritten, isEmptyDiff } from "@plexsync/domain/FieldDiff"
import { allFields, type WantedFields, wantedFields } from "@plexsync/domain/FieldMapping"
import type { PlexItemFields } from "@plexsync/domain/PlexClient"
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

  it("in preserve mode, never claims a name a person had already put in Plex", () => {
    const item = makeItem({ actors: ["Anna"] })
    const first = diffFields({ actors: ["Anna", "Bob"] }, item, null, preserve)
    assert.deepStrictEqual(first.written.actors, ["Bob"])
    // Stash drops both: only Bob (plexsync's) goes
    const after = makeItem({ actors: ["Anna", "Bob"] })
    const second = diffFields({ actors: [] }, after, first.written, preserve)
    assert.deepStrictEqual(second.edit!.tags.actor, { set: ["Anna"], remove: ["Bob"] })
  })

  it("by default owns every Stash name on the item, one Plex already had included: a later rename reaches it", () => {
    // A reinstall or a lost database: Plex already shows what Stash says.
    const item = makeItem({ genres: ["4K", "Drama"], actors: ["Kim O'Neil"] })
    const first = diffFields({ genres: ["4K", "Drama"], actors: ["Kim O'Neil"] }, item, null, plain)
    assert.isNull(first.edit)
    assert.deepStrictEqual([first.written.genres, first.written.actors], [["4K", "Drama"], ["Kim O'Neil"]])
    // Stash renames 4K to UHD and the performer: the old names go, nothing is left beside the new ones.
    const second = diffFields({ genres: ["UHD", "Drama"], actors: ["Kim Hooked"] }, item, first.written, plain)
    assert.deepStrictEqual(second.edit!.tags.genre, { set: ["UHD", "Drama"], remove: ["4K"] })
    assert.deepStrictEqual(second.edit!.tags.actor, { set: ["Kim Hooked"], remove: ["Kim O'Neil"] })
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

describe("preserve Plex edits: a person's edit is a locked field plexsync did not write", () => {
  const written = (overrides: Partial<WrittenFields>): WrittenFields => ({ ...emptyWritten, ...overrides })

  type Outcome = "write" | "keep" | "nothing"
  interface Case {
    readonly name: string
    readonly wanted: WantedFields
    readonly item: Partial<PlexItemFields>
    readonly previous: WrittenFields | null
    /** What happens to the field in preserve mode, and outside it. */
    readonly preserve: Outcome
    readonly plain: Outcome
  }
  const cases: ReadonlyArray<Case> = [
    {
      name: "an unlocked scanner title (the file name) is replaced",
      wanted: { title: "Café Noir" },
      item: { title: "Cafe Noir 0001" },
      previous: null,
      preserve: "write",
      plain: "write"
    },
    {
      name: "an unlocked scanner title is replaced on a later sync too",
      wanted: { title: "Café Noir" },
      item: { title: "Cafe Noir 0001" },
      previous: written({ scalars: { summary: "S" } }),
      preserve: "write",
      plain: "write"
    },
    {
      name: "an unlocked agent value, not plexsync's, is replaced",
      wanted: { studio: "Stash studio" },
      item: { studio: "From the agent" },
      previous: written({ scalars: { studio: "Stash studio" } }),
      preserve: "write",
      plain: "write"
    },
    {
      name: "an unlocked empty field is filled",
      wanted: { summary: "S" },
      item: { summary: null },
      previous: null,
      preserve: "write",
      plain: "write"
    },
    {
      name: "a locked title a person typed is kept",
      wanted: { title: "Café Noir II" },
      item: { title: "My title", lockedFields: ["title"] },
      previous: written({ scalars: { title: "Café Noir" } }),
      preserve: "keep",
      plain: "write"
    },
    {
      name: "a locked title on an item plexsync never wrote is a person's",
      wanted: { title: "Café Noir" },
      item: { title: "My title", lockedFields: ["title"] },
      previous: null,
      preserve: "keep",
      plain: "write"
    },
    {
      name: "a locked value equal to what plexsync wrote is plexsync's, and replaced",
      wanted: { title: "Café Noir II" },
      item: { title: "Café Noir", lockedFields: ["title"] },
      previous: written({ scalars: { title: "Café Noir" } }),
      preserve: "write",
      plain: "write"
    },
    {
      name: "a field a person cleared (locked, empty) stays empty",
      wanted: { summary: "S" },
      item: { summary: null, lockedFields: ["summary"] },
      previous: written({ scalars: { summary: "S" } }),
      preserve: "keep",
      plain: "write"
    },
    {
      name: "a person's locked value is not cleared either",
      wanted: { studio: null },
      item: { studio: "Mine", lockedFields: ["studio"] },
      previous: null,
      preserve: "keep",
      plain: "write"
    },
    {
      name: "a lock on another field proves nothing about this one",
      wanted: { title: "Café Noir" },
      item: { title: "Cafe Noir 0001", lockedFields: ["summary", "genre"] },
      previous: null,
      preserve: "write",
      plain: "write"
    },
    {
      name: "a locked value that already matches sends nothing",
      wanted: { title: "Café Noir" },
      item: { title: "Café Noir", lockedFields: ["title"] },
      previous: null,
      preserve: "nothing",
      plain: "nothing"
    },
    {
      name: "a rating plexsync did not write is a person's (ratings cannot be locked; no agent sets them)",
      wanted: { rating: 8 },
      item: { userRating: 3 },
      previous: written({ rating: 5 }),
      preserve: "keep",
      plain: "write"
    },
    {
      name: "a rating plexsync wrote is replaced",
      wanted: { rating: 8 },
      item: { userRating: 5 },
      previous: written({ rating: 5 }),
      preserve: "write",
      plain: "write"
    }
  ]

  const outcome = (c: Case, options: typeof plain) => {
    const diff = diffFields(c.wanted, makeItem(c.item), c.previous, options)
    const field = Object.keys(c.wanted)[0] as keyof WantedFields
    if (field === "rating") {
      if (diff.rating !== null) return "write"
      return diff.preserved.includes("rating") ? "keep" : "nothing"
    }
    const sent = diff.edit !== null && field in diff.edit.scalars
    if (sent) {
      assert.strictEqual(diff.edit!.scalars[field as "title"], c.wanted[field as "title"])
      assert.isTrue(diff.edit!.lock)
      assert.notInclude(diff.preserved, field)
      return "write"
    }
    // A kept field is not recorded as plexsync's: it stays the person's on the next sync.
    if (diff.preserved.includes(field)) {
      assert.notProperty(diff.written.scalars, field)
      return "keep"
    }
    return "nothing"
  }

  for (const c of cases) {
    it(`${c.name}: ${c.preserve} in preserve mode, ${c.plain} outside it`, () => {
      assert.strictEqual(outcome(c, preserve), c.preserve, "preserve mode")
      assert.strictEqual(outcome(c, plain), c.plain, "outside preserve mode")
    })
  }

  for (const options of [preserve, plain]) {
    const mode = options.preservePlexEdits ? "preserve mode" : "outside preserve mode"
    it(`lists keep the set rule ${mode}: a person's genre stays, a new Stash tag is added, a dropped one removed`, () => {
      // plexsync wrote Outdoor and Beach (and locked the list); a person added Handpicked (Plex locked it again).
      const item = makeItem({ genres: ["Outdoor", "Beach", "Handpicked"], lockedFields: ["genre"] })
      const diff = diffFields(
        { genres: ["Outdoor", "Night"] },
        item,
        written({ genres: ["Outdoor", "Beach"] }),
        options
      )
      assert.deepStrictEqual(diff.edit!.tags.genre, { set: ["Outdoor", "Night", "Handpicked"], remove: ["Beach"] })
      assert.deepStrictEqual(diff.written.genres, ["Outdoor", "Night"])
      assert.deepStrictEqual(diff.preserved, [])
      // and an empty list is filled
      assert.deepStrictEqual(diffFields({ genres: ["a"] }, makeItem(), null, options).edit!.tags.genre!.set, ["a"])
    })
  }

  it("a scanner title is replaced, and later Stash titles keep arriving; a person's title then stays", () => {
    let item = makeItem({ title: "Cafe Noir 0001" })
    const first = diffFields({ title: "Café Noir" }, item, null, preserve)
    item = apply(item, first)
    item = makeItem({ ...item, lockedFields: ["title"] }) // plexsync's edit locked it
    assert.strictEqual(item.title, "Café Noir")
    const second = diffFields({ title: "Café Noir II" }, item, first.written, preserve)
    assert.deepStrictEqual(second.edit?.scalars, { title: "Café Noir II" })
    item = apply(item, second)
    // A person retitles it in Plex's UI (the field stays locked): Stash's next title does not overwrite it.
    item = makeItem({ ...item, title: "Our favourite" })
    const third = diffFields({ title: "Café Noir III" }, item, second.written, preserve)
    assert.isNull(third.edit)
    assert.deepStrictEqual(third.preserved, ["title"])
    // ...and stays the person's on every sync after.
    assert.isNull(diffFields({ title: "Café Noir IV" }, item, third.written, preserve).edit)
  })

  it("applying a preserve-mode diff leaves nothing to do, and never sends a locked value plexsync did not write", () => {
    const value = fc.constantFrom<string | null>(null, "One", "Two")
    fc.assert(
      fc.property(
        fc.record({ want: fc.constantFrom("One", "Two"), have: value, prev: fc.option(value), locked: fc.boolean() }),
        ({ have, locked, prev, want }) => {
          const previous = prev === null ? null : written({ scalars: { summary: prev } })
          const item = makeItem({ summary: have, lockedFields: locked ? ["summary"] : [] })
          const diff = diffFields({ summary: want }, item, previous, preserve)
          const persons = locked && (previous === null || previous.scalars["summary"] !== have)
          if (persons && have !== want) assert.isNull(diff.edit)
          else if (have !== want) assert.strictEqual(diff.edit?.scalars.summary, want)
          const after = makeItem({
            ...apply(item, diff),
            lockedFields: diff.edit === null ? item.lockedFields : ["summary"]
          })
          assert.isNull(diffFields({ summary: want }, after, diff.written, preserve).edit)
        }
      )
    )
  })
})
