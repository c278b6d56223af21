import { Cause, HashMap, Inspectable, Layer, Logger, LogLevel } from "effect"
import type { AppConfigShape } from "./AppConfig.js"

/** `PLEXSYNC_LOG_LEVEL`'s words as Effect's log levels. */
export const logLevels: Record<AppConfigShape["logLevel"], LogLevel.LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error
}

export const logLevelOf = (config: Pick<AppConfigShape, "logLevel">): LogLevel.LogLevel => logLevels[config.logLevel]

const levelWord = (level: LogLevel.LogLevel): string => level.label === "WARN" ? "warning" : level.label.toLowerCase()

/**
 * One log record as one line of JSON (`PLEXSYNC_LOG_FORMAT=json`): `time` (ISO-8601 UTC), `level`, `program`,
 * `message`, `annotations` (an object, empty when there are none) and `cause` (`null` unless there is one). The
 * keys are always there.
 */
export const jsonLogLine = (
  program: string,
  options: Pick<Logger.Logger.Options<unknown>, "annotations" | "cause" | "date" | "logLevel" | "message">
): string => {
  const parts = Array.isArray(options.message) ? options.message : [options.message]
  const annotations: Record<string, unknown> = {}
  for (const [key, value] of HashMap.toEntries(options.annotations)) {
    annotations[key] = typeof value === "string" || typeof value === "number" || typeof value === "boolean"
      ? value
      : Inspectable.toStringUnknown(value)
  }
  return JSON.stringify({
    time: options.date.toISOString(),
    level: levelWord(options.logLevel),
    program,
    message: parts.map((p) => (typeof p === "string" ? p : Inspectable.toStringUnknown(p))).join(" "),
    annotations,
    cause: Cause.isEmpty(options.cause) ? null : Cause.pretty(options.cause)
  })
}

/** A logger writing `jsonLogLine`s to stderr. */
export const jsonLogger = (program: string) =>
  Logger.make((options) => void process.stderr.write(`${jsonLogLine(program, options)}\n`))

/** The scheduler's log on stderr, at the configured level: logfmt lines, or JSON lines with `PLEXSYNC_LOG_FORMAT=json`. */
export const logfmtToStderr = (config: Pick<AppConfigShape, "logLevel" | "logFormat">) =>
  Layer.mergeAll(
    Logger.replace(
      Logger.defaultLogger,
      config.logFormat === "json" ? jsonLogger("plexsync-scheduler") : Logger.withConsoleError(Logger.logfmtLogger)
    ),
    Logger.minimumLogLevel(logLevelOf(config))
  )
