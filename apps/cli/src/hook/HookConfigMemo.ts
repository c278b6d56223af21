import { discoverConfigFile } from "@plexsync/runtime/ConfigSources"
import { makeDirectory } from "@plexsync/runtime/DataDir"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * What the hook's fast path needs from the configuration (where the database is, how much to log), remembered
 * after the full configuration was validated, keyed by everything that decides it: every `PLEXSYNC_*`
 * variable, `HOME`, `XDG_DATA_HOME`, the working directory, the config file's path and content, and the build.
 * Any change to these is a different key, so the next hook validates the whole configuration again (and a
 * malformed value is refused as always). The file holds a hash and two plain values, never a setting's value.
 * It lives in the user's cache directory (`$XDG_CACHE_HOME/plexsync` or `~/.cache/plexsync`); without one, every
 * hook validates.
 */

export interface ConfigMemo {
  readonly databaseFile: string
  readonly logLevel: "debug" | "info" | "warning" | "error"
}

export interface MemoInputs {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly homedir: string
  readonly configFlag: string | undefined
  /** Identifies the code that validated (a changed build validates again). */
  readonly build: string
  readonly readFile: (path: string) => string
}

const memoVersion = "1"

/** The config file the command would read, as `AppConfig` resolves it (a found one too). */
const configFile = (inputs: MemoInputs): string | undefined =>
  discoverConfigFile(inputs, (path) => {
    try {
      inputs.readFile(path)
      return true
    } catch {
      return false
    }
  })

/** The key of a configuration; `undefined` when its file cannot be read (the full path reports that). */
export const memoKey = (inputs: MemoInputs): string | undefined => {
  const hash = createHash("sha256")
  const field = (name: string, value: string | undefined) => {
    hash.update(name).update("\u0000").update(value === undefined ? "\u0001" : `=${value}`).update("\u0000")
  }
  field("version", memoVersion)
  field("build", inputs.build)
  field("cwd", inputs.cwd)
  field("homedir", inputs.homedir)
  field("HOME", inputs.env.HOME)
  field("XDG_DATA_HOME", inputs.env.XDG_DATA_HOME)
  for (const name of Object.keys(inputs.env).filter((n) => n.startsWith("PLEXSYNC_")).sort()) {
    field(name, inputs.env[name])
  }
  const file = configFile(inputs)
  field("configFile", file)
  if (file !== undefined) {
    try {
      field("configText", inputs.readFile(file))
    } catch {
      return undefined
    }
  }
  return hash.digest("hex")
}

export const memoFile = (env: Readonly<Record<string, string | undefined>>, homedir: string): string | undefined => {
  const xdg = env.XDG_CACHE_HOME
  if (xdg !== undefined && Path.isAbsolute(xdg)) return Path.join(xdg, "plexsync", "hook-config.json")
  const home = env.HOME !== undefined && env.HOME !== "" ? env.HOME : homedir
  return home === "" ? undefined : Path.join(home, ".cache", "plexsync", "hook-config.json")
}

const levels = new Set(["debug", "info", "warning", "error"])

/** The remembered values for this key, if any. */
export const readMemo = (file: string, key: string): ConfigMemo | undefined => {
  try {
    const stored = JSON.parse(Fs.readFileSync(file, "utf8")) as Record<string, unknown>
    if (stored.key !== key || typeof stored.databaseFile !== "string" || !levels.has(stored.logLevel as string)) {
      return undefined
    }
    return { databaseFile: stored.databaseFile, logLevel: stored.logLevel as ConfigMemo["logLevel"] }
  } catch {
    return undefined
  }
}

/** Remembers a validated configuration (best effort: a read-only home only costs time). */
export const writeMemo = (file: string, key: string, memo: ConfigMemo): void => {
  try {
    makeDirectory(Path.dirname(file))
    const temporary = `${file}.${process.pid}`
    Fs.writeFileSync(temporary, JSON.stringify({ key, ...memo }) + "\n", { mode: 0o600 })
    Fs.renameSync(temporary, file)
  } catch {
    // Nothing to do: the next hook validates again.
  }
}
