/**
 * What the chaos cases share: quick vs full sizing, temporary directories, the store on a file, raw access to a
 * database file from this process (for looking, never for the code under test), and child processes.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { chaosDir, repoRoot } from "./hostResolve.js"

export { chaosDir, repoRoot }

/** `pnpm chaos` sets CHAOS_FULL=1; the normal test run gets the quick variant of each case. */
export const full = process.env["CHAOS_FULL"] === "1"
export const size = <A>(quick: A, fullSize: A): A => full ? fullSize : quick

/** One line saying what a case saw, printed in the full run (the quick run stays quiet unless CHAOS_VERBOSE=1). */
export const report = (line: string) => {
  if (full || process.env["CHAOS_VERBOSE"] === "1") console.info(`chaos: ${line}`)
}

const made: Array<string> = []
process.once("exit", () => {
  for (const dir of made) {
    try {
      fs.rmSync(dir, { recursive: true, force: true })
    } catch {
      // Still mounted, or already gone: nothing to do.
    }
  }
})

/** A temporary directory, removed when the test process exits. */
export const tempDir = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `plexsync-chaos-${prefix}-`))
  made.push(dir)
  return dir
}

export const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex")

// -------------------------------------------------------------------------------------------------------------
// better-sqlite3 as the store loads it (a dependency of @effect/sql-sqlite-node), for looking at files directly

const sqliteRequire = (() => {
  const fromSqlite = createRequire(path.join(repoRoot, "packages", "sqlite", "package.json"))
  return createRequire(fromSqlite.resolve("@effect/sql-sqlite-node/package.json"))
})()

/** The path of the better-sqlite3 package the store uses (child scripts `require` it by this path). */
export const betterSqlite3Path = sqliteRequire.resolve("better-sqlite3")

export interface RawDb {
  readonly prepare: (sql: string) => {
    readonly all: (...params: ReadonlyArray<unknown>) => Array<any>
    readonly get: (...params: ReadonlyArray<unknown>) => any
    readonly run: (...params: ReadonlyArray<unknown>) => { readonly changes: number }
  }
  readonly pragma: (text: string, options?: { readonly simple?: boolean }) => unknown
  readonly exec: (sql: string) => void
  readonly close: () => void
}

/** Opens a database file directly (read-only unless asked), to check what the code under test left in it. */
export const openRaw = (file: string, options: { readonly readonly?: boolean } = {}): RawDb => {
  const Sqlite = sqliteRequire("better-sqlite3") as new(file: string, options?: object) => RawDb
  const db = new Sqlite(file, { readonly: options.readonly ?? true, fileMustExist: true })
  db.pragma("busy_timeout = 5000")
  return db
}

// -------------------------------------------------------------------------------------------------------------
// Child processes

export interface Child {
  readonly proc: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Resolves when a line of stdout or stderr matches. */
  readonly waitFor: (pattern: RegExp, timeoutMs: number) => Promise<string>
  readonly kill9: () => Promise<void>
}

export const startChild = (
  command: string,
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Record<string, string>
    readonly cwd?: string
    readonly stdin?: string
    /** Leave stdin open for the case to write (`proc.stdin`). */
    readonly openStdin?: boolean
  } = {}
): Child => {
  const proc = spawn(command, [...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin === undefined && options.openStdin !== true ? "ignore" : "pipe", "pipe", "pipe"]
  })
  if (options.stdin !== undefined) proc.stdin!.end(options.stdin)
  let out = ""
  let err = ""
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = []
  const check = () => {
    for (const w of [...waiters]) {
      const line = (out + "\n" + err).split("\n").find((l) => w.pattern.test(l))
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  }
  proc.stdout!.on("data", (b: Buffer) => {
    out += b.toString()
    check()
  })
  proc.stderr!.on("data", (b: Buffer) => {
    err += b.toString()
    check()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("close", (code, signal) => resolve({ code, signal }))
  )
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${err.slice(-2000)}`))
        }, timeoutMs)
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer)
            resolve(line)
          }
        })
        void exited.then(() => {
          clearTimeout(timer)
          reject(new Error(`exited before a line matched ${pattern}; stderr: ${err.slice(-2000)}`))
        })
        check()
      }),
    kill9: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL")
      await exited
    }
  }
}

/** Runs a TypeScript entry of this repository the way `pnpm plexsync` / `pnpm scheduler` do (tsx, sources). */
export const tsxArgs = (entry: string, args: ReadonlyArray<string> = []) => [
  "--import",
  "tsx",
  "--conditions=@plexsync/source",
  path.resolve(repoRoot, entry),
  ...args
]

/**
 * Another process that holds the write lock of a database: `BEGIN IMMEDIATE`, then nothing until released.
 * Resolves once the lock is held.
 */
export const holdWriteLock = async (file: string) => {
  const script = `
    const Sqlite = require(${JSON.stringify(betterSqlite3Path)})
    const db = new Sqlite(${JSON.stringify(file)})
    db.pragma("busy_timeout = 10000")
    db.exec("BEGIN IMMEDIATE")
    db.prepare("UPDATE settings SET value = value WHERE 0").run()
    process.stdout.write("locked\\n")
    process.stdin.on("data", () => { db.exec("COMMIT"); db.close(); process.exit(0) })
  `
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (b: Buffer) => b.toString().includes("locked") && resolve())
    child.on("exit", (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)))
  })
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
  return {
    pid: child.pid!,
    release: async () => {
      child.stdin!.write("release\n")
      await exited
    },
    kill: async () => {
      child.kill("SIGKILL")
      await exited
    }
  }
}
