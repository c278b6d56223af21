import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { loadAppConfig } from "@plexsync/runtime/AppConfig"
import type { AppConfigShape } from "@plexsync/runtime/AppConfig"
import { cannotCreateText, makeDirectory } from "@plexsync/runtime/DataDir"
import { createdObjectHook, ignoredHook, recordObjectHook, recordSceneHook } from "@plexsync/runtime/Hook"
import type { PluginReply } from "@plexsync/runtime/HookInput"
import { decodePluginInput, replyText, stashUrlOfInput } from "@plexsync/runtime/HookInput"
import { logLevelOf } from "@plexsync/runtime/Logging"
import { learnedFile, learnedText } from "@plexsync/runtime/StashAddress"
import * as Database from "@plexsync/sqlite/Database"
import * as ObjectEventsSqlite from "@plexsync/sqlite/ObjectEventsSqlite"
import * as SyncQueueSqlite from "@plexsync/sqlite/SyncQueueSqlite"
import { Clock, Data, Effect, Either, Layer, Logger, Option } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import { memoFile, memoKey, writeMemo } from "./HookConfigMemo.js"
import { pluginLogger } from "./PluginLog.js"

/**
 * `plexsync hook`, the Stash plugin entry point, kept lean: Stash waits for this process on every scene save,
 * so a hook loads only the config, the queue and the JSON decoding. Tasks load the rest on demand.
 * Whatever happens, exactly one JSON object is printed on stdout and the exit code is 0: Stash shows the
 * `error` to the user, and a crash or a missing reply would only hide the problem.
 */

const readStdin = (): Promise<string> =>
  new Promise((resolve, reject) => {
    if (process.stdin.isTTY) {
      resolve("")
      return
    }
    const chunks: Array<Buffer> = []
    process.stdin.on("data", (chunk: Buffer) => chunks.push(chunk))
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    process.stdin.on("error", reject)
  })

/** The data directory cannot be made. */
class DataDirError extends Data.TaggedError("DataDirError")<{ readonly message: string }> {}

const message = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

export interface RunHookOptions {
  readonly configFlag: Option.Option<string>
  readonly input: string
  /** Remember the validated configuration for the fast path, under this build's identity. */
  readonly build?: string
}

const remember = (options: RunHookOptions, config: AppConfigShape) =>
  Effect.sync(() => {
    if (options.build === undefined) return
    const inputs = {
      env: process.env,
      cwd: process.cwd(),
      homedir: Os.homedir(),
      configFlag: Option.getOrUndefined(options.configFlag),
      build: options.build,
      readFile: (path: string) => Fs.readFileSync(path, "utf8")
    }
    const key = memoKey(inputs)
    const file = memoFile(process.env, Os.homedir())
    if (key !== undefined && file !== undefined) {
      writeMemo(file, key, { databaseFile: config.databaseFile, logLevel: config.logLevel })
    }
  })

/**
 * With no Stash URL set, Stash's own address from the plugin input (`server_connection`) is used and remembered
 * in the data directory, for the commands run later by hand; a set `PLEXSYNC_STASH_URL` always wins.
 */
const learnStashAddress = (config: AppConfigShape, input: string) =>
  Effect.gen(function*() {
    if (config.stashUrlSource._tag === "Setting") return config
    const given = stashUrlOfInput(input)
    if (Option.isNone(given)) return config
    if (config.stashUrlSource._tag === "Plugin" && config.stashUrl === given.value) return config
    const learned = { url: given.value, learnedAt: new Date(yield* Clock.currentTimeMillis).toISOString() }
    const written = Either.try(() => {
      makeDirectory(config.dataDir)
      const file = learnedFile(config.dataDir)
      Fs.writeFileSync(`${file}.${process.pid}`, learnedText(learned))
      Fs.renameSync(`${file}.${process.pid}`, file)
    })
    yield* Either.isRight(written)
      ? Effect.logInfo(
        `Stash's address is ${learned.url}, as Stash gave it to the plugin (PLEXSYNC_STASH_URL is not set); remembered ` +
          "for plexsync's commands"
      )
      : Effect.logWarning(
        `Stash's address ${learned.url} could not be remembered in ${config.dataDir}: ${message(written.left)}`
      )
    return {
      ...config,
      stashUrl: learned.url,
      stashUrlSource: { _tag: "Plugin", learnedAt: learned.learnedAt }
    } satisfies AppConfigShape
  })

export const runHook = (options: RunHookOptions) =>
  Effect.gen(function*() {
    const decoded = decodePluginInput(options.input)
    if (Either.isLeft(decoded)) {
      yield* Effect.logError(decoded.left.message)
      return { error: decoded.left.message } satisfies PluginReply
    }
    const request = decoded.right
    if (request._tag === "OtherHook") return ignoredHook(request.type)

    const config = yield* loadAppConfig({
      env: process.env,
      configFlag: options.configFlag,
      cwd: process.cwd(),
      homedir: Os.homedir()
    }).pipe(Effect.provide(NodeFileSystem.layer), Effect.flatMap((loaded) => learnStashAddress(loaded, options.input)))
    yield* remember(options, config)

    const withStore = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.try({
        try: () => makeDirectory(config.dataDir),
        catch: (cause) => new DataDirError({ message: cannotCreateText(config.dataDir, cause) })
      }).pipe(Effect.zipRight(Effect.suspend(() => {
        // No integrity scan on open: it reads the whole file, and Stash is waiting. What is acknowledged to Stash is
        // on disk before the answer (synchronous=FULL: the WAL is synced at the commit).
        const store = Layer.merge(SyncQueueSqlite.layer, ObjectEventsSqlite.layer).pipe(
          Layer.provideMerge(
            Database.layer({ filename: config.databaseFile, quickCheck: false, synchronous: "FULL" })
          )
        )
        return Effect.provide(effect, store)
      })))

    if (request._tag === "SceneHook") {
      return yield* withStore(recordSceneHook(request)).pipe(
        Logger.withMinimumLogLevel(logLevelOf(config))
      )
    }
    if (request._tag === "ObjectHook") {
      const reply = request.action === "created"
        ? createdObjectHook(request)
        : withStore(recordObjectHook(request)).pipe(Effect.map((recorded) => recorded.reply))
      return yield* reply.pipe(Logger.withMinimumLogLevel(logLevelOf(config)))
    }
    const tasks = yield* Effect.promise(() => import("./PluginTasks.js"))
    return yield* tasks.runTask(request, config).pipe(Logger.withMinimumLogLevel(logLevelOf(config)))
  }).pipe(
    Effect.catchAll((error) =>
      Effect.as(Effect.logError(message(error)), { error: `plexsync: ${message(error)}` } satisfies PluginReply)
    ),
    Effect.catchAllDefect((defect) =>
      Effect.as(
        Effect.logError("plexsync hook failed unexpectedly", defect),
        { error: `plexsync: unexpected failure: ${message(defect)}` } satisfies PluginReply
      )
    )
  )

/**
 * Entry point for `plexsync hook [--config FILE]`, from `bin.ts` (with the input the fast path already read) and
 * from the full command line.
 */
export const main = async (configFlag: string | undefined, alreadyRead?: string, build?: string): Promise<void> => {
  const debug = (process.env.PLEXSYNC_LOG_LEVEL ?? "").toLowerCase() === "debug"
  const logger = Logger.replace(Logger.defaultLogger, pluginLogger({ showCauses: debug }))
  let reply: PluginReply
  try {
    const input = alreadyRead ?? (await readStdin())
    reply = await Effect.runPromise(
      runHook({ configFlag: Option.fromNullable(configFlag), input, ...(build === undefined ? {} : { build }) }).pipe(
        Effect.provide(logger)
      )
    )
  } catch (e) {
    reply = { error: `plexsync: unexpected failure: ${message(e)}` }
  }
  process.stdout.write(replyText(reply) + "\n")
  process.exitCode = 0
}
