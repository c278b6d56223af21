import type { Option } from "effect"
import { Either } from "effect"
import type { AppConfigShape, YamlParser } from "./AppConfig.js"
import { loadAppConfigSync } from "./AppConfig.js"
import type { PluginReply } from "./HookInput.js"
import { decodePluginInput } from "./HookInput.js"
import { destroyedText, ignoredText, queuedText } from "./HookMessages.js"
import { pluginLogLine } from "./PluginLog.js"

/**
 * The fast path of `plexsync hook` for the common case: a scene hook on a database that exists. Stash runs the
 * hook on every scene save and waits for it, so this path starts no Effect runtime and opens no SQL client
 * layer: it decodes the input and the configuration with the same schemas as everything else, and records the
 * event with the queue's own enqueue statement (`SyncQueueSqlite`'s upsert: coalescing into the scene's queued
 * job, the earlier due time winning unless that job waits out a retry or a hold) on a plain better-sqlite3
 * connection. Everything else — tasks, a database to create or migrate, a schema version it was not written for —
 * falls back to the Effect path (`HookMain`), which handles every case.
 */

/** The few better-sqlite3 calls used here. */
export interface SqliteStatement {
  readonly get: (...params: ReadonlyArray<unknown>) => unknown
}
export interface SqliteDatabase {
  readonly prepare: (sql: string) => SqliteStatement
  readonly pragma: (source: string) => unknown
  readonly close: () => void
}
export type OpenSqlite = (filename: string, options: { readonly fileMustExist: boolean }) => SqliteDatabase

export type FastOutcome =
  | { readonly _tag: "Replied"; readonly reply: PluginReply }
  /** This case is for the Effect path; `input` is what was read from stdin. */
  | { readonly _tag: "Fallback"; readonly input: string; readonly why: string }

export interface FastHookOptions {
  readonly input: string
  readonly configFlag: Option.Option<string>
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly homedir: string
  readonly readFile: (path: string) => string
  readonly yaml: () => YamlParser
  readonly openSqlite: OpenSqlite
  /** Writes to stderr. */
  readonly log: (text: string) => void
  readonly now: () => number
}

/** The migrations this path was written against; a database at another version takes the Effect path. */
export const knownSchemaVersion = 1

/** `SyncQueueSqlite`'s enqueue statement, for one row. */
export const ENQUEUE = `INSERT INTO jobs (scene_id, reason, state, attempts, available_at, created_at, updated_at)
  VALUES (?, ?, 'queued', 0, ?, ?, ?)
  ON CONFLICT (scene_id) WHERE state = 'queued' DO UPDATE SET
    available_at = CASE WHEN jobs.last_error_tag IS NULL AND jobs.held_since IS NULL
      THEN min(jobs.available_at, excluded.available_at) ELSE jobs.available_at END,
    updated_at = excluded.updated_at,
    coalesced = jobs.coalesced + 1
  RETURNING id, coalesced`

const busyTimeoutMs = 5000

const sqliteCode = (error: unknown): string | undefined => {
  const code = (error as { readonly code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

const storeMessage = (file: string, error: unknown): string => {
  const code = sqliteCode(error) ?? "unknown"
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return `the database ${file} stayed locked by another process for ${busyTimeoutMs} ms (${code}); ` +
      "the change feed will pick this change up"
  }
  if (code.startsWith("SQLITE_CORRUPT") || code.startsWith("SQLITE_NOTADB")) {
    return `the database file ${file} is damaged or is not a plexsync database (${code}); it was left untouched`
  }
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_CANTOPEN")) {
    return `the database ${file} cannot be written (${code}); check the permissions of the file and its directory`
  }
  return `the database ${file} could not record the change (${code}: ${(error as Error)?.message ?? String(error)})`
}

const logs = (config: AppConfigShape | undefined, level: "i" | "w" | "e") =>
  level === "e" || config === undefined || config.logLevel === "debug" || config.logLevel === "info" ||
  (level === "w" && config.logLevel === "warning")

export const runFastHook = (options: FastHookOptions): FastOutcome => {
  const replied = (reply: PluginReply): FastOutcome => ({ _tag: "Replied", reply })
  const fallback = (why: string): FastOutcome => ({ _tag: "Fallback", input: options.input, why })

  const decoded = decodePluginInput(options.input)
  if (Either.isLeft(decoded)) {
    options.log(pluginLogLine("e", decoded.left.message))
    return replied({ error: decoded.left.message })
  }
  const request = decoded.right
  if (request._tag === "Task") return fallback("a task")
  if (request._tag === "OtherHook") return replied({ output: ignoredText(request.type) })

  const loaded = loadAppConfigSync({
    env: options.env,
    configFlag: options.configFlag,
    cwd: options.cwd,
    homedir: options.homedir,
    readFile: options.readFile,
    yaml: options.yaml
  })
  if (Either.isLeft(loaded)) {
    options.log(pluginLogLine("e", loaded.left.message))
    return replied({ error: `plexsync: ${loaded.left.message}` })
  }
  const config = loaded.right
  const info = (text: string) => {
    if (logs(config, "i")) options.log(pluginLogLine("i", text))
  }

  if (request.type === "Scene.Destroy.Post") {
    info(destroyedText(request.sceneId))
    return replied({ output: destroyedText(request.sceneId) })
  }

  let db: SqliteDatabase
  try {
    db = options.openSqlite(config.databaseFile, { fileMustExist: true })
  } catch (error) {
    // No database yet (first run): the Effect path creates and migrates it.
    return fallback(`cannot open ${config.databaseFile} (${sqliteCode(error) ?? "error"})`)
  }
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    let version: unknown
    try {
      version = (db.prepare("SELECT max(migration_id) AS version FROM effect_sql_migrations").get() as
        | { readonly version: unknown }
        | undefined)?.version
    } catch {
      return fallback("the database has no migrations table")
    }
    if (version !== knownSchemaVersion) return fallback(`database schema version ${String(version)}`)
    const now = options.now()
    const row = db.prepare(ENQUEUE).get(request.sceneId, "hook", now, now, now) as {
      readonly id: number
      readonly coalesced: number
    }
    const text = queuedText({
      sceneId: request.sceneId,
      jobId: row.id,
      coalesced: row.coalesced > 0,
      fromScan: request.fromScan
    })
    info(text)
    return replied({ output: text })
  } catch (error) {
    const message = storeMessage(config.databaseFile, error)
    options.log(pluginLogLine("e", message))
    return replied({ error: `plexsync: ${message}` })
  } finally {
    db.close()
  }
}
