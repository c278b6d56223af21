import { SqlClient } from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import type { NewDeadLetter } from "@plexsync/domain/DeadLetterQueue"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { ErrorTag } from "@plexsync/domain/Errors"
import type { DeadLetterId } from "@plexsync/domain/Ids"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Arbitrary, Effect, Either, FastCheck as fc, Option, Schema, TestClock } from "effect"
import type { SummaryRecord } from "../src/DeadLetterQueueSqlite.js"
import { pageQuery, SummaryRow, surelySummary } from "../src/DeadLetterQueueSqlite.js"
import { refuseInserts, scene, test } from "./support.js"

const letter = (n: number, failedAt: number, errorTag: ErrorTag = "PlexServerDown"): NewDeadLetter => ({
  sceneId: scene(n),
  errorTag,
  message: `scene ${n} failed`,
  detail: { _tag: errorTag, message: `scene ${n} failed`, status: 503 },
  attempts: 3,
  failedAt,
  outageId: null,
  payload: { sceneId: scene(n), reason: "hook" }
})

const addAll = (letters: ReadonlyArray<NewDeadLetter>) =>
  Effect.flatMap(DeadLetterQueue, (dlq) => Effect.forEach(letters, dlq.add))

describe("DeadLetterQueue on SQLite", () => {
  test.store("add and get keep every field", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      yield* TestClock.setTime(12_345)
      const { failedAt: _, ...withoutTime } = letter(5, 0)
      const id = yield* dlq.add(withoutTime)
      const entry = Option.getOrThrow(yield* dlq.get(id))
      assert.strictEqual(entry.id, id)
      assert.strictEqual(entry.sceneId, "5")
      assert.strictEqual(entry.failedAt, 12_345)
      assert.deepStrictEqual(entry.detail, { _tag: "PlexServerDown", message: "scene 5 failed", status: 503 })
      assert.deepStrictEqual(entry.payload, { sceneId: "5", reason: "hook" })
      assert.strictEqual(entry.attempts, 3)
      assert.isNull(entry.recoveredJobId)
      assert.isTrue(Option.isNone(yield* dlq.get(999 as DeadLetterId)))
    }))

  test.store("a window includes both ends; results come oldest first by (failedAt, id)", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      yield* addAll([
        letter(1, 2000),
        letter(2, 999),
        letter(3, 1500),
        letter(4, 1000),
        letter(5, 2001),
        letter(6, 1500)
      ])
      const { entries, undecodable } = yield* dlq.list({ from: 1000, to: 2000 })
      assert.deepStrictEqual(entries.map((e) => [e.sceneId, e.failedAt]), [
        ["4", 1000],
        ["3", 1500],
        ["6", 1500],
        ["1", 2000]
      ])
      assert.deepStrictEqual(undecodable, [])
      assert.strictEqual(yield* dlq.count({ from: 1000, to: 2000 }), 4)
      assert.strictEqual(yield* dlq.count({ from: 1001, to: 1999 }), 2)
      assert.strictEqual(yield* dlq.count({}), 6)
    }))

  test.store("filters by tags (an empty set selects nothing), scene and recovered state", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      const q = yield* SyncQueue
      yield* addAll([
        letter(1, 100, "PlexServerDown"),
        letter(2, 200, "PlexNotFound"),
        letter(3, 300, "StashUnavailable"),
        letter(1, 400, "PlexNotFound")
      ])
      const tags = (filter: Parameters<typeof dlq.list>[0]) =>
        Effect.map(dlq.list(filter), (l) => l.entries.map((e) => `${e.sceneId}:${e.errorTag}`))
      assert.deepStrictEqual(yield* tags({ errorTags: ["PlexNotFound", "StashUnavailable"] }), [
        "2:PlexNotFound",
        "3:StashUnavailable",
        "1:PlexNotFound"
      ])
      assert.deepStrictEqual(yield* tags({ errorTags: [] }), [])
      assert.strictEqual(yield* dlq.count({ errorTags: [] }), 0)
      assert.deepStrictEqual(yield* tags({ sceneId: scene(1) }), ["1:PlexServerDown", "1:PlexNotFound"])
      const first = (yield* dlq.list({ limit: 1 })).entries[0]!
      yield* dlq.redrive([first], { reason: "recovery" })
      assert.deepStrictEqual(yield* tags({ recovered: true }), ["1:PlexServerDown"])
      assert.strictEqual((yield* tags({ recovered: false })).length, 3)
      assert.deepStrictEqual(yield* dlq.countByTag, { PlexNotFound: 2, StashUnavailable: 1 })
      assert.strictEqual((yield* q.counts).queued, 1)
    }))

  test.store("keyset paging walks the whole selection once, in order", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      yield* addAll(Array.from({ length: 23 }, (_, i) => letter(i + 1, 1000 + (i % 5) * 10)))
      const all = (yield* dlq.list({})).entries.map((e) => e.id)
      const seen: Array<DeadLetterId> = []
      let after: { failedAt: number; id: DeadLetterId } | undefined
      while (true) {
        const page = yield* dlq.list({ limit: 4, ...(after ? { after } : {}) })
        if (page.entries.length === 0) break
        assert.isAtMost(page.entries.length, 4)
        seen.push(...page.entries.map((e) => e.id))
        const last = page.entries[page.entries.length - 1]!
        after = { failedAt: last.failedAt, id: last.id }
      }
      assert.strictEqual(all.length, 23)
      assert.deepStrictEqual(seen, all)
    }))

  test.store("purges entries older than a cutoff, or all of them", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      yield* addAll([letter(1, 100), letter(2, 200), letter(3, 300)])
      assert.strictEqual(yield* dlq.purgeOlderThan(200), 1)
      assert.deepStrictEqual((yield* dlq.list({})).entries.map((e) => e.failedAt), [200, 300])
      assert.strictEqual(yield* dlq.purgeAll, 2)
      assert.strictEqual(yield* dlq.count({}), 0)
    }))

  test.store("redrive queues each entry once; a scene already queued, running or repeated is skipped", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      const q = yield* SyncQueue
      const [a, b, c, d, e] = yield* addAll([letter(1, 10), letter(2, 20), letter(3, 30), letter(1, 40), letter(4, 50)])
      yield* q.enqueue({ sceneId: scene(2), reason: "hook" })
      yield* q.enqueue({ sceneId: scene(4), reason: "hook" })
      yield* q.claim({ limit: 10, leaseMs: 60_000 })
      yield* TestClock.setTime(5000)
      yield* dlq.redrive([{ id: c!, sceneId: scene(3) }], { reason: "recovery" })
      const outcomes = yield* dlq.redrive(
        [a!, b!, c!, d!, e!].map((id, i) => ({ id, sceneId: scene([1, 2, 3, 1, 4][i]!) })),
        { reason: "recovery" }
      )
      assert.deepStrictEqual(outcomes.map((o) => [o._tag, o.id]), [
        ["Recovered", a],
        ["AlreadyQueued", b],
        ["AlreadyRecovered", c],
        ["AlreadyQueued", d],
        ["AlreadyQueued", e]
      ])
      const recovered = outcomes[0]!
      assert.strictEqual(recovered._tag, "Recovered")
      if (recovered._tag !== "Recovered") return
      const job = Option.getOrThrow(yield* q.get(recovered.jobId))
      assert.strictEqual(job.sceneId, "1")
      assert.strictEqual(job.reason, "recovery")
      assert.strictEqual(job.attempts, 0)
      assert.strictEqual(job.availableAt, 5000)
      const entry = Option.getOrThrow(yield* dlq.get(a!))
      assert.strictEqual(entry.recoveredAt, 5000)
      assert.strictEqual(entry.recoveredJobId, recovered.jobId)
      assert.isNull(Option.getOrThrow(yield* dlq.get(d!)).recoveredAt)
      const before = yield* q.counts
      // Re-running the same redrive queues nothing new.
      const rerun = yield* dlq.redrive(
        [a!, b!, c!, d!, e!].map((id, i) => ({ id, sceneId: scene([1, 2, 3, 1, 4][i]!) })),
        { reason: "recovery" }
      )
      assert.deepStrictEqual(rerun.map((o) => o._tag), [
        "AlreadyRecovered",
        "AlreadyQueued",
        "AlreadyRecovered",
        "AlreadyQueued",
        "AlreadyQueued"
      ])
      assert.deepStrictEqual(yield* q.counts, before)
    }))

  test.store("redrive is one transaction: a failure leaves no job queued and no entry marked", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      const q = yield* SyncQueue
      const ids = yield* addAll(Array.from({ length: 600 }, (_, i) => letter(i + 1, i)))
      const acceptInserts = yield* refuseInserts("jobs", scene(550))
      const entries = ids.map((id, i) => ({ id, sceneId: scene(i + 1) }))
      const error = yield* Effect.flip(dlq.redrive(entries, { reason: "recovery" }))
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual((yield* q.counts).queued, 0)
      assert.strictEqual(yield* dlq.count({ recovered: true }), 0)
      yield* acceptInserts
      const outcomes = yield* dlq.redrive(entries, { reason: "recovery" })
      assert.strictEqual(outcomes.filter((o) => o._tag === "Recovered").length, 600)
      assert.strictEqual((yield* q.counts).queued, 600)
      assert.strictEqual(yield* dlq.count({ recovered: true }), 600)
    }))

  test.store("a damaged row is reported with its table and id and does not block the rows behind it", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      const sql = yield* SqlClient
      const [, bad, payloadOnly, , worse] = yield* addAll([1, 2, 3, 4, 5, 6].map((n) => letter(n, n * 100)))
      yield* sql`UPDATE dead_letters SET scene_id = 'two' WHERE id = ${bad}`
      yield* sql`UPDATE dead_letters SET error_tag = 'NoSuchTag' WHERE id = ${worse}`
      // A list decodes only what it shows: a damaged payload is reported by `get` (`dlq show`) alone.
      yield* sql`UPDATE dead_letters SET payload = '{"sceneId": "3", "reas' WHERE id = ${payloadOnly}`
      const shown = yield* Effect.flip(dlq.get(payloadOnly!))
      assert.strictEqual(shown._tag, "RowDecodeError")
      const { entries, undecodable } = yield* dlq.list({})
      assert.deepStrictEqual(entries.map((e) => e.sceneId), ["1", "3", "4", "6"])
      assert.deepStrictEqual(undecodable.map((e) => [e.table, e.rowId]), [
        ["dead_letters", String(bad)],
        ["dead_letters", String(worse)]
      ])
      assert.include(undecodable[0]!.message, `Row ${bad} of table dead_letters`)
      // The limit counts entries, so a page of damaged rows cannot stall paging.
      const page = yield* dlq.list({ limit: 2, after: { failedAt: 100, id: 1 as DeadLetterId } })
      assert.deepStrictEqual(page.entries.map((e) => e.sceneId), ["3", "4"])
      assert.strictEqual(page.undecodable.length, 1)
      const error = yield* Effect.flip(dlq.get(bad!))
      assert.strictEqual(error._tag, "RowDecodeError")
      if (error._tag === "RowDecodeError") {
        assert.strictEqual(error.table, "dead_letters")
        assert.strictEqual(error.rowId, String(bad))
      }
    }))

  test.store("the window query uses the (failed_at, error_tag) index (EXPLAIN QUERY PLAN)", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      const sql = yield* SqlClient
      const tags: ReadonlyArray<ErrorTag> = ["PlexServerDown", "PlexNotFound", "StashUnavailable", "MatchAmbiguous"]
      yield* addAll(Array.from({ length: 3000 }, (_, i) => letter(i % 700 + 1, i * 1000, tags[i % 4]!)))
      yield* sql`ANALYZE`
      const window = {
        from: 1_000_000,
        to: 1_100_000,
        errorTags: ["PlexServerDown", "StashUnavailable"] as Array<ErrorTag>,
        recovered: false
      }
      for (
        const filter of [
          window,
          { ...window, after: { failedAt: 1_050_000, id: 1051 as DeadLetterId } },
          { from: 1_000_000, to: 1_100_000 }
        ]
      ) {
        const plan = yield* sql<{ readonly detail: string }>`EXPLAIN QUERY PLAN ${pageQuery(sql, filter, 100)!}`
        const text = plan.map((row) => row.detail).join("\n")
        assert.match(
          text,
          /SEARCH dead_letters USING INDEX dead_letters_failed \(failed_at>\? AND failed_at<\?\)/,
          text
        )
        assert.notMatch(text, /SCAN dead_letters/, text)
      }
      const { entries } = yield* dlq.list(window)
      assert.strictEqual(entries.length, 51)
    }))

  test.store("unrecoveredScenes: the latest unrecovered entry per scene under the given tags, for many scenes", () =>
    Effect.gen(function*() {
      const dlq = yield* DeadLetterQueue
      const ids = yield* addAll([
        letter(1, 100, "MatchAmbiguous"),
        letter(1, 300, "PlexPermanentError"),
        letter(1, 500, "PlexServerDown"),
        letter(2, 200, "MatchAmbiguous"),
        letter(3, 400, "PlexNotFound"),
        letter(1200, 600, "MatchAmbiguous")
      ])
      yield* dlq.redrive([{ id: ids[3]!, sceneId: scene(2) }], { reason: "recovery" })
      // More scenes than one statement takes: the lookup is split, and still finds scene 1200.
      const asked = Array.from({ length: 1500 }, (_, i) => scene(i + 1))
      const found = yield* dlq.unrecoveredScenes(asked, ["MatchAmbiguous", "PlexPermanentError"])
      assert.deepStrictEqual([...found.entries()].sort(), [[scene(1), 300], [scene(1200), 600]])
      assert.strictEqual((yield* dlq.unrecoveredScenes(asked, [])).size, 0)
      assert.strictEqual((yield* dlq.unrecoveredScenes([], ["MatchAmbiguous"])).size, 0)
    }))

  it("a list's quick row check accepts exactly the rows the schema decodes", () => {
    const decode = Schema.decodeUnknownEither(SummaryRow)
    const valid = Arbitrary.make(SummaryRow) as fc.Arbitrary<SummaryRecord>
    const odd = fc.constantFrom<unknown>(
      null,
      -1,
      0,
      1,
      1.5,
      Number.NaN,
      2 ** 53,
      "1",
      "",
      "abc",
      "12345678901234567890",
      "PlexServerDown",
      "superseded",
      "Unknown",
      undefined
    )
    const fields = Object.keys(SummaryRow.fields)
    // Rows as SQLite could hand them over: valid ones, and valid ones with one column holding something else.
    const row = fc.oneof(
      valid,
      fc.tuple(valid, fc.constantFrom(...fields), odd).map(([r, field, value]) => ({ ...r, [field]: value }))
    )
    fc.assert(
      fc.property(row, (r) => surelySummary(r) === Either.isRight(decode(r))),
      { numRuns: 2000 }
    )
    // The quick check is what lists take: every valid row passes it.
    fc.assert(fc.property(valid, (r) => surelySummary(r)), { numRuns: 500 })
  })
})
