import { Layer, Logger, LogLevel } from "effect"
import type { AppConfigShape } from "./AppConfig.js"

/** `PLEXSYNC_LOG_LEVEL`'s words as Effect's log levels. */
export const logLevels: Record<AppConfigShape["logLevel"], LogLevel.LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error
}

export const logLevelOf = (config: Pick<AppConfigShape, "logLevel">): LogLevel.LogLevel => logLevels[config.logLevel]

/** The scheduler's log: logfmt lines on stderr, at the configured level. */
export const logfmtToStderr = (config: Pick<AppConfigShape, "logLevel">) =>
  Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)),
    Logger.minimumLogLevel(logLevelOf(config))
  )
