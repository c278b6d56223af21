import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { loadAppConfig, requirePlexToken } from "@plexsync/runtime/AppConfig"
import { tuneHeap } from "@plexsync/runtime/Heap"
import { logfmtToStderr } from "@plexsync/runtime/Logging"
import { schedulerTuning } from "@plexsync/runtime/Tuning"
import { Cause, Context, Effect, Exit, Layer, Option } from "effect"
import * as Os from "node:os"
import { parseArgs, StartError, usage, UsageError, version } from "./Args.js"
import { Fatal } from "./Fatal.js"
import * as Layers from "./Layers.js"
import { requireSecretBeyondLoopback } from "./Listen.js"

/**
 * `plexsync-scheduler`: reads the configuration (environment, `--config FILE`), then runs the scheduler's layers
 * until SIGTERM/SIGINT and exits 0. Exit 2 for bad usage or configuration, 1 when it cannot start.
 */
const program = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const args = yield* parseArgs(argv.slice(2))
    if (args._tag === "Help") return yield* Effect.sync(() => process.stdout.write(usage))
    if (args._tag === "Version") return yield* Effect.sync(() => process.stdout.write(`${version}\n`))
    const config = yield* loadAppConfig({
      env: process.env,
      configFlag: args.configFlag,
      cwd: process.cwd(),
      homedir: Os.homedir()
    }).pipe(
      Effect.tap(requirePlexToken),
      Effect.tap(requireSecretBeyondLoopback),
      Effect.provide(NodeFileSystem.layer),
      Effect.mapError((error) => new UsageError({ message: error.message }))
    )
    // Runs until SIGTERM/SIGINT, or until a duty finds that the scheduler cannot go on (`Fatal`).
    return yield* Layer.build(Layers.app(config, schedulerTuning(config))).pipe(
      Effect.flatMap((context) => Context.get(context, Fatal).failed),
      Effect.scoped,
      Effect.catchTags({
        StoreError: (e) => new StartError({ message: `cannot open the database ${config.databaseFile}: ${e.message}` }),
        StoreOpenError: (e) => new StartError({ message: e.message }),
        ConfigMissing: (e) => new UsageError({ message: e.message })
      }),
      Effect.provide(logfmtToStderr(config))
    )
  })

const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return 0
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) && failure.value instanceof UsageError ? 2 : 1
}

const report = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  const text = Option.isSome(failure)
    ? String((failure.value as { message?: unknown }).message ?? failure.value)
    : Cause.isInterruptedOnly(cause)
    ? undefined
    : `unexpected failure\n${Cause.pretty(cause)}`
  return text === undefined ? Effect.void : Effect.sync(() => process.stderr.write(`plexsync-scheduler: ${text}\n`))
}

/** Entry point used by `bin.ts`. */
export const main = (argv: ReadonlyArray<string>) => {
  tuneHeap()
  NodeRuntime.runMain(program(argv).pipe(Effect.tapErrorCause(report)), {
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => onExit(exitCodeOf(exit))
  })
}
