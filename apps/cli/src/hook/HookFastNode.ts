import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { FastOutcome, OpenSqlite } from "./HookFast.js"
import { runFastHook } from "./HookFast.js"

/**
 * Runs the hook's fast path in this process: reads stdin, and either answers (returns `undefined`) or hands the
 * input it read to the Effect path. `deps` opens SQLite; the bundle supplies its own. `build` identifies the
 * build (see `HookConfigMemo`).
 */
export interface FastDeps {
  readonly openSqlite: OpenSqlite
}

/**
 * All of stdin, synchronously. A pipe set up by Node or libuv may be non-blocking (EAGAIN until data comes), so
 * reads are retried after a short pause; a terminal or a closed stdin reads as no input.
 */
const readStdin = (): string => {
  if (process.stdin.isTTY) return ""
  const chunks: Array<Buffer> = []
  const buffer = Buffer.alloc(65_536)
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (;;) {
    let read: number
    try {
      read = Fs.readSync(0, buffer, 0, buffer.length, null)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === "EAGAIN") {
        Atomics.wait(pause, 0, 0, 2)
        continue
      }
      if (code === "EOF") break
      throw error
    }
    if (read === 0) break
    chunks.push(Buffer.from(buffer.subarray(0, read)))
  }
  return Buffer.concat(chunks).toString("utf8")
}

export const runFast = (deps: FastDeps, configFlag: string | undefined, build: string): string | undefined => {
  let input: string
  try {
    input = readStdin()
  } catch {
    input = ""
  }
  let outcome: FastOutcome
  try {
    outcome = runFastHook({
      input,
      configFlag,
      env: process.env,
      cwd: process.cwd(),
      homedir: Os.homedir(),
      build,
      readFile: (path) => Fs.readFileSync(path, "utf8"),
      openSqlite: deps.openSqlite,
      log: (text) => void process.stderr.write(text),
      now: Date.now
    })
  } catch {
    // Anything unexpected here is for the Effect path, which reports it properly.
    return input
  }
  if (outcome._tag === "Fallback") return outcome.input
  process.stdout.write(JSON.stringify(outcome.reply) + "\n")
  return undefined
}

/**
 * better-sqlite3 as the store loads it: it is a dependency of @effect/sql-sqlite-node (through @plexsync/sqlite),
 * not of this app, so it is resolved through them.
 */
export const nodeDeps = (fromUrl: string): FastDeps => {
  // The nearest node_modules/@plexsync/sqlite above this module (the app's own dependency).
  let dir = Path.dirname(fileURLToPath(fromUrl))
  while (!Fs.existsSync(Path.join(dir, "node_modules", "@plexsync", "sqlite"))) {
    const parent = Path.dirname(dir)
    if (parent === dir) throw new Error("@plexsync/sqlite is not installed")
    dir = parent
  }
  const sqlitePackage = Fs.realpathSync(Path.join(dir, "node_modules", "@plexsync", "sqlite"))
  const fromSqlite = createRequire(Path.join(sqlitePackage, "package.json"))
  const fromClient = createRequire(fromSqlite.resolve("@effect/sql-sqlite-node/package.json"))
  const BetterSqlite3 = fromClient("better-sqlite3") as new(
    filename: string,
    options: { readonly fileMustExist: boolean; readonly nativeBinding?: string }
  ) => ReturnType<OpenSqlite>
  // Naming the addon spares better-sqlite3's search for it.
  const addon = Path.join(Path.dirname(fromClient.resolve("better-sqlite3/package.json")), "build", "Release")
  const nativeBinding = Path.join(addon, "better_sqlite3.node")
  const named = Fs.existsSync(nativeBinding) ? { nativeBinding } : {}
  return {
    openSqlite: (filename, options) => new BetterSqlite3(filename, { ...options, ...named })
  }
}
