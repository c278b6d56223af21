import { quoteEcho } from "@plexsync/domain/Echo"
import { LogLevelName } from "@plexsync/runtime/AppConfig"
import { didYouMean } from "@plexsync/runtime/Suggest"
import { Either, Option, Schema } from "effect"
import type { CommandHelp } from "./Help.js"
import { findCommand, renderHelp } from "./Help.js"

/**
 * What the command line does with its arguments before the parser sees them: `--help` (anywhere, before `--`)
 * prints the help of the command named, `-v`/`--version` the version, `--log-level LEVEL` is taken wherever it
 * stands (it wins over `PLEXSYNC_LOG_LEVEL`), and a mistyped command is refused with the closest name.
 */

export type Prepared =
  | {
    readonly _tag: "Run"
    readonly args: ReadonlyArray<string>
    readonly logLevel: Option.Option<LogLevelName>
  }
  /** Help or the version: printed on stdout, exit 0. */
  | { readonly _tag: "Print"; readonly text: string }
  /** Bad usage: printed on stderr, exit 2. */
  | { readonly _tag: "Usage"; readonly message: string }

const levels = LogLevelName.literals

const decodeLevel = Schema.decodeUnknownEither(LogLevelName)

const names = (command: CommandHelp, prefix: ReadonlyArray<string>): ReadonlyArray<string> =>
  command.subcommands.map((c) => [...prefix, c.name].join(" "))

export const prepare = (
  args: ReadonlyArray<string>,
  root: CommandHelp,
  options: { readonly program: string; readonly version: string; readonly width: number }
): Prepared => {
  const end = args.indexOf("--")
  const before = end === -1 ? args : args.slice(0, end)
  const after = end === -1 ? [] : args.slice(end)

  // --log-level, wherever it stands
  let logLevel = Option.none<LogLevelName>()
  const kept: Array<string> = []
  for (let i = 0; i < before.length; i++) {
    const arg = before[i]!
    if (arg !== "--log-level" && !arg.startsWith("--log-level=")) {
      kept.push(arg)
      continue
    }
    const value = arg === "--log-level" ? before[++i] : arg.slice("--log-level=".length)
    if (value === undefined || value === "") {
      return { _tag: "Usage", message: `--log-level needs a level: ${levels.join(", ")}` }
    }
    const level = decodeLevel(value.toLowerCase())
    if (Either.isLeft(level)) {
      return {
        _tag: "Usage",
        message: `--log-level ${JSON.stringify(value)}: expected ${levels.join(", ")}${didYouMean(value, levels)}`
      }
    }
    logLevel = Option.some(level.right)
  }

  const words: Array<string> = []
  for (const arg of kept) {
    if (arg.startsWith("-")) break
    words.push(arg)
  }
  const { command, used } = findCommand(root, words)
  const path = [options.program, ...words.slice(0, used)]
  const wantsHelp = kept.some((a) => a === "--help" || a === "-h")

  if (used === 0) {
    const first = kept[0]
    if (first === "-v" || first === "--version") return { _tag: "Print", text: options.version }
    if (first === undefined || wantsHelp) return { _tag: "Print", text: renderHelp(root, path, options.width) }
    if (!first.startsWith("-")) {
      return {
        _tag: "Usage",
        message: `unknown command ${quoteEcho(first)}${didYouMean(first, names(root, []))}; the commands are: ${
          names(root, []).join(", ")
        }. See ${options.program} --help.`
      }
    }
  } else if (wantsHelp) {
    return { _tag: "Print", text: renderHelp(command, path, options.width) }
  } else if (command.subcommands.length > 0) {
    const next = words[used]
    if (next === undefined) return { _tag: "Print", text: renderHelp(command, path, options.width) }
    const prefix = words.slice(0, used)
    const known = names(command, prefix)
    const typed = [...prefix, next].join(" ")
    return {
      _tag: "Usage",
      message: `unknown command ${quoteEcho(typed)}${didYouMean(typed, known)}; the ${prefix.join(" ")} commands are: ${
        known.join(", ")
      }. See ${path.join(" ")} --help.`
    }
  }
  return { _tag: "Run", args: [...kept, ...after], logLevel }
}
