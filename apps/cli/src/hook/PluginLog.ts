import { Cause, HashMap, Inspectable, Logger, LogLevel } from "effect"
import { pluginLogLine } from "./PluginLogFormat.js"

/**
 * Stash's plugin log format: one message per stderr line, prefixed with SOH, a level character and STX
 * (`\x01i\x02message`). Stash shows these in its log at that level; unprefixed lines would land at the
 * manifest's `errLog` level. Progress of a task is `\x01p\x02<0..1>`.
 */

export const levelChar = (level: LogLevel.LogLevel): "t" | "d" | "i" | "w" | "e" => {
  if (LogLevel.greaterThanEqual(level, LogLevel.Error)) return "e"
  if (LogLevel.greaterThanEqual(level, LogLevel.Warning)) return "w"
  if (LogLevel.greaterThanEqual(level, LogLevel.Info)) return "i"
  if (LogLevel.greaterThanEqual(level, LogLevel.Debug)) return "d"
  return "t"
}

const text = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts.map((p) => (typeof p === "string" ? p : Inspectable.toStringUnknown(p))).join(" ")
}

export { pluginLogLine, pluginProgressLine } from "./PluginLogFormat.js"

/**
 * A logger writing Stash's plugin format to stderr. Annotations follow the message as `key=value`; a cause
 * (with its stack) is added only when `showCauses` (debug logging), so stack traces stay out of Stash's log.
 */
export const pluginLogger = (options: {
  readonly showCauses: boolean
  readonly write?: (line: string) => void
}) => {
  const write = options.write ?? ((line: string) => void process.stderr.write(line))
  return Logger.make(({ annotations, cause, logLevel, message }) => {
    let line = text(message)
    for (const [key, value] of HashMap.toEntries(annotations)) {
      line += ` ${key}=${typeof value === "string" ? value : Inspectable.toStringUnknown(value)}`
    }
    if (options.showCauses && !Cause.isEmpty(cause)) {
      line += `\n${Cause.pretty(cause)}`
    }
    write(pluginLogLine(levelChar(logLevel), line))
  })
}
