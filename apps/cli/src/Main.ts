import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Logger, Option } from "effect"
import { cli } from "./Cli.js"
import { normaliseArgv, report, stderrLogger, withPlainText } from "./Terminal.js"

/**
 * Runs the command line: logs go to stderr (stdout carries only reports and `--json` documents), failures are
 * printed as one or two lines, and the exit code is 0, 1 (the work or a check failed) or 2 (bad usage or
 * configuration). A stack trace is logged only at debug level.
 */

const exitCodes = new WeakMap<object, number>()

export const program = (argv: ReadonlyArray<string>) =>
  cli(normaliseArgv(argv)).pipe(
    withPlainText,
    Effect.as(0),
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
