import * as ValidationError from "@effect/cli/ValidationError"
import { clipEcho } from "@plexsync/domain/Echo"
import type { LogFormatName } from "@plexsync/runtime/AppConfig"
import { jsonLogLine } from "@plexsync/runtime/Logging"
import { leaveLiveLine, logAbove } from "@plexsync/runtime/Present"
import { Cause, Console, Effect, FiberRef, FiberRefs, HashMap, Inspectable, Logger, LogLevel } from "effect"
import { Rendered, renderError } from "./Errors.js"

/**
 * What the command line shows on the terminal besides reports: log lines on stderr (stdout carries only reports
 * and `--json` documents), @effect/cli's help without colour where colour does not belong, failures as one or
 * two lines with their exit code, and the argument fix-up for boolean flags.
 */

/** `PLEXSYNC_LOG_FORMAT` of the command running (`text` until its configuration is read). */
export const logFormat = FiberRef.unsafeMake<LogFormatName>("text")

/**
 * Log lines on stderr, `plexsync info: …`, or one JSON object a line with `PLEXSYNC_LOG_FORMAT=json`; printed above
 * a progress bar on a terminal, never into it.
 */
export const stderrLogger = Logger.make((options) => {
  const { annotations, cause, context, logLevel, message } = options
  if (FiberRefs.getOrDefault(context, logFormat) === "json") {
    logAbove(`${jsonLogLine("plexsync", options)}\n`)
    return
  }
  const parts = Array.isArray(message) ? message : [message]
  let line = parts.map((p) => (typeof p === "string" ? p : Inspectable.toStringUnknown(p))).join(" ")
  for (const [key, value] of HashMap.toEntries(annotations)) {
    line += ` ${key}=${typeof value === "string" ? value : Inspectable.toStringUnknown(value)}`
  }
  const minimum = FiberRefs.getOrDefault(context, FiberRef.currentMinimumLogLevel)
  if (!Cause.isEmpty(cause) && LogLevel.lessThanEqual(minimum, LogLevel.Debug)) line += `\n${Cause.pretty(cause)}`
  logAbove(`plexsync ${logLevel.label === "WARN" ? "warning" : logLevel.label.toLowerCase()}: ${line}\n`)
})

// eslint-disable-next-line no-control-regex
const ansi = /\x1b\[[0-9;]*m/g
const plain = (stream: NodeJS.WriteStream) => stream.isTTY !== true || (process.env.NO_COLOR ?? "") !== ""

/** The help of @effect/cli is coloured; pipes, files and NO_COLOR get it without escape codes. */
export const withPlainText = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Console.consoleWith((console) => {
    const strip = (stream: NodeJS.WriteStream) => (args: ReadonlyArray<unknown>) =>
      plain(stream) ? args.map((a) => (typeof a === "string" ? a.replace(ansi, "") : a)) : args
    return Console.withConsole(effect, {
      ...console,
      log: (...args) => console.log(...strip(process.stdout)(args)),
      // Only @effect/cli writes here (its usage errors, which repeat an unknown argument whole): a word longer
      // than a bad value may be echoed is clipped (`Echo`).
      error: (...args) =>
        console.error(
          ...strip(process.stderr)(args).map((a) =>
            typeof a === "string" ? a.replace(/\S{101,}/g, (word) => clipEcho(word)) : a
          )
        )
    })
  })

export const report = (error: unknown): Effect.Effect<number> =>
  Effect.sync(() => {
    // @effect/cli printed the problem (and the usage) already.
    if (ValidationError.isValidationError(error)) return 2
    const rendered = error instanceof Rendered
      ? { message: error.text, exitCode: error.exitCode, shown: error.shown }
      : renderError(error)
    // A bar whose work failed stays as it stopped; the message goes on the line below it.
    leaveLiveLine()
    if (!rendered.shown && rendered.message !== "") process.stderr.write(`plexsync: ${rendered.message}\n`)
    return rendered.exitCode
  })

/** The boolean flags of plexsync's commands. */
const booleanFlags = new Set([
  "--json",
  "--all",
  "--wait",
  "--dry-run",
  "--include-optional",
  "--include-recovered",
  "--include-missing"
])

/**
 * @effect/cli lets a boolean flag take a following `true`/`false`/`1`/`0`/`yes`/`no` as its value, so
 * `plexsync enqueue --json 1` would lose the scene id 1. Spelling the flags `--json=true` keeps every argument.
 */
export const normaliseArgv = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const end = argv.indexOf("--")
  return argv.map((arg, i) => (booleanFlags.has(arg) && (end === -1 || i < end) ? `${arg}=true` : arg))
}
