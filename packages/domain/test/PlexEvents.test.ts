import { assert, describe, it } from "@effect/vitest"
import { decodeEvent, makeEventReader } from "@plexsync/domain/PlexEvents"

const activity = (event: string, type = "library.update.section", sectionId: unknown = "2") =>
  JSON.stringify({
    NotificationContainer: {
      type: "activity",
      size: 1,
      ActivityNotification: [{
        event,
        uuid: "a-1",
        Activity: { uuid: "a-1", type, title: "Scanning", progress: 0, Context: { librarySectionID: sectionId } }
      }]
    }
  })

const timeline = (state: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    NotificationContainer: {
      type: "timeline",
      size: 1,
      TimelineEntry: [{
        identifier: "com.plexapp.plugins.library",
        sectionID: 2,
        itemID: 1234,
        type: 1,
        title: "A new scene",
        state,
        metadataState: "created",
        updatedAt: 1_700_000_000,
        ...extra
      }]
    }
  })

describe("Plex's event stream, read", () => {
  it("a scan of a library is announced as started and as ended, with its library", () => {
    const read = makeEventReader()
    assert.deepStrictEqual(read(decodeEvent("activity", activity("started"))), [
      { _tag: "ScanStarted", sectionKey: "2", activity: "a-1" }
    ])
    assert.deepStrictEqual(read(decodeEvent("activity", activity("updated"))), [])
    assert.deepStrictEqual(read(decodeEvent("activity", activity("ended", undefined, 2))), [
      { _tag: "ScanEnded", sectionKey: "2", activity: "a-1" }
    ])
  })

  it("an item created and then done is an item added; a done item never seen created is an edit", () => {
    const read = makeEventReader()
    assert.deepStrictEqual(read(decodeEvent("timeline", timeline(5))), [])
    assert.deepStrictEqual(read(decodeEvent("timeline", timeline(0))), [])
    assert.deepStrictEqual(read(decodeEvent("timeline", timeline(4))), [])
    assert.deepStrictEqual(read(decodeEvent("timeline", timeline(5))), [
      { _tag: "ItemAdded", sectionKey: "2", itemId: "1234" }
    ])
    // Done again later (plexsync's own write, a refresh): not added again.
    assert.deepStrictEqual(read(decodeEvent("timeline", timeline(5))), [])
  })

  it("one entry as an object, bare entries, and entries without the container all read alike", () => {
    const entry = { sectionID: "3", itemID: "9", state: 0 }
    const done = { ...entry, state: 5 }
    const read = makeEventReader()
    read(decodeEvent("timeline", JSON.stringify({ TimelineEntry: entry })))
    assert.deepStrictEqual(read(decodeEvent("timeline", JSON.stringify(done))), [
      { _tag: "ItemAdded", sectionKey: "3", itemId: "9" }
    ])
    const bare = JSON.stringify({ event: "ended", Activity: { type: "library.update.section" } })
    assert.deepStrictEqual(read(decodeEvent("activity", bare)), [{ _tag: "ScanEnded", sectionKey: null, activity: "" }])
  })

  it("unknown event types, other activities, other agents' items and undecodable data are skipped", () => {
    const read = makeEventReader()
    assert.deepStrictEqual(read(decodeEvent("playing", JSON.stringify({ PlaySessionStateNotification: [] }))), [])
    assert.deepStrictEqual(read(decodeEvent("activity", activity("ended", "library.refresh.items"))), [])
    assert.deepStrictEqual(read(decodeEvent("timeline", "{not json")), [])
    assert.deepStrictEqual(read(decodeEvent("timeline", JSON.stringify({ TimelineEntry: [{ state: "x" }] }))), [])
    read(decodeEvent("timeline", timeline(0, { identifier: "com.plexapp.plugins.other" })))
    assert.deepStrictEqual(read(decodeEvent("timeline", timeline(5, { identifier: "com.plexapp.plugins.other" }))), [])
  })

  it("remembers a bounded number of created items", () => {
    const read = makeEventReader({ maxCreated: 2 })
    for (const id of ["1", "2", "3"]) read(decodeEvent("timeline", JSON.stringify({ itemID: id, state: 0 })))
    assert.deepStrictEqual(read(decodeEvent("timeline", JSON.stringify({ itemID: "1", state: 5 }))), [])
    assert.strictEqual(read(decodeEvent("timeline", JSON.stringify({ itemID: "3", state: 5 }))).length, 1)
  })
})
