/**
 * One queue measurement in one process with a fresh database file; prints one JSON line.
 *
 *   queue-child <impl> <op> <n> <dbDir>
 *     impl: raw | plainjob | plexsync
 *     op:   enqueue-single | enqueue-batch | process | fail | dlq-window | overhead
 *
 * `queue.ts` runs this file as an esbuild bundle under plain `node` (or under tsx when esbuild is not found), so
 * peak RSS is the process's own and not a TypeScript loader's. Only the measured operation is timed; set-up
 * (pre-population) is excluded, as in the peer harness (queue-anchors.md, Appendix A).
 *
 * Every implementation runs with the same SQLite settings: journal_mode=WAL, synchronous=NORMAL,
 * busy_timeout=5000 (plainjob sets these itself; plexsync's Database layer sets them, plus foreign_keys=ON).
 */
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { ErrorTag } from "@plexsync/domain/Errors"
import { SceneId } from "@plexsync/domain/Ids"
import type { EnqueueInput } from "@plexsync/domain/SyncJob"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { tuneHeap } from "@plexsync/runtime/Heap"
import * as Database from "@plexsync/sqlite/Database"
import { pageQuery } from "@plexsync/sqlite/DeadLetterQueueSqlite"
import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import Sqlite from "better-sqlite3"
import { Effect, Logger, LogLevel } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { better, defineQueue, defineWorker } from "plainjob"

const [impl = "", op = "", nArg = "0", dbDir = "."] = process.argv.slice(2)
const N = Number(nArg)
const BATCH = 1000
const dbFile = path.join(dbDir, `${impl}-${op}-${process.pid}.db`)
const cleanup = () => {
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(dbFile + suffix, { force: true })
}
cleanup()

/** The peer harness's payload (about 120 B of JSON) for the raw and plainjob rows. */
const payload = (i: number) => ({
  sceneId: i,
  op: "metadata",
  fields: { title: `Scene ${i}`, studio: "Studio", date: "2024-01-01", rating: i % 5 }
})
const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * CPU time (user + system) of the last timed section: on a shared machine the wall clock also counts the time the
 * process waited for a core, CPU time only the work done.
 */
let cpuStart: NodeJS.CpuUsage | undefined
let cpuMs: number | undefined
const startTiming = () => {
  cpuStart = process.cpuUsage()
  return performance.now()
}
const stopTiming = () => {
  const used = process.cpuUsage(cpuStart)
  cpuMs = (used.user + used.system) / 1000
}

const report = (ms: number, extra: Record<string, unknown> = {}) => {
  // With --expose-gc: the heap still live at the end, which tells retained memory from a lazily grown heap.
  const mb = (bytes: number) => Number((bytes / 1048576).toFixed(1))
  const before = process.memoryUsage()
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) gc()
  console.log(JSON.stringify({
    heapTotalMB: mb(before.heapTotal),
    externalMB: mb(before.external),
    ...(gc === undefined ? {} : { heapAfterGcMB: mb(process.memoryUsage().heapUsed) }),
    impl,
    op,
    n: N,
    ms: Number(ms.toFixed(2)),
    perSec: Math.round((N / ms) * 1000),
    ...(cpuMs === undefined ? {} : { cpuMs: Number(cpuMs.toFixed(2)), cpuPerSec: Math.round((N / cpuMs) * 1000) }),
    maxRssMB: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
    ...extra
  }))
}

/** The DLQ window case: rows spread evenly over 30 days, four error types, a one-hour window of two of them. */
const DLQ_T0 = 1_700_000_000_000
const DLQ_SPAN = 30 * 86_400_000
const DLQ_WINDOW = { from: DLQ_T0 + 10 * 86_400_000, to: DLQ_T0 + 10 * 86_400_000 + 3_600_000 }
const DLQ_TAGS: ReadonlyArray<ErrorTag> = ["PlexServerDown", "PlexTemporaryError", "PlexNotFound", "StashUnavailable"]
const DLQ_WINDOW_TAGS: ReadonlyArray<ErrorTag> = ["PlexServerDown", "PlexTemporaryError"]
/** Repetitions of each DLQ query within a child; its figure is their median. */
const DLQ_REPS = 41
const failedAt = (i: number) => DLQ_T0 + Math.floor((i / N) * DLQ_SPAN)

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

// -------------------------------------------------------------------------------------------------------------
// raw better-sqlite3: the limit, as the peer harness measures it

const raw = () => {
  const db = new Sqlite(dbFile)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  db.pragma("busy_timeout = 5000")
  db.exec(`CREATE TABLE jobs (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL,
    status INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
    run_at INTEGER NOT NULL, lease_until INTEGER, created_at INTEGER NOT NULL, dedup_key TEXT);
    CREATE INDEX jobs_claim ON jobs(status, run_at);`)
  const ins = db.prepare("INSERT INTO jobs(kind,payload,run_at,created_at) VALUES (?,?,?,?)")
  const rows = () => Array.from({ length: N }, (_, i) => JSON.stringify(payload(i)))
  const prepopulate = () => {
    const now = Date.now()
    const data = rows()
    db.transaction(() => {
      for (const r of data) ins.run("sync", r, now, now)
    })()
  }
  const claim = db.prepare(`UPDATE jobs SET status=1, lease_until=?, attempts=attempts+1
    WHERE id = (SELECT id FROM jobs WHERE status=0 AND run_at<=? ORDER BY run_at, id LIMIT 1) RETURNING id, payload`)
  const del = db.prepare("DELETE FROM jobs WHERE id=?")
  type Claimed = { id: number; payload: string } | undefined
  /** Claims the due jobs one by one until none is left, handing each to `handle`; returns how many. */
  const drain = (handle: (job: NonNullable<Claimed>) => void) => {
    let done = 0
    for (;;) {
      const now = Date.now()
      const j = claim.get(now + 60_000, now) as Claimed
      if (j === undefined) break
      handle(j)
      done++
    }
    return done
  }
  let t0 = 0
  let ms = 0
  let extra: Record<string, unknown> = {}
  switch (op) {
    case "enqueue-single": {
      const data = rows()
      t0 = startTiming()
      for (const r of data) {
        const now = Date.now()
        ins.run("sync", r, now, now)
      }
      ms = performance.now() - t0
      stopTiming()
      break
    }
    case "enqueue-batch": {
      const data = rows()
      const tx = db.transaction((b: ReadonlyArray<string>) => {
        const now = Date.now()
        for (const r of b) ins.run("sync", r, now, now)
      })
      t0 = startTiming()
      for (const b of chunks(data, BATCH)) tx(b)
      ms = performance.now() - t0
      stopTiming()
      break
    }
    case "process": {
      prepopulate()
      t0 = startTiming()
      const done = drain((j) => {
        JSON.parse(j.payload)
        del.run(j.id)
      })
      ms = performance.now() - t0
      stopTiming()
      if (done !== N) throw new Error(`processed ${done} of ${N}`)
      break
    }
    case "fail": {
      prepopulate()
      db.exec(`CREATE TABLE dlq (id INTEGER PRIMARY KEY, job_id INTEGER, kind TEXT, payload TEXT, error_type TEXT,
        error_message TEXT, attempts INTEGER, failed_at INTEGER NOT NULL);
        CREATE INDEX dlq_failed_at ON dlq(failed_at, error_type);`)
      const insD = db.prepare(
        "INSERT INTO dlq(job_id,kind,payload,error_type,error_message,attempts,failed_at) VALUES (?,?,?,?,?,?,?)"
      )
      const move = db.transaction((j: { id: number; payload: string }) => {
        insD.run(j.id, "sync", j.payload, "TargetDown", "connect ECONNREFUSED 127.0.0.1:32400", 5, Date.now())
        del.run(j.id)
      })
      t0 = startTiming()
      const done = drain(move)
      ms = performance.now() - t0
      stopTiming()
      if (done !== N) throw new Error(`moved ${done} of ${N}`)
      break
    }
    case "dlq-window": {
      db.exec(`CREATE TABLE dlq (id INTEGER PRIMARY KEY, job_id INTEGER, entity_id INTEGER, payload TEXT,
        error_type TEXT, error_message TEXT, attempts INTEGER, failed_at INTEGER NOT NULL, recovered_at INTEGER)`)
      const insD = db.prepare(
        "INSERT INTO dlq(job_id,entity_id,payload,error_type,error_message,attempts,failed_at) VALUES (?,?,?,?,?,?,?)"
      )
      db.transaction(() => {
        for (let i = 0; i < N; i++) {
          insD.run(i, i % 50_000, JSON.stringify(payload(i)), DLQ_TAGS[i % 4], "boom", 5, failedAt(i))
        }
      })()
      const q = db.prepare(`SELECT id, entity_id, error_type, failed_at, payload FROM dlq
        WHERE failed_at BETWEEN ? AND ? AND error_type IN ('PlexServerDown','PlexTemporaryError')
        AND recovered_at IS NULL ORDER BY failed_at`)
      const timeQ = (times: number) => {
        const reps: Array<number> = []
        const cpu: Array<number> = []
        let n = 0
        for (let r = 0; r < times; r++) {
          const t = startTiming()
          n = q.all(DLQ_WINDOW.from, DLQ_WINDOW.to).length
          reps.push(performance.now() - t)
          stopTiming()
          cpu.push(cpuMs!)
        }
        return { ms: median(reps), cpuMs: median(cpu), rows: n }
      }
      const plan = () =>
        (db.prepare("EXPLAIN QUERY PLAN " + q.source).all(DLQ_WINDOW.from, DLQ_WINDOW.to) as Array<
          { detail: string }
        >).map((r) => r.detail).join("; ")
      const noIndex = timeQ(7)
      const planNoIndex = plan()
      db.exec("CREATE INDEX dlq_failed_at ON dlq(failed_at, error_type)")
      const withIndex = timeQ(DLQ_REPS)
      ms = withIndex.ms
      cpuMs = withIndex.cpuMs
      extra = {
        rows: withIndex.rows,
        noIndexMs: Number(noIndex.ms.toFixed(2)),
        plan: plan(),
        planNoIndex
      }
      break
    }
    default:
      throw new Error(`raw: unknown op ${op}`)
  }
  db.close()
  report(ms, extra)
}

// -------------------------------------------------------------------------------------------------------------
// plainjob 0.0.14 (better-sqlite3 adapter), as the peer harness drives it

const silent = { error() {}, warn() {}, info() {}, debug() {} }

const plainjob = async () => {
  const queue = defineQueue({ connection: better(new Sqlite(dbFile)), logger: silent, maintenanceInterval: 3_600_000 })
  const data = Array.from({ length: N }, (_, i) => payload(i))
  const runWorker = (handler: () => Promise<void>) =>
    new Promise<void>((resolve) => {
      let seen = 0
      const finish = () => {
        if (++seen === N) void worker.stop().then(resolve)
      }
      const worker = defineWorker("sync", handler, {
        queue,
        logger: silent,
        pollIntervall: 1,
        onCompleted: finish,
        onFailed: finish
      })
      void worker.start()
    })
  let t0 = 0
  let ms = 0
  switch (op) {
    case "enqueue-single":
      t0 = startTiming()
      for (const d of data) queue.add("sync", d)
      ms = performance.now() - t0
      stopTiming()
      break
    case "enqueue-batch":
      t0 = startTiming()
      for (const b of chunks(data, BATCH)) queue.addMany("sync", [...b])
      ms = performance.now() - t0
      stopTiming()
      break
    case "process":
      for (const b of chunks(data, 10_000)) queue.addMany("sync", [...b])
      t0 = startTiming()
      await runWorker(async () => {})
      ms = performance.now() - t0
      stopTiming()
      break
    case "fail":
      for (const b of chunks(data, 10_000)) queue.addMany("sync", [...b])
      t0 = startTiming()
      await runWorker(async () => {
        throw new Error("TargetDown")
      })
      ms = performance.now() - t0
      stopTiming()
      break
    default:
      throw new Error(`plainjob: unknown op ${op}`)
  }
  report(ms)
  queue.close()
}

// -------------------------------------------------------------------------------------------------------------
// plexsync: the SyncQueue and DeadLetterQueue services on the live SQLite store, through their Effect layers

const plexsync = () => {
  // The heap growth plexsync's programs set for themselves (`plexsync run` and the scheduler run the queue).
  tuneHeap()
  const input = (i: number): EnqueueInput => ({ sceneId: SceneId.make(String(i + 1)), reason: "hook" })
  // Built before timing for the enqueue cases only, so memory figures see the store and not the bench's arrays.
  const inputs = op.startsWith("enqueue") ? Array.from({ length: N }, (_, i) => input(i)) : []
  const failure = {
    tag: "PlexServerDown" as const,
    message: "Plex refused the connection (connect ECONNREFUSED 127.0.0.1:32400)",
    detail: { _tag: "PlexServerDown", message: "Plex refused the connection", code: "ECONNREFUSED" }
  }
  const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const t0 = startTiming()
      const value = yield* effect
      const ms = performance.now() - t0
      stopTiming()
      return { ms, value }
    })
  const prepopulate = Effect.gen(function*() {
    const q = yield* SyncQueue
    for (let from = 0; from < N; from += 10_000) {
      yield* q.enqueueMany(Array.from({ length: Math.min(10_000, N - from) }, (_, i) => input(from + i)))
    }
  })

  const program = Effect.gen(function*() {
    const q = yield* SyncQueue
    switch (op) {
      case "enqueue-single": {
        const { ms } = yield* timed(Effect.gen(function*() {
          for (const input of inputs) yield* q.enqueue(input)
        }))
        return { ms, extra: {} }
      }
      case "enqueue-batch": {
        const { ms } = yield* timed(Effect.gen(function*() {
          for (const b of chunks(inputs, BATCH)) yield* q.enqueueMany(b)
        }))
        return { ms, extra: {} }
      }
      case "process": {
        yield* prepopulate
        // Peak RSS so far: how much of the process's peak the set-up (100 000 enqueues) accounts for.
        const setupRssMB = Number((process.resourceUsage().maxRSS / 1024).toFixed(1))
        const { ms, value } = yield* timed(Effect.gen(function*() {
          let done = 0
          for (;;) {
            const claimed = yield* q.claim({ limit: 1, leaseMs: 60_000 })
            if (claimed.length === 0) return done
            // The no-op sync.
            yield* q.complete(claimed[0]!)
            done++
          }
        }))
        if (value !== N) throw new Error(`processed ${value} of ${N}`)
        return { ms, extra: { setupRssMB } }
      }
      case "fail": {
        yield* prepopulate
        const { ms, value } = yield* timed(Effect.gen(function*() {
          let done = 0
          for (;;) {
            const claimed = yield* q.claim({ limit: 1, leaseMs: 60_000 })
            if (claimed.length === 0) return done
            yield* q.deadLetter(claimed[0]!, { failure, outageId: null, countAttempt: true })
            done++
          }
        }))
        if (value !== N) throw new Error(`dead-lettered ${value} of ${N}`)
        return { ms, extra: {} }
      }
      case "dlq-window": {
        const dlq = yield* DeadLetterQueue
        const { sql } = yield* Database.Database
        // 1M rows are written straight into the store's table (the write path is measured by "fail").
        const writer = new Sqlite(dbFile)
        writer.pragma("busy_timeout = 5000")
        const insert = writer.prepare(`INSERT INTO dead_letters (scene_id, error_tag, message, detail, attempts,
          failed_at, outage_id, payload) VALUES (?, ?, ?, ?, 5, ?, NULL, ?)`)
        writer.transaction(() => {
          for (let i = 0; i < N; i++) {
            const tag = DLQ_TAGS[i % 4]!
            const scene = String((i % 50_000) + 1)
            insert.run(
              scene,
              tag,
              "boom",
              JSON.stringify({ _tag: tag, message: "boom" }),
              failedAt(i),
              JSON.stringify({ sceneId: scene, reason: "hook" })
            )
          }
        })()
        writer.close()
        yield* sql`ANALYZE`
        const filter = { ...DLQ_WINDOW, errorTags: DLQ_WINDOW_TAGS, recovered: false }
        const [text, params] = pageQuery(sql, filter, 1000)!.compile()
        const plan = yield* sql.unsafe<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params)
        const { query } = yield* Database.Database
        // The list's own statement on better-sqlite3 directly, and through the store's prepared path without
        // decoding: what the statement itself costs, apart from making entries of its rows.
        const direct = new Sqlite(dbFile, { readonly: true })
        const statement = direct.prepare(text)
        const cpuOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          Effect.map(timed(effect), ({ ms, value }) => ({ ms, cpu: cpuMs!, value }))
        const m = {
          list: [] as Array<number>,
          listCpu: [] as Array<number>,
          count: [] as Array<number>,
          query: [] as Array<number>,
          queryCpu: [] as Array<number>,
          direct: [] as Array<number>,
          directCpu: [] as Array<number>
        }
        let rows = 0
        let counted = 0
        // Interleaved, so that a busy moment of a shared machine falls on all of them alike.
        for (let r = 0; r < DLQ_REPS; r++) {
          const listed = yield* cpuOf(dlq.list(filter))
          m.list.push(listed.ms)
          m.listCpu.push(listed.cpu)
          rows = listed.value.entries.length
          const c = yield* timed(dlq.count(filter))
          m.count.push(c.ms)
          counted = c.value
          const q = yield* cpuOf(query(text, params))
          m.query.push(q.ms)
          m.queryCpu.push(q.cpu)
          const d = yield* cpuOf(Effect.sync(() => statement.all(...params)))
          m.direct.push(d.ms)
          m.directCpu.push(d.cpu)
        }
        direct.close()
        cpuMs = median(m.listCpu)
        const fixed = (xs: ReadonlyArray<number>) => Number(median(xs).toFixed(2))
        return {
          ms: median(m.list),
          extra: {
            rows,
            counted,
            countMs: fixed(m.count),
            queryOnlyMs: fixed(m.query),
            queryOnlyCpuMs: fixed(m.queryCpu),
            statementMs: fixed(m.direct),
            statementCpuMs: fixed(m.directCpu),
            plan: plan.map((p) => p.detail).join("; ")
          }
        }
      }
      case "overhead": {
        // The cost of one trivial statement through the store's Effect SQL paths against better-sqlite3 directly:
        // the statement builder (`sql\`…\``) and the prepared path the queue's hot operations use (`query`).
        const db = yield* Database.Database
        const direct = new Sqlite(dbFile)
        const select = direct.prepare("SELECT ? AS x")
        const viaBuilder: Array<number> = []
        const viaQuery: Array<number> = []
        const viaRaw: Array<number> = []
        for (let r = 0; r < 3; r++) {
          const a = yield* timed(Effect.gen(function*() {
            for (let i = 0; i < N; i++) yield* db.sql`SELECT ${i} AS x`
          }))
          viaBuilder.push(a.ms)
          const b = yield* timed(Effect.gen(function*() {
            for (let i = 0; i < N; i++) yield* db.query("SELECT ? AS x", [i])
          }))
          viaQuery.push(b.ms)
          const t0 = performance.now()
          for (let i = 0; i < N; i++) select.all(i)
          viaRaw.push(performance.now() - t0)
        }
        direct.close()
        const us = (xs: ReadonlyArray<number>) => Number((median(xs) / N * 1000).toFixed(1))
        return {
          ms: median(viaQuery),
          extra: { builderUs: us(viaBuilder), queryUs: us(viaQuery), rawUs: us(viaRaw) }
        }
      }
      default:
        throw new Error(`plexsync: unknown op ${op}`)
    }
  })

  return Effect.runPromise(
    program.pipe(
      Effect.provide(storeOnFile(dbFile)),
      Logger.withMinimumLogLevel(LogLevel.Warning)
    )
  ).then(({ extra, ms }) => report(ms, extra))
}

const main = async () => {
  fs.mkdirSync(dbDir, { recursive: true })
  try {
    if (impl === "raw") raw()
    else if (impl === "plainjob") await plainjob()
    else if (impl === "plexsync") await plexsync()
    else throw new Error(`unknown implementation ${impl}`)
  } finally {
    cleanup()
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
