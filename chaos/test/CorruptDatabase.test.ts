/**
 * Invariant: a damaged database file is refused loudly when the store opens — a typed `StoreError` of reason
 * `corrupt` naming the file and saying what to do (restore a backup, or move it away); `plexsync` commands and the
 * scheduler exit 1 with that message and no stack trace — and the file is never replaced or modified. A `-wal` cut off mid-frame (a crash while appending) is not damage: the database opens
 * consistent with the transactions committed before the cut.
 */
import { assert, describe, it } from "@effect/vitest"
import { SceneId } from "@plexsync/domain/Ids"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as Database from "@plexsync/sqlite/Database"
import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import { Effect, Either, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { full, openRaw, sha256, size, startChild, tempDir, tsxArgs } from "../lib/Chaos.js"

const JOBS = size(2_000, 20_000)

/** A healthy database holding `JOBS` queued jobs, checkpointed so every page is in the main file. */
const healthy = (dir: string) =>
  Effect.gen(function*() {
    const file = path.join(dir, "plexsync.db")
    yield* Effect.gen(function*() {
      const queue = yield* SyncQueue
      yield* queue.enqueueMany(
        Array.from({ length: JOBS }, (_, i) => ({ sceneId: SceneId.make(String(i + 1)), reason: "bulk" as const }))
      )
    }).pipe(Effect.provide(storeOnFile(file)), Effect.scoped)
    const raw = openRaw(file, { readonly: false })
    raw.pragma("wal_checkpoint(TRUNCATE)")
    raw.close()
    return file
  })

/**
 * A plexsync process started on the damaged file must refuse it: exit 1, the file and what to do in a line or two,
 * no stack trace.
 */
const assertProcessRefuses = (file: string, entry: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const child = startChild(process.execPath, tsxArgs(entry, args), {
      env: {
        PLEXSYNC_DATA_DIR: path.dirname(file),
        PLEXSYNC_PLEX_TOKEN: "chaos",
        PLEXSYNC_HTTP_ADDR: "127.0.0.1:0",
        PLEXSYNC_LOG_LEVEL: "warning"
      }
    })
    const { code } = yield* Effect.promise(() => child.exited)
    const said = child.stdout() + child.stderr()
    assert.strictEqual(
      code,
      1,
      `${entry} ${args.join(" ")} exited ${code} on a damaged database: ${said.slice(-1_000)}`
    )
    assert.include(said, file)
    assert.match(said, /restore it from a backup/)
    assert.notMatch(said, /^\s+at /m, "a stack trace was printed")
  })

/** Opening must fail with `corrupt`, say what to do, and leave every byte as it was. */
const assertRefused = (file: string) =>
  Effect.gen(function*() {
    const before = sha256(file)
    const opened = yield* Effect.either(
      Effect.scoped(Layer.build(Database.layer({ filename: file })))
    )
    assert.isTrue(Either.isLeft(opened), "a damaged database file was opened")
    if (Either.isLeft(opened)) {
      assert.strictEqual(opened.left._tag, "StoreError")
      assert.strictEqual(opened.left.reason, "corrupt")
      assert.include(opened.left.message, file)
      assert.match(opened.left.message, /restore it from a backup/)
      assert.match(opened.left.message, /move it away/)
    }
    assert.strictEqual(sha256(file), before, "the damaged file was modified")
    assert.isTrue(fs.existsSync(file))
  })

describe("chaos: a corrupted database file", () => {
  it.live("garbage instead of the SQLite header: refused, untouched", () =>
    Effect.gen(function*() {
      const file = yield* healthy(tempDir("corrupt-header"))
      const fd = fs.openSync(file, "r+")
      fs.writeSync(fd, Buffer.from("this is not an SQLite database!"), 0, 31, 0)
      fs.closeSync(fd)
      yield* assertRefused(file)
      const before = sha256(file)
      yield* assertProcessRefuses(file, "apps/cli/src/bin.ts", ["status"])
      assert.strictEqual(sha256(file), before, "plexsync status modified the damaged file")
    }))

  it.live("a b-tree page overwritten in the middle of the file: refused by the integrity check, untouched", () =>
    Effect.gen(function*() {
      const file = yield* healthy(tempDir("corrupt-page"))
      const pageSize = 4096
      const pages = fs.statSync(file).size / pageSize
      assert.isAtLeast(pages, 10)
      // Scribble over the b-tree headers of pages in the middle of the file (table and index pages alike).
      const fd = fs.openSync(file, "r+")
      for (let page = Math.floor(pages / 3); page < Math.floor(pages / 3) + 4; page++) {
        fs.writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, page * pageSize)
      }
      fs.closeSync(fd)
      yield* assertRefused(file)
      if (full) {
        const before = sha256(file)
        yield* assertProcessRefuses(file, "apps/cli/src/bin.ts", ["run"])
        yield* assertProcessRefuses(file, "apps/scheduler/src/bin.ts", [])
        assert.strictEqual(sha256(file), before, "a process modified the damaged file")
      }
    }))

  it.live("a -wal cut off mid-frame: opens consistent with the transactions before the cut", () =>
    Effect.gen(function*() {
      const dir = tempDir("torn-wal")
      const file = path.join(dir, "plexsync.db")
      const batches = 10
      // Commit batches, keep the WAL (no checkpoint), and copy the files as a crash would leave them.
      yield* Effect.gen(function*() {
        const queue = yield* SyncQueue
        for (let b = 0; b < batches; b++) {
          yield* queue.enqueueMany(
            Array.from({ length: 100 }, (_, i) => ({ sceneId: SceneId.make(String(b * 100 + i + 1)), reason: "bulk" }))
          )
        }
        const copy = path.join(dir, "crash")
        fs.mkdirSync(copy)
        for (const suffix of ["", "-wal"]) fs.copyFileSync(file + suffix, path.join(copy, "plexsync.db" + suffix))
      }).pipe(Effect.provide(storeOnFile(file)), Effect.scoped)
      const crashed = path.join(dir, "crash", "plexsync.db")
      const wal = crashed + "-wal"
      const walSize = fs.statSync(wal).size
      assert.isAbove(walSize, 32 + 4096 + 24)
      // Cut inside the last frame.
      fs.truncateSync(wal, walSize - 1000)

      const stored = yield* Effect.gen(function*() {
        const queue = yield* SyncQueue
        return (yield* queue.counts).queued
      }).pipe(Effect.provide(storeOnFile(crashed)), Effect.scoped)
      // Whole batches only: the cut transaction is gone, every earlier one is there.
      assert.strictEqual(stored % 100, 0)
      assert.isAtLeast(stored, 100)
      assert.isBelow(stored, batches * 100)
      const raw = openRaw(crashed)
      assert.strictEqual(raw.pragma("integrity_check", { simple: true }), "ok")
      const ids = raw.prepare("SELECT CAST(scene_id AS INTEGER) AS n FROM jobs ORDER BY n").all().map((r) => r.n)
      raw.close()
      assert.deepStrictEqual(ids, Array.from({ length: stored }, (_, i) => i + 1))
    }))
})
