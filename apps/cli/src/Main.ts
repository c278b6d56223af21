import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Exit, Logger, Option } from "effect"
import { cli, help, logLevelFlag, version } from "./Cli.js"
import { prepare } from "./help/Prepare.js"
import { normaliseArgv, report, stderrLogger, withPlainText } from "./Terminal.js"

/**
 * Runs the command line: help, the version and mistyped commands are answered first (see `Prepare`); logs go to stderr (stdout carries only reports and `--json` documents), failures are
 * printed as one or two lines, and the exit code is 0, 1 (the work or a check failed) or 2 (bad usage or
 * configuration). A stack trace is logged only at debug level.
 */

const exitCodes = new WeakMap<object, number>()

/** Help lines fit the terminal; 80 columns when there is none. */
const width = (): number => (process.stdout.isTTY === true && process.stdout.columns > 0 ? process.stdout.columns : 80)

/** Help and the version are printed here; everything else goes to the parser, with `--log-level` taken out. */
const dispatch = (argv: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const prepared = prepare(argv.slice(2), help, { program: "plexsync", version, width: width() })
    switch (prepared._tag) {
      case "Print":
        return Effect.as(Console.log(prepared.text), 0)
      case "Usage":
        return Effect.sync(() => {
          process.stderr.write(`plexsync: ${prepared.message}\n`)
          return 2
        })
      case "Run":
        return cli(normaliseArgv([...argv.slice(0, 2), ...prepared.args])).pipe(
          withPlainText,
          Effect.as(0),
          Effect.locally(logLevelFlag, prepared.logLevel)
        )
    }
  })

export const program = (argv: ReadonlyArray<string>) =>
  dispatch(argv).pipe(
    Effect.catchAll(report),
    Effect.catchAllDefect((defect) =>
      Effect.logDebug("unexpected failure", Cause.die(defect)).pipe(
        Effect.zipRight(report(defect)),
        Effect.as(1)
      )
    ),
    Effect.provide(Logger.replace(Logger.defaultLogger, stderrLogger)),
    Effect.provide(NodeContext.layer)
  )

export const main = (argv: ReadonlyArray<string>): void => {
  const marker = {}
  program(argv).pipe(
    Effect.tap((code) => Effect.sync(() => exitCodes.set(marker, code))),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      disablePrettyLogger: true,
      teardown: (exit, onExit) => {
        if (Exit.isSuccess(exit)) onExit(Option.getOrElse(Option.fromNullable(exitCodes.get(marker)), () => 0))
        else onExit(Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
      }
    })
  )
}
