import type { PluginReply } from "@plexsync/runtime/HookInput"
import { destroyedText, objectCreatedText, objectRecordedText, queuedText } from "@plexsync/runtime/HookMessages"
import type { ObjectHookAction } from "@plexsync/runtime/HookTypes"
import { objectHookType, stashIdPattern } from "@plexsync/runtime/HookTypes"
import type { ConfigMemo } from "./HookConfigMemo.js"
import { memoFile, memoKey, readMemo } from "./HookConfigMemo.js"
import { pluginLogLine } from "./PluginLogFormat.js"
// `SyncQueueSqlite`'s own enqueue statement, so a hook coalesces exactly as the store does.
import { ENQUEUE } from "@plexsync/sqlite/JobStatements"
// `ObjectEventsSqlite`'s own statement for a tag, performer, studio or group hook.
import { mergedFromColumn, RECORD_OBJECT_EVENT } from "@plexsync/sqlite/ObjectEventStatements"

export { ENQUEUE }

/**
 * The fast path of `plexsync hook` for the common case: a well-formed scene hook, a configuration validated
 * before (remembered by `HookConfigMemo`), and a database that exists. Stash runs the hook on every scene save
 * and waits for it, so this path loads no Effect runtime and no schema library: it recognises the plain shape of
 * a scene hook (anything else, even if valid, goes to the schema decoder), and records the event with the queue's
 * own enqueue statement (`SyncQueueSqlite`'s upsert: coalescing into the scene's queued job, the earlier due time
 * winning unless that job waits out a retry or a hold) on a plain better-sqlite3 connection. A tag, performer,
 * studio or group hook is as common (and Stash waits for it as long): its plain shape is recognised the same way
 * and recorded with `ObjectEventsSqlite`'s own INSERT; a created object needs no database at all.
 * Everything else — malformed input, tasks, a configuration not validated yet, a database to create or migrate, a
 * schema version this was not written for — goes to the Effect path (`HookMain`), which handles every case and
 * remembers a configuration it validated.
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
  readonly configFlag: string | undefined
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly homedir: string
  /** Identifies this build (see `HookConfigMemo`). */
  readonly build: string
  readonly readFile: (path: string) => string
  readonly openSqlite: OpenSqlite
  /** Writes to stderr. */
  readonly log: (text: string) => void
  readonly now: () => number
}

/**
 * The migrations this path was written against; a database at another version takes the Effect path. (Migration 2
 * added the related-object tables, `object_events` among them, and left `jobs` as it was; migrations 3 to 5 did
 * not touch `jobs` or `object_events` either, 6 changed only indexes, and 7 added the reconciliation history.)
 */
export const knownSchemaVersion = 7

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

const sceneHookTypes: ReadonlySet<string> = new Set(["Scene.Create.Post", "Scene.Update.Post", "Scene.Destroy.Post"])
const sceneIdPattern = /^[0-9]{1,19}$/

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

export interface QuickSceneHook {
  readonly type: "Scene.Create.Post" | "Scene.Update.Post" | "Scene.Destroy.Post"
  readonly sceneId: string
  readonly fromScan: boolean
}

/**
 * The `args.hookContext` of a plugin input in its plain shape (a string `mode`, if any; a string `type`; string
 * `inputFields`, if any; an integer or string `id`, if any), or undefined.
 */
const hookContextOf = (text: string) => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isRecord(json) || !isRecord(json.args)) return undefined
  if (json.args.mode !== undefined && typeof json.args.mode !== "string") return undefined
  const context = json.args.hookContext
  if (!isRecord(context) || typeof context.type !== "string") return undefined
  const fields = context.inputFields
  if (
    fields !== undefined && fields !== null && !(Array.isArray(fields) && fields.every((f) => typeof f === "string"))
  ) {
    return undefined
  }
  const id = context.id
  if (id !== undefined && id !== null && typeof id !== "string" && !Number.isInteger(id)) return undefined
  return { type: context.type, id: id as string | number | null | undefined, input: context.input }
}

/**
 * The plain shape of a scene hook, recognised without the schema library. It accepts a subset of what
 * `decodePluginInput` accepts and reads it the same way (a property test holds it to that); anything else is
 * undefined.
 */
export const quickSceneHook = (text: string): QuickSceneHook | undefined => {
  const context = hookContextOf(text)
  if (context === undefined || !sceneHookTypes.has(context.type)) return undefined
  const id = context.id
  const raw = id ?? (isRecord(context.input) ? context.input.id : undefined)
  const sceneId = typeof raw === "string"
    ? raw
    : typeof raw === "number" && Number.isSafeInteger(raw)
    ? String(raw)
    : ""
  if (!sceneIdPattern.test(sceneId)) return undefined
  return {
    type: context.type as QuickSceneHook["type"],
    sceneId,
    fromScan: context.input === null || context.input === undefined
  }
}

export interface QuickObjectHook {
  readonly type: string
  readonly kind: "tag" | "performer" | "studio" | "group"
  readonly action: ObjectHookAction
  readonly objectId: string
  readonly mergedFrom: ReadonlyArray<string>
}

const stashId = (raw: unknown): string | undefined => {
  const text = typeof raw === "string" ? raw : typeof raw === "number" && Number.isSafeInteger(raw) ? String(raw) : ""
  return stashIdPattern.test(text) ? text : undefined
}

/**
 * The plain shape of a tag, performer, studio or group hook (`Movie.*` is a group's; `Tag.Merge.Post` with its
 * `TagsMergeInput`), recognised without the schema library. Like `quickSceneHook`, a subset of what
 * `decodePluginInput` accepts, read the same way (a property test holds it to that); anything else is undefined.
 */
export const quickObjectHook = (text: string): QuickObjectHook | undefined => {
  const context = hookContextOf(text)
  if (context === undefined) return undefined
  const hook = objectHookType(context.type)
  if (hook === undefined) return undefined
  const id = context.id
  const input = isRecord(context.input) ? context.input : undefined
  const objectId = stashId(id ?? (hook.action === "merged" ? input?.destination : input?.id))
  if (objectId === undefined) return undefined
  let mergedFrom: Array<string> = []
  if (hook.action === "merged") {
    if (!Array.isArray(input?.source)) return undefined
    const sources = input.source.map(stashId)
    if (sources.some((source) => source === undefined)) return undefined
    mergedFrom = Array.from(new Set(sources as Array<string>)).filter((source) => source !== objectId)
  }
  return { type: context.type, kind: hook.kind, action: hook.action, objectId, mergedFrom }
}

const logsInfo = (memo: ConfigMemo) => memo.logLevel === "debug" || memo.logLevel === "info"

export const runFastHook = (options: FastHookOptions): FastOutcome => {
  const replied = (reply: PluginReply): FastOutcome => ({ _tag: "Replied", reply })
  const fallback = (why: string): FastOutcome => ({ _tag: "Fallback", input: options.input, why })

  const scene = quickSceneHook(options.input)
  const object = scene === undefined ? quickObjectHook(options.input) : undefined
  if (scene === undefined && object === undefined) return fallback("not a plain scene or object hook")
  const key = memoKey(options)
  const file = memoFile(options.env, options.homedir)
  const memo = key === undefined || file === undefined ? undefined : readMemo(file, key)
  if (memo === undefined) return fallback("the configuration is to be validated")
  const info = (text: string) => {
    if (logsInfo(memo)) options.log(pluginLogLine("i", text))
  }

  if (scene?.type === "Scene.Destroy.Post") {
    info(destroyedText(scene.sceneId))
    return replied({ output: destroyedText(scene.sceneId) })
  }
  if (object?.action === "created") {
    info(objectCreatedText(object.kind, object.objectId))
    return replied({ output: objectCreatedText(object.kind, object.objectId) })
  }

  let db: SqliteDatabase
  try {
    db = options.openSqlite(memo.databaseFile, { fileMustExist: true })
  } catch (error) {
    // No database yet (first run): the Effect path creates and migrates it.
    return fallback(`cannot open ${memo.databaseFile} (${sqliteCode(error) ?? "error"})`)
  }
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`)
    // Stash is told the change is recorded: it must survive a power loss, so the commit syncs the WAL (the
    // connection's default in WAL mode, NORMAL, syncs only at checkpoints).
    db.pragma("synchronous = FULL")
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
    if (object !== undefined) {
      const { action, kind, mergedFrom, objectId } = object
      const change = action === "deleted" ? "deleted" : "changed"
      const event = db.prepare(RECORD_OBJECT_EVENT).get(kind, objectId, change, mergedFromColumn(mergedFrom), now) as {
        readonly id: number
      }
      const text = objectRecordedText({
        kind,
        objectId,
        action,
        mergedFrom,
        eventId: event.id
      })
      info(text)
      return replied({ output: text })
    }
    const request = scene!
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
    const message = storeMessage(memo.databaseFile, error)
    options.log(pluginLogLine("e", message))
    return replied({ error: `plexsync: ${message}` })
  } finally {
    db.close()
  }
}
