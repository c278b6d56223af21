/**
 * The command line's help, laid out for a terminal: usage lines that read as typed (`plexsync dlq list [--limit
 * N]`), optional flags in brackets, each option with what it does, and every line wrapped to the terminal's width
 * (80 columns when it is unknown). The commands declare their options once (see `Cli.ts`); this renders them.
 */

export interface OptionHelp {
  readonly flag: string
  /** The value's placeholder (`FILE`, `N`), none for a flag that takes no value. */
  readonly value?: string
  readonly description: string
  /** May be given several times. */
  readonly repeated?: boolean
}

export interface ArgHelp {
  readonly name: string
  readonly description: string
  readonly count: "one" | "any" | "atLeastOne"
}

export interface CommandHelp {
  readonly name: string
  readonly description: string
  readonly args: ReadonlyArray<ArgHelp>
  readonly options: ReadonlyArray<OptionHelp>
  /** A group of commands (`dlq`): its commands instead of arguments. */
  readonly subcommands: ReadonlyArray<CommandHelp>
}

/** The options every invocation understands, wherever they are put. */
export const globalOptions: ReadonlyArray<OptionHelp> = [
  { flag: "-h, --help", description: "Show this help; with a command, that command's." },
  { flag: "-v, --version", description: "Print plexsync's version." },
  {
    flag: "--log-level",
    value: "LEVEL",
    description: "debug, info, warning or error: how much to log on stderr. Before or after the command; wins over " +
      "PLEXSYNC_LOG_LEVEL."
  }
]

/** Words of `text` on lines of at most `width` characters (a word longer than a line gets a line of its own). */
export const wrap = (text: string, width: number): ReadonlyArray<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line === "") line = word
    else if (line.length + 1 + word.length <= width) line += ` ${word}`
    else {
      lines.push(line)
      line = word
    }
  }
  if (line !== "") lines.push(line)
  return lines
}

/** `text` wrapped to `width`, every line after the first indented by `indent` (the first by `first`). */
const block = (text: string, width: number, indent: number, first = indent): ReadonlyArray<string> =>
  wrap(text, Math.max(20, width - indent)).map((line, i) => `${" ".repeat(i === 0 ? first : indent)}${line}`)

/** Terms and their descriptions in two columns; a term too wide for the column puts its description below. */
const definitions = (rows: ReadonlyArray<readonly [string, string]>, width: number): ReadonlyArray<string> => {
  const column = Math.min(Math.max(...rows.map(([term]) => term.length)) + 4, 26)
  const out: Array<string> = []
  for (const [term, description] of rows) {
    const fits = term.length + 4 <= column
    const text = wrap(description, Math.max(20, width - column))
    if (fits) {
      out.push(`  ${term.padEnd(column - 2)}${text[0] ?? ""}`.trimEnd())
      for (const line of text.slice(1)) out.push(`${" ".repeat(column)}${line}`)
    } else {
      out.push(...block(term, width, 4, 2))
      for (const line of text) out.push(`${" ".repeat(column)}${line}`)
    }
  }
  return out
}

const optionTerm = (o: OptionHelp) => (o.value === undefined ? o.flag : `${o.flag} ${o.value}`)

const optionUsage = (o: OptionHelp) => `[${optionTerm(o)}]${o.repeated === true ? "..." : ""}`

const argUsage = (a: ArgHelp) =>
  a.count === "one" ? `<${a.name}>` : a.count === "atLeastOne" ? `<${a.name}>...` : `[<${a.name}>...]`

/** `plexsync dlq list [--error TAG]... [--since TIME] …`, wrapped under its own start. */
const usage = (words: ReadonlyArray<string>, parts: ReadonlyArray<string>, width: number): ReadonlyArray<string> => {
  const head = `Usage: ${words.join(" ")}`
  const indent = head.length + 1
  const lines: Array<string> = []
  let line = head
  for (const part of parts) {
    if (line.length + 1 + part.length <= width || line.length <= indent) line += ` ${part}`
    else {
      lines.push(line)
      line = `${" ".repeat(indent)}${part}`
    }
  }
  lines.push(line)
  return lines
}

/** The commands of a group, with their full names (`dlq list`), depth first. */
const leaves = (command: CommandHelp, prefix: ReadonlyArray<string>): ReadonlyArray<readonly [string, string]> =>
  command.subcommands.flatMap((c) =>
    c.subcommands.length === 0
      ? [[[...prefix, c.name].join(" "), c.description] as const]
      : [[[...prefix, c.name].join(" "), c.description] as const, ...leaves(c, [...prefix, c.name])]
  )

/**
 * The help of `command`, reached by `path` (the program's name first: `["plexsync", "dlq"]`), at `width`
 * columns.
 */
export const renderHelp = (command: CommandHelp, path: ReadonlyArray<string>, width: number): string => {
  const out: Array<string> = []
  if (command.subcommands.length > 0) {
    out.push(...usage(path, ["<command>", "[options]"], width), "")
    out.push(...block(command.description, width, 0), "")
    out.push("Commands:", ...definitions(leaves(command, []), width), "")
    out.push("Options:", ...definitions(globalOptions.map((o) => [optionTerm(o), o.description]), width), "")
    out.push(...block(`Run ${[...path, "<command>"].join(" ")} --help for a command's options.`, width, 0))
    return out.join("\n")
  }
  out.push(...usage(path, [...command.options.map(optionUsage), ...command.args.map(argUsage)], width), "")
  out.push(...block(command.description, width, 0), "")
  if (command.args.length > 0) {
    out.push("Arguments:", ...definitions(command.args.map((a) => [`<${a.name}>`, a.description]), width), "")
  }
  const options = [...command.options, ...globalOptions.filter((o) => o.flag !== "-v, --version")]
  out.push("Options:", ...definitions(options.map((o) => [optionTerm(o), o.description]), width))
  return out.join("\n")
}

/** The command `words` name in `root`, and how many of the words that took; undefined for a group's unknown word. */
export const findCommand = (
  root: CommandHelp,
  words: ReadonlyArray<string>
): { readonly command: CommandHelp; readonly used: number } => {
  let command = root
  let used = 0
  while (used < words.length && command.subcommands.length > 0) {
    const next = command.subcommands.find((c) => c.name === words[used])
    if (next === undefined) break
    command = next
    used++
  }
  return { command, used }
}
