import { Option } from "effect"
import type { AppConfigShape } from "./AppConfig.js"
import { keyToEnv, secretVariables, settingsTable, shownSettingValue } from "./AppConfig.js"
import { fileVariable } from "./ConfigSources.js"
import { keyValues } from "./Present.js"

/**
 * `plexsync config`: every setting's effective value (secrets hidden) and where it came from — the environment,
 * a secret file (`<NAME>_FILE`), the config file, or the default.
 */

export type SettingSource = "env" | "secret file" | "config file" | "default" | "unset"

export interface EffectiveSetting {
  readonly key: string
  readonly variable: string
  /** The value as given (or the default), a URL redacted; null for a secret, and for a setting with no value. */
  readonly value: string | null
  readonly secret: boolean
  /** Whether the setting has a value (a secret's tells that it is set without showing it). */
  readonly set: boolean
  readonly source: SettingSource
  /** The variable, the file path, or null. */
  readonly from: string | null
}

export interface ConfigInputs {
  readonly env: Readonly<Record<string, string | undefined>>
  /** The config file's parsed values, when one was read. */
  readonly fileValues: Readonly<Record<string, unknown>> | undefined
  readonly config: AppConfigShape
}

export const effectiveSettings = (inputs: ConfigInputs): ReadonlyArray<EffectiveSetting> => {
  const filePath = Option.getOrNull(inputs.config.configFile)
  return settingsTable.map((setting): EffectiveSetting => {
    const variable = keyToEnv(setting.key)
    const secret = setting.secret === true
    const row = (source: SettingSource, from: string | null, raw: unknown): EffectiveSetting => ({
      key: setting.key,
      variable,
      value: secret || raw === undefined
        ? null
        : setting.key === "dataDir"
        ? inputs.config.dataDir
        : shownSettingValue(setting, raw),
      secret,
      set: raw !== undefined,
      source,
      from
    })
    const envValue = inputs.env[variable]
    if (envValue !== undefined && envValue !== "") return row("env", variable, envValue)
    const secretFile = secretVariables.includes(variable) ? inputs.env[fileVariable(variable)] : undefined
    if (secretFile !== undefined && secretFile !== "") return row("secret file", secretFile, "")
    const fileValue = inputs.fileValues?.[setting.key]
    if (fileValue !== undefined && fileValue !== null) return row("config file", filePath, fileValue)
    if (setting.key === "dataDir") return row("default", null, inputs.config.dataDir)
    if (setting.default !== undefined) return row("default", null, setting.default)
    return row("unset", null, undefined)
  })
}

/** The human form: one line per setting, `VARIABLE: value (source)`. */
export const renderEffectiveSettings = (
  configFile: Option.Option<string>,
  settings: ReadonlyArray<EffectiveSetting>
): string => {
  const value = (s: EffectiveSetting) => s.secret ? (s.set ? "(hidden)" : "(not set)") : s.value ?? "(not set)"
  const source = (s: EffectiveSetting) =>
    s.source === "env"
      ? "env"
      : s.source === "secret file"
      ? `secret file ${s.from}`
      : s.source === "config file"
      ? "config file"
      : s.source
  return [
    `Config file: ${Option.getOrElse(configFile, () => "none")}`,
    "",
    keyValues(settings.map((s) => [s.variable, `${value(s)}  [${source(s)}]`] as const))
  ].join("\n")
}
