import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref, TestClock } from "effect"
import { formatDuration, formatTime, keyValues, makeProgress, table, versioned } from "../src/Present.js"

describe("formatDuration", () => {
  it("uses at most two units, largest first", () => {
    assert.strictEqual(formatDuration(3_900_000), "1h 5m")
    assert.strictEqual(formatDuration(3_905_000), "1h 5m")
    assert.strictEqual(formatDuration(3_600_000), "1h")
    assert.strictEqual(formatDuration(3_605_000), "1h")
    assert.strictEqual(formatDuration(2 * 86_400_000 + 14 * 3_600_000 + 5000), "2d 14h")
    assert.strictEqual(formatDuration(45_000), "45s")
    assert.strictEqual(formatDuration(61_000), "1m 1s")
    assert.strictEqual(formatDuration(850), "850ms")
    assert.strictEqual(formatDuration(0), "0ms")
  })
})

describe("formatTime", () => {
  it("shows local time with the zone", () => {
    const t = Date.UTC(2026, 1, 15, 19, 17, 49)
    const d = new Date(t)
    const text = formatTime(t)
    const local = `${d.getFullYear()}-02-${String(d.getDate()).padStart(2, "0")} ${
      String(d.getHours()).padStart(2, "0")
    }:${String(d.getMinutes()).padStart(2, "0")}:49`
    assert.isTrue(text.startsWith(local), text)
    assert.isTrue(text.length > local.length + 1, "a zone follows the time")
  })
})

describe("table", () => {
  it("aligns columns, right-aligning numbers", () => {
    const out = table([{ header: "TAG" }, { header: "COUNT", align: "right" }, { header: "NOTE" }], [
      ["PlexServerDown", "12", "outage"],
      ["MatchAmbiguous", "1", ""]
    ])
    assert.strictEqual(
      out,
      [
        "TAG             COUNT  NOTE",
        "PlexServerDown     12  outage",
        "MatchAmbiguous      1"
      ].join("\n")
    )
  })

  it("cuts long cells", () => {
    const out = table([{ header: "A", maxWidth: 5 }], [["abcdefgh"]])
    assert.strictEqual(out.split("\n")[1], "abcd…")
  })
})

describe("makeProgress", () => {
  it.effect("prints plain lines at most once a second, only when something changed, and a final line", () =>
    Effect.gen(function*() {
      const lines = yield* Ref.make<Array<string>>([])
      const progress = yield* makeProgress({
        label: "sync",
        total: 100,
        tty: false,
        write: (text) => Ref.update(lines, (xs) => [...xs, text])
      })
      yield* TestClock.adjust("500 millis")
      yield* progress.advance(10)
      assert.deepStrictEqual(yield* Ref.get(lines), [], "nothing before the interval")
      yield* TestClock.adjust("500 millis")
      yield* progress.advance(10)
      yield* TestClock.adjust("1 second")
      yield* progress.setTotal(100)
      yield* TestClock.adjust("1 second")
      yield* progress.advance(20)
      yield* progress.setNote("next job due in 25s")
      yield* TestClock.adjust("1 second")
      yield* progress.setNote("next job due in 25s")
      yield* progress.finish
      assert.deepStrictEqual(yield* Ref.get(lines), [
        "sync: 20/100 (20/s, ETA 4s)\n",
        "sync: 40/100 (13/s, ETA 4s)\n",
        "sync: 40/100 (10/s, ETA 6s) · next job due in 25s\n",
        "sync: 40/100 (in 4s)\n"
      ])
    }))

  it.effect("redraws a bar in place on a terminal, with its note, cut to the terminal's width", () =>
    Effect.gen(function*() {
      const shown: Array<string> = []
      const ended: Array<string> = []
      const progress = yield* makeProgress({
        label: "run",
        total: 4,
        tty: true,
        width: 4,
        columns: 40,
        line: { show: (t) => void shown.push(t), end: (t) => void ended.push(t) }
      })
      yield* progress.setNote("plex breaker open, probe in 9s")
      assert.strictEqual(shown.at(-1), "run [----] 0/4 · plex breaker open, pr…")
      yield* TestClock.adjust("1 second")
      yield* progress.setNote(null)
      assert.strictEqual(shown.at(-1), "run [----] 0/4")
      yield* TestClock.adjust("1 second")
      yield* progress.advance(2)
      assert.strictEqual(shown.at(-1), "run [##--] 2/4 1.0/s, ETA 2s")
      yield* progress.finish
      assert.deepStrictEqual(ended, ["run [##--] 2/4 in 2s"])
      yield* progress.advance(1)
      assert.lengthOf(ended, 1, "nothing after the end")
    }))
})

describe("keyValues and versioned", () => {
  it("continues a value of several lines under its first line", () => {
    assert.strictEqual(
      keyValues([["Queue", "empty"], ["Breakers", "plex closed\nstash closed"]]),
      "Queue:     empty\nBreakers:  plex closed\n           stash closed"
    )
  })

  it("puts the version first in a document", () => {
    assert.deepStrictEqual(Object.keys(versioned("1.2.3", { a: 1, b: null })), ["version", "a", "b"])
    assert.deepStrictEqual(versioned("1.2.3", [1]), { version: "1.2.3", result: [1] })
  })
})

describe("makeProgress on a narrow terminal", () => {
  it.effect("drops the ETA, then the rate, before the note", () =>
    Effect.gen(function*() {
      const shown: Array<string> = []
      const progress = yield* makeProgress({
        label: "run",
        total: 6,
        tty: true,
        columns: 70,
        line: { show: (t) => void shown.push(t), end: () => undefined }
      })
      yield* TestClock.adjust("2 seconds")
      yield* progress.advance(2)
      assert.strictEqual(shown.at(-1), "run [########----------------] 2/6 1.0/s, ETA 4s")
      yield* TestClock.adjust("1 second")
      yield* progress.setNote("4 to retry · next job due in 3s")
      assert.strictEqual(shown.at(-1), "run [########----------------] 2/6 · 4 to retry · next job due in 3s")
    }))
})
