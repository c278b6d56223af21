import * as FileSystem from "@effect/platform/FileSystem"
import { clipEcho, quoteEcho } from "@plexsync/domain/Echo"
import type { SyncField } from "@plexsync/domain/FieldMapping"
import { allSyncFields, SyncField as SyncFieldSchema } from "@plexsync/domain/FieldMapping"
import type { PathMap } from "@plexsync/domain/PathMap"
import { PathMapFromString } from "@plexsync/domain/PathMap"
import { redactServerUrl } from "@plexsync/domain/ServerUrl"
import { Context, Cron, Data, Duration, Effect, Either, Layer, Option, ParseResult, Redacted, Schema } from "effect"
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import type { ResolvedSecrets } from "./ConfigSources.js"
import { discoverConfigFile, fileVariable, resolveSecretFiles, unreadableReason } from "./ConfigSources.js"
import { DurationFromString, durationHint } from "./Duration.js"
import { learnedFile, readLearned } from "./StashAddress.js"
import { didYouMean } from "./Suggest.js"

/**
 * plexsync's configuration: every `PLEXSYNC_*` environment variable the README lists, optionally a JSON or YAML
 * file (`--config FILE` or `PLEXSYNC_CONFIG`) with the same keys in camelCase. The environment wins over the
 * file. Everything is checked at start: any malformed value, unknown `PLEXSYNC_*` variable or unknown file key
 * stops the command (exit 2) with a message naming it. Missing values are refused later, only by the commands
 * that need them (`requirePlexToken`).
 */

export { allSyncFields, SyncField } from "@plexsync/domain/FieldMapping"

export const LogLevelName = Schema.Literal("debug", "info", "warning", "error")
export type LogLevelName = typeof LogLevelName.Type
/** `text`: lines for a person; `json`: one JSON object per line, for a log collector. */
export const LogFormatName = Schema.Literal("text", "json")
export type LogFormatName = typeof LogFormatName.Type

/** When the scheduler reconciles: never, every so long, or at the times a cron expression names (local time). */
export type ReconcileSchedule =
  | { readonly _tag: "Never" }
  | { readonly _tag: "Every"; readonly name: string; readonly interval: Duration.Duration }
  | { readonly _tag: "At"; readonly expression: string; readonly cron: Cron.Cron }

/** `PLEXSYNC_RECONCILE_AT`'s default: daily at 03:30 local time. */
export const defaultReconcileAt = "30 3 * * *"

export type ReconcileScope =
  | { readonly _tag: "All" }
  | { readonly _tag: "Recent"; readonly name: string; readonly within: Duration.Duration }

export interface HttpAddr {
  readonly host: string
  readonly port: number
}

export interface AppConfigShape {
  /** The config file read, if any (absolute path). */
  readonly configFile: Option.Option<string>
  readonly dataDir: string
  /** `<dataDir>/plexsync.db` */
  readonly databaseFile: string
  readonly stashUrl: string
  /**
   * Where `stashUrl` came from: a setting (`PLEXSYNC_STASH_URL` or the file), the address Stash gave the plugin
   * (remembered in the data directory, see `StashAddress`), or the default.
   */
  readonly stashUrlSource: StashUrlSource
  readonly stashApiKey: Option.Option<Redacted.Redacted<string>>
  readonly plexUrl: string
  readonly plexToken: Option.Option<Redacted.Redacted<string>>
  /** Section titles to match in; empty = every movie section. */
  readonly plexLibraries: ReadonlyArray<string>
  readonly pathMap: PathMap
  readonly fields: ReadonlyArray<SyncField>
  readonly preservePlexEdits: boolean
  readonly strictMatching: boolean
  readonly concurrency: number
  readonly httpAddr: HttpAddr
  readonly webhookSecret: Option.Option<Redacted.Redacted<string>>
  readonly logLevel: LogLevelName
  readonly logFormat: LogFormatName
  readonly pollInterval: Duration.Duration
  readonly lease: Duration.Duration
  readonly holdLimit: Duration.Duration
  readonly breakerThreshold: number
  readonly probeMin: Duration.Duration
  readonly probeMax: Duration.Duration
  readonly rampFrom: number
  readonly rampTo: number
  readonly rampOver: Duration.Duration
  readonly dlqRetention: Duration.Duration
  readonly reconcileSchedule: ReconcileSchedule
  readonly reconcileScope: ReconcileScope
  readonly shutdownGrace: Duration.Duration
  /** The whole-request limit for every request to Plex and to Stash. */
  readonly requestTimeout: Duration.Duration
  readonly recoveryHistory: Duration.Duration
  /** Where the scheduler sends its notifications (each may carry a token: kept redacted). */
  readonly notifyUrls: ReadonlyArray<Redacted.Redacted<string>>
  readonly notifyDlqThreshold: number
  /** The bearer token of the scheduler's HTTP face (its API, UI, `/status`, `/metrics`; hooks too). */
  readonly apiToken: Option.Option<Redacted.Redacted<string>>
  /** Host names the scheduler answers to besides IP addresses, loopback names and this machine's name. */
  readonly allowedHosts: ReadonlyArray<string>
}

export type StashUrlSource =
  | { readonly _tag: "Setting" }
  | { readonly _tag: "Plugin"; readonly learnedAt: string }
  | { readonly _tag: "Default" }

export class AppConfig extends Context.Tag("@plexsync/runtime/AppConfig")<AppConfig, AppConfigShape>() {}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** One bad setting: where it came from (a variable, or a key of the file), its value (unless secret), what is allowed. */
export interface ConfigProblem {
  readonly where: string
  /** The value as given; none for secrets and for unknown names. */
  readonly value: Option.Option<string>
  readonly problem: string
}

const renderProblem = (p: ConfigProblem): string =>
  Option.match(p.value, {
    onNone: () => `${p.where}: ${p.problem}`,
    onSome: (v) => `${p.where}=${quoteEcho(v)}: ${p.problem}`
  })

/** The configuration is malformed: exit 2, nothing runs. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly problems: ReadonlyArray<ConfigProblem>
}> {
  override get message(): string {
    return this.problems.map(renderProblem).join("\n")
  }
}

/** The config file cannot be read or parsed. */
export class ConfigFileError extends Data.TaggedError("ConfigFileError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `config file ${this.path}: ${this.reason}`
  }
}

/** A value this command needs is not set. */
export class ConfigMissing extends Data.TaggedError("ConfigMissing")<{
  readonly variable: string
  readonly why: string
}> {
  override get message(): string {
    return `${this.variable} is not set: ${this.why}. Set it in the environment or in the config file (${
      envToKey(this.variable)
    }).`
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Value schemas (each accepts the string form of the environment, and the natural YAML/JSON form of the file)

const Trimmed = Schema.String.pipe(Schema.filter((s) => s.trim() === s && s.length > 0))

const HttpUrl = Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (s, _, ast) => {
    try {
      const url = new URL(s.trim())
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        return ParseResult.fail(new ParseResult.Type(ast, s))
      }
      return ParseResult.succeed(url.toString().replace(/\/+$/, ""))
    } catch {
      return ParseResult.fail(new ParseResult.Type(ast, s))
    }
  },
  encode: ParseResult.succeed
})

const Secret = Schema.String.pipe(
  // A header value cannot carry control characters; a trailing newline from a file is the usual cause.
  Schema.filter((s) => s.length > 0 && ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
)

const boundedInt = (min: number, max: number) =>
  Schema.Union(Schema.Int, Schema.NumberFromString.pipe(Schema.int())).pipe(Schema.between(min, max))

const positiveNumber = (max: number) =>
  Schema.Union(Schema.Number, Schema.NumberFromString).pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(max))

const BoolFromString = Schema.transformOrFail(Schema.String, Schema.Boolean, {
  strict: true,
  decode: (s, _, ast) => {
    const v = s.trim().toLowerCase()
    if (["true", "1", "yes", "on"].includes(v)) return ParseResult.succeed(true)
    if (["false", "0", "no", "off"].includes(v)) return ParseResult.succeed(false)
    return ParseResult.fail(new ParseResult.Type(ast, s))
  },
  encode: (b) => ParseResult.succeed(String(b))
})
const Bool = Schema.Union(Schema.Boolean, BoolFromString)

const CommaList = Schema.transform(Schema.String, Schema.Array(Schema.String), {
  strict: true,
  decode: (s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0),
  encode: (xs) => xs.join(",")
})
const StringList = Schema.Union(Schema.Array(Trimmed), CommaList)

const Fields = Schema.Union(
  Schema.Array(SyncFieldSchema),
  CommaList.pipe(Schema.compose(Schema.Array(SyncFieldSchema)))
)

const LogLevel = Schema.transform(Schema.String, Schema.String, {
  strict: true,
  decode: (s) => {
    const v = s.trim().toLowerCase()
    return v === "warn" ? "warning" : v
  },
  encode: (s) => s
}).pipe(Schema.compose(LogLevelName))

const LogFormat = Schema.transform(Schema.String, Schema.String, {
  strict: true,
  decode: (s) => s.trim().toLowerCase(),
  encode: (s) => s
}).pipe(Schema.compose(LogFormatName))

// The file may also give the map as a mapping `{ "/data/": "/media/" }`; both forms are checked by the domain's schema.
const PathMapFromRecord = Schema.transform(
  Schema.Record({ key: Schema.String, value: Schema.String }),
  Schema.String,
  {
    strict: true,
    decode: (record) => Object.entries(record).map(([stash, plex]) => `${stash}=>${plex}`).join(";"),
    encode: (text) => Object.fromEntries(text.split(";").map((pair) => pair.split("=>") as [string, string]))
  }
).pipe(Schema.compose(PathMapFromString))
const PathMapSetting = Schema.Union(PathMapFromString, PathMapFromRecord)

const HttpAddrFromString = Schema.transformOrFail(
  Schema.String,
  Schema.Struct({ host: Schema.String, port: Schema.Int }),
  {
    strict: true,
    decode: (s, _, ast) => {
      const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s.trim())
      const port = m === null ? NaN : Number(m[2])
      if (m === null || port > 65535) return ParseResult.fail(new ParseResult.Type(ast, s))
      return ParseResult.succeed({ host: m[1]!.replace(/^\[|\]$/g, ""), port })
    },
    encode: (a) => ParseResult.succeed(`${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`)
  }
)

const PositiveDuration = DurationFromString.pipe(Schema.filter((d) => Duration.toMillis(d) > 0))

const ReconcileIntervalFromString = Schema.transformOrFail(Schema.String, Schema.Any, {
  strict: true,
  decode: (s, _, ast) => {
    const v = s.trim().toLowerCase()
    if (v === "never") return ParseResult.succeed({ _tag: "Never" } satisfies ReconcileSchedule)
    const named: Record<string, string> = { hourly: "1h", daily: "1d", weekly: "7d" }
    const text = named[v] ?? v
    return Schema.decodeEither(PositiveDuration)(text).pipe(
      Either.map((interval): ReconcileSchedule => ({ _tag: "Every", name: v, interval })),
      Either.mapLeft(() => new ParseResult.Type(ast, s))
    )
  },
  encode: (a: ReconcileSchedule) =>
    ParseResult.succeed(a._tag === "Never" ? "never" : a._tag === "Every" ? a.name : a.expression)
})

const matchesSomeDate = (cron: Cron.Cron): boolean => {
  try {
    Cron.next(cron)
    return true
  } catch {
    return false
  }
}

/** A five-field cron expression (minute hour day-of-month month day-of-week) in local time, or `never`. */
const ReconcileAtFromString = Schema.transformOrFail(Schema.String, Schema.Any, {
  strict: true,
  decode: (s, _, ast) => {
    const v = s.trim().replace(/\s+/g, " ")
    if (v.toLowerCase() === "never") return ParseResult.succeed({ _tag: "Never" } satisfies ReconcileSchedule)
    if (v.split(" ").length !== 5) return ParseResult.fail(new ParseResult.Type(ast, s))
    return Cron.parse(v).pipe(
      Either.mapLeft(() => new ParseResult.Type(ast, s)),
      // A valid expression that no date matches (`30 3 31 2 *`) would leave nothing to schedule.
      Either.filterOrLeft(matchesSomeDate, () => new ParseResult.Type(ast, s, "it matches no date")),
      Either.map((cron): ReconcileSchedule => ({ _tag: "At", expression: v, cron }))
    )
  },
  encode: (a: ReconcileSchedule) => ParseResult.succeed(a._tag === "At" ? a.expression : "never")
})

const ReconcileScopeFromString = Schema.transformOrFail(Schema.String, Schema.Any, {
  strict: true,
  decode: (s, _, ast) => {
    const v = s.trim().toLowerCase()
    if (v === "all") return ParseResult.succeed({ _tag: "All" } satisfies ReconcileScope)
    return Schema.decodeEither(PositiveDuration)(v).pipe(
      Either.map((within): ReconcileScope => ({ _tag: "Recent", name: v, within })),
      Either.mapLeft(() => new ParseResult.Type(ast, s))
    )
  },
  encode: (a: ReconcileScope) => ParseResult.succeed(a._tag === "All" ? "all" : a.name)
})

/**
 * A notify URL: http(s), or `ntfy+http(s)://` for an ntfy server not at ntfy.sh. Redacted as soon as it is read: a
 * Discord webhook URL carries its token.
 */
const NotifyUrl = Schema.transformOrFail(Schema.String, Schema.RedactedFromSelf(Schema.String), {
  strict: true,
  decode: (s, _, ast) => {
    try {
      const url = new URL(s.trim())
      if (!["http:", "https:", "ntfy+http:", "ntfy+https:"].includes(url.protocol) || url.hostname === "") {
        return ParseResult.fail(new ParseResult.Type(ast, s))
      }
      return ParseResult.succeed(Redacted.make(s.trim()))
    } catch {
      return ParseResult.fail(new ParseResult.Type(ast, s))
    }
  },
  encode: (r) => ParseResult.succeed(Redacted.value(r))
})
// In a secret file the URLs may also be one a line.
const NotifyUrlList = Schema.transform(Schema.String, Schema.Array(Schema.String), {
  strict: true,
  decode: (s) => s.split(/[,\n]/).map((x) => x.trim()).filter((x) => x.length > 0),
  encode: (xs) => xs.join(",")
})
const NotifyUrls = Schema.Union(Schema.Array(Schema.String), NotifyUrlList).pipe(
  Schema.compose(Schema.Array(NotifyUrl))
)

// ---------------------------------------------------------------------------------------------------------------
// The settings table

export interface Setting {
  /** camelCase key of the file; the variable is derived from it. */
  readonly key: string
  readonly schema: Schema.Schema<any, any>
  /** What is allowed, for the error message. */
  readonly allowed: string
  /** Default in the same string form a user would write; undefined = no default (none). */
  readonly default?: string
  readonly secret?: boolean
  /** Add the schema's own message (it names the bad part, e.g. the path-map entry). */
  readonly detail?: boolean
  /** A server URL: shown only redacted (`redactServerUrl`), since one may carry a user's password or a token. */
  readonly url?: boolean
}

/** A setting's value as `plexsync config` and configuration errors show it (a secret is never passed here). */
export const shownSettingValue = (setting: Setting, raw: unknown): string => {
  const text = typeof raw === "string" ? raw : JSON.stringify(raw) ?? String(raw)
  return setting.url === true ? redactServerUrl(text) : text
}

const settings: ReadonlyArray<Setting> = [
  { key: "dataDir", schema: Trimmed, allowed: "a directory path" },
  {
    key: "stashUrl",
    schema: HttpUrl,
    allowed: "an http:// or https:// URL",
    default: "http://127.0.0.1:9999",
    url: true
  },
  { key: "stashApiKey", schema: Secret, allowed: "the Stash API key, on one line", secret: true },
  {
    key: "plexUrl",
    schema: HttpUrl,
    allowed: "an http:// or https:// URL",
    default: "http://127.0.0.1:32400",
    url: true
  },
  { key: "plexToken", schema: Secret, allowed: "the X-Plex-Token, on one line", secret: true },
  { key: "plexLibraries", schema: StringList, allowed: "comma-separated Plex library titles" },
  {
    key: "pathMap",
    schema: PathMapSetting,
    detail: true,
    allowed: "stashPrefix=>plexPrefix pairs separated by ';', e.g. /data/=>/media/"
  },
  {
    key: "fields",
    schema: Fields,
    allowed: `a comma-separated list of ${allSyncFields.join(", ")}`,
    default: allSyncFields.join(",")
  },
  { key: "preservePlexEdits", schema: Bool, allowed: "true or false", default: "false" },
  { key: "strictMatching", schema: Bool, allowed: "true or false", default: "true" },
  { key: "concurrency", schema: boundedInt(1, 64), allowed: "a whole number from 1 to 64", default: "4" },
  { key: "httpAddr", schema: HttpAddrFromString, allowed: "host:port, e.g. 127.0.0.1:8765", default: "127.0.0.1:8765" },
  { key: "webhookSecret", schema: Secret, allowed: "a secret on one line", secret: true },
  { key: "logLevel", schema: LogLevel, allowed: "debug, info, warning or error", default: "info" },
  { key: "logFormat", schema: LogFormat, allowed: "text or json", default: "text" },
  { key: "pollInterval", schema: PositiveDuration, allowed: durationHint, default: "30s" },
  { key: "lease", schema: PositiveDuration, allowed: durationHint, default: "15s" },
  { key: "holdLimit", schema: PositiveDuration, allowed: durationHint, default: "72h" },
  { key: "breakerThreshold", schema: boundedInt(1, 1000), allowed: "a whole number from 1 to 1000", default: "5" },
  { key: "probeMin", schema: PositiveDuration, allowed: durationHint, default: "5s" },
  { key: "probeMax", schema: PositiveDuration, allowed: durationHint, default: "60s" },
  { key: "rampFrom", schema: positiveNumber(100_000), allowed: "jobs per second, a number above 0", default: "5" },
  { key: "rampTo", schema: positiveNumber(100_000), allowed: "jobs per second, a number above 0", default: "20" },
  { key: "rampOver", schema: PositiveDuration, allowed: durationHint, default: "300s" },
  { key: "dlqRetention", schema: PositiveDuration, allowed: durationHint, default: "30d" },
  {
    // Unset by default: PLEXSYNC_RECONCILE_AT decides. Set, it replaces the cron schedule.
    key: "reconcileInterval",
    schema: ReconcileIntervalFromString,
    allowed: `never, hourly, daily, weekly, or ${durationHint}`
  },
  {
    // Applied below when neither schedule is set (so that giving both can be told apart and refused).
    key: "reconcileAt",
    schema: ReconcileAtFromString,
    allowed:
      `never, or a cron expression "minute hour day month weekday" in local time that matches some date, e.g. "${defaultReconcileAt}"`
  },
  {
    key: "reconcileScope",
    schema: ReconcileScopeFromString,
    allowed: `all, or ${durationHint} (scenes added or changed that recently)`,
    default: "all"
  },
  { key: "shutdownGrace", schema: PositiveDuration, allowed: durationHint, default: "10s" },
  { key: "requestTimeout", schema: PositiveDuration, allowed: durationHint, default: "30s" },
  { key: "recoveryHistory", schema: PositiveDuration, allowed: durationHint, default: "90d" },
  {
    key: "notifyUrls",
    schema: NotifyUrls,
    allowed: "comma-separated http:// or https:// URLs (ntfy+https:// for an ntfy server not at ntfy.sh)",
    secret: true
  },
  {
    key: "notifyDlqThreshold",
    schema: boundedInt(0, 1_000_000),
    allowed: "a whole number from 0 to 1000000",
    default: "10"
  },
  { key: "apiToken", schema: Secret, allowed: "a secret on one line", secret: true },
  { key: "allowedHosts", schema: StringList, allowed: "comma-separated host names, e.g. plexsync.lan" }
]

/** `plexUrl` → `PLEXSYNC_PLEX_URL` */
export const keyToEnv = (key: string): string => `PLEXSYNC_${key.replace(/([A-Z])/g, "_$1").toUpperCase()}`
/** `PLEXSYNC_PLEX_URL` → `plexUrl` */
export const envToKey = (variable: string): string =>
  variable.replace(/^PLEXSYNC_/, "").toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

/** Names the environment may carry besides the settings. */
export const configFileVariable = "PLEXSYNC_CONFIG"
/** Read by the Stash plugin's forwarder (stash-plugin/forward), which may share an environment with plexsync. */
export const forwarderVariables: ReadonlyArray<string> = ["PLEXSYNC_HOOK_URL"]
export const settingKeys: ReadonlyArray<string> = settings.map((s) => s.key)
/** The settings table: docs/settings.md and `plexsync config` are made from it. */
export const settingsTable: ReadonlyArray<Setting> = settings
/** The secret settings' variables; each also accepts `<NAME>_FILE`, naming a file that holds the secret. */
export const secretVariables: ReadonlyArray<string> = settings.filter((s) => s.secret === true).map((s) =>
  keyToEnv(s.key)
)
export const settingVariables: ReadonlyArray<string> = [
  ...settings.map((s) => keyToEnv(s.key)),
  ...secretVariables.map(fileVariable),
  configFileVariable,
  ...forwarderVariables
]

// ---------------------------------------------------------------------------------------------------------------
// Decoding

export interface ConfigSources {
  /** The process environment (only `PLEXSYNC_*`, `HOME` and `XDG_DATA_HOME` are read). */
  readonly env: Readonly<Record<string, string | undefined>>
  /** The parsed config file, if one was given. */
  readonly file: Option.Option<{ readonly path: string; readonly values: unknown }>
  /** Relative paths resolve against this. */
  readonly cwd: string
  /** Fallback home directory when `HOME` is unset. */
  readonly homedir: string
  /** Extra `PLEXSYNC_*` variables a caller accepts (the scheduler's own, tests' own, …). */
  readonly extraVariables?: ReadonlyArray<string>
}

const defaultDataDir = (env: ConfigSources["env"], homedir: string): string => {
  const xdg = env.XDG_DATA_HOME
  if (xdg !== undefined && NodePath.isAbsolute(xdg)) return NodePath.join(xdg, "plexsync")
  return NodePath.join(env.HOME !== undefined && env.HOME !== "" ? env.HOME : homedir, ".local", "share", "plexsync")
}

const expandHome = (path: string, home: string): string =>
  path === "~" ? home : path.startsWith("~/") ? NodePath.join(home, path.slice(2)) : path

/** Decodes the whole configuration from its sources, reporting every problem at once. */
export const decodeAppConfig = (sources: ConfigSources): Either.Either<AppConfigShape, ConfigError> => {
  const problems: Array<ConfigProblem> = []
  const known = new Set([...settingVariables, ...(sources.extraVariables ?? [])])

  for (const name of Object.keys(sources.env).sort()) {
    if (name.startsWith("PLEXSYNC_") && !known.has(name)) {
      problems.push({
        where: clipEcho(name),
        value: Option.none(),
        problem: `not a plexsync setting${didYouMean(name, [...known])}`
      })
    }
  }

  let fileValues: Record<string, unknown> = {}
  const filePath = Option.map(sources.file, (f) => f.path)
  if (Option.isSome(sources.file)) {
    const { path, values } = sources.file.value
    if (values === null || values === undefined) {
      fileValues = {}
    } else if (typeof values !== "object" || Array.isArray(values)) {
      problems.push({
        where: `config file ${path}`,
        value: Option.none(),
        problem: "expected a mapping of settings (plexUrl: …, pathMap: …)"
      })
    } else {
      fileValues = values as Record<string, unknown>
      for (const key of Object.keys(fileValues)) {
        if (!settingKeys.includes(key)) {
          problems.push({
            where: `key ${quoteEcho(key)} in ${path}`,
            value: Option.none(),
            problem: `not a plexsync setting${didYouMean(key, settingKeys)}`
          })
        }
      }
    }
  }

  const home = sources.env.HOME !== undefined && sources.env.HOME !== "" ? sources.env.HOME : sources.homedir
  const decoded: Record<string, unknown> = {}
  const given = new Set<string>()
  for (const setting of settings) {
    const variable = keyToEnv(setting.key)
    const envValue = sources.env[variable]
    // An empty variable counts as unset: `PLEXSYNC_PLEX_TOKEN=` in an env file means "not given".
    const fromEnv = envValue !== undefined && envValue !== ""
    const fromFile = !fromEnv && Object.prototype.hasOwnProperty.call(fileValues, setting.key) &&
      fileValues[setting.key] !== null
    const raw: unknown = fromEnv ? envValue : fromFile ? fileValues[setting.key] : setting.default
    if (fromEnv || fromFile) given.add(setting.key)
    if (raw === undefined) continue
    const where = fromEnv ? variable : fromFile ? `${setting.key} in ${Option.getOrElse(filePath, () => "")}` : variable
    const result = Schema.decodeUnknownEither(setting.schema)(raw)
    if (Either.isLeft(result)) {
      const shown = setting.secret === true ? Option.none() : Option.some(shownSettingValue(setting, raw))
      problems.push({
        where: setting.secret === true ? `${where} (value hidden)` : where,
        value: shown,
        problem: setting.detail === true
          ? clipEcho(firstMessage(result.left), 300)
          : `expected ${setting.allowed}`
      })
      continue
    }
    // A list of secrets (the notify URLs) comes out of its schema redacted one by one.
    decoded[setting.key] = setting.secret === true && typeof result.right === "string"
      ? Redacted.make(result.right)
      : result.right
  }

  if (problems.length === 0) {
    const probeMin = decoded.probeMin as Duration.Duration
    const probeMax = decoded.probeMax as Duration.Duration
    if (Duration.greaterThan(probeMin, probeMax)) {
      problems.push({
        where: "PLEXSYNC_PROBE_MIN / PLEXSYNC_PROBE_MAX",
        value: Option.none(),
        problem: "the minimum probe interval is longer than the maximum"
      })
    }
    if (decoded.reconcileInterval !== undefined && decoded.reconcileAt !== undefined) {
      problems.push({
        where: "PLEXSYNC_RECONCILE_INTERVAL / PLEXSYNC_RECONCILE_AT",
        value: Option.none(),
        problem: "give one reconciliation schedule: an interval or a cron time, not both"
      })
    }
    if ((decoded.rampFrom as number) > (decoded.rampTo as number)) {
      problems.push({
        where: "PLEXSYNC_RAMP_FROM / PLEXSYNC_RAMP_TO",
        value: Option.none(),
        problem: "the ramp starts above where it ends"
      })
    }
  }
  if (problems.length > 0) return Either.left(new ConfigError({ problems }))

  const dataDir = decoded.dataDir === undefined
    ? defaultDataDir(sources.env, sources.homedir)
    : NodePath.resolve(sources.cwd, expandHome(decoded.dataDir as string, home))
  const optionalSecret = (key: string) => Option.fromNullable(decoded[key] as Redacted.Redacted<string> | undefined)
  return Either.right({
    configFile: filePath,
    dataDir,
    databaseFile: NodePath.join(dataDir, "plexsync.db"),
    stashUrl: decoded.stashUrl as string,
    stashUrlSource: given.has("stashUrl") ? { _tag: "Setting" } : { _tag: "Default" },
    stashApiKey: optionalSecret("stashApiKey"),
    plexUrl: decoded.plexUrl as string,
    plexToken: optionalSecret("plexToken"),
    plexLibraries: (decoded.plexLibraries as ReadonlyArray<string> | undefined) ?? [],
    pathMap: (decoded.pathMap as PathMap | undefined) ?? [],
    fields: dedupe(decoded.fields as ReadonlyArray<SyncField>),
    preservePlexEdits: decoded.preservePlexEdits as boolean,
    strictMatching: decoded.strictMatching as boolean,
    concurrency: decoded.concurrency as number,
    httpAddr: decoded.httpAddr as HttpAddr,
    webhookSecret: optionalSecret("webhookSecret"),
    logLevel: decoded.logLevel as LogLevelName,
    logFormat: decoded.logFormat as LogFormatName,
    pollInterval: decoded.pollInterval as Duration.Duration,
    lease: decoded.lease as Duration.Duration,
    holdLimit: decoded.holdLimit as Duration.Duration,
    breakerThreshold: decoded.breakerThreshold as number,
    probeMin: decoded.probeMin as Duration.Duration,
    probeMax: decoded.probeMax as Duration.Duration,
    rampFrom: decoded.rampFrom as number,
    rampTo: decoded.rampTo as number,
    rampOver: decoded.rampOver as Duration.Duration,
    dlqRetention: decoded.dlqRetention as Duration.Duration,
    reconcileSchedule: (decoded.reconcileInterval ?? decoded.reconcileAt ?? defaultReconcile) as ReconcileSchedule,
    reconcileScope: decoded.reconcileScope as ReconcileScope,
    shutdownGrace: decoded.shutdownGrace as Duration.Duration,
    requestTimeout: decoded.requestTimeout as Duration.Duration,
    recoveryHistory: decoded.recoveryHistory as Duration.Duration,
    notifyUrls: (decoded.notifyUrls as ReadonlyArray<Redacted.Redacted<string>> | undefined) ?? [],
    notifyDlqThreshold: decoded.notifyDlqThreshold as number,
    apiToken: optionalSecret("apiToken"),
    allowedHosts: ((decoded.allowedHosts as ReadonlyArray<string> | undefined) ?? []).map((h) => h.toLowerCase())
  })
}

/** The most specific message of a parse error (a custom message names the bad part). */
const firstMessage = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const custom = issues.find((i) => i.message.includes("expected"))
  return (custom ?? issues[0])?.message ?? "not valid"
}

const defaultReconcile: ReconcileSchedule = {
  _tag: "At",
  expression: defaultReconcileAt,
  cron: Either.getOrThrow(Cron.parse(defaultReconcileAt))
}

const dedupe = <A>(xs: ReadonlyArray<A>): ReadonlyArray<A> => [...new Set(xs)]

/**
 * With no Stash URL set, the address Stash gave the plugin (the text of the data directory's `stash-url.json`)
 * stands in for the default.
 */
export const withLearnedStashUrl = (config: AppConfigShape, learnedText: string | undefined): AppConfigShape => {
  if (config.stashUrlSource._tag !== "Default") return config
  return Option.match(readLearned(learnedText), {
    onNone: () => config,
    onSome: (learned) => ({
      ...config,
      stashUrl: learned.url,
      stashUrlSource: { _tag: "Plugin", learnedAt: learned.learnedAt }
    })
  })
}

// ---------------------------------------------------------------------------------------------------------------
// The config file

/** The part of the `yaml` package the config loader uses (loaded only for a YAML file). */
export interface YamlParser {
  readonly parseDocument: (
    text: string,
    options: { readonly uniqueKeys: boolean }
  ) => {
    readonly errors: ReadonlyArray<
      {
        readonly message: string
        readonly linePos?: readonly [{ readonly line: number; readonly col: number }, ...Array<unknown>]
      }
    >
    readonly toJS: () => unknown
  }
}

export const isJsonConfig = (path: string): boolean => path.toLowerCase().endsWith(".json")

/** Parses a config file's text: `.json` as JSON, anything else as YAML (which also reads JSON). */
export const decodeConfigText = (
  path: string,
  text: string,
  yaml: YamlParser | undefined
): Either.Either<unknown, ConfigFileError> => {
  if (isJsonConfig(path) || yaml === undefined) {
    try {
      return Either.right(JSON.parse(text) as unknown)
    } catch (e) {
      return Either.left(new ConfigFileError({ path, reason: `not valid JSON (${(e as Error).message})` }))
    }
  }
  const doc = yaml.parseDocument(text, { uniqueKeys: true })
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!
    const line = first.linePos?.[0]
    return Either.left(
      new ConfigFileError({
        path,
        reason: `not valid YAML${line ? ` at line ${line.line}, column ${line.col}` : ""} (${
          first.message.split("\n")[0]
        })`
      })
    )
  }
  try {
    // toJS throws on what parses but cannot be built, e.g. an alias whose anchor does not exist.
    return Either.right(doc.toJS())
  } catch (e) {
    return Either.left(
      new ConfigFileError({ path, reason: `not valid YAML (${String((e as Error).message).split("\n")[0]})` })
    )
  }
}

export const parseConfigText = (path: string, text: string): Effect.Effect<unknown, ConfigFileError> =>
  Effect.gen(function*() {
    const yaml = isJsonConfig(path) ? undefined : yield* Effect.promise(() => import("yaml"))
    return yield* decodeConfigText(path, text, yaml as YamlParser | undefined)
  })

export interface LoadOptions {
  readonly env: Readonly<Record<string, string | undefined>>
  /** `--config FILE` from the command line; wins over `PLEXSYNC_CONFIG`. */
  readonly configFlag: Option.Option<string>
  readonly cwd: string
  readonly homedir: string
  readonly extraVariables?: ReadonlyArray<string>
}

/**
 * The config file to read, if any: `--config FILE`, else `PLEXSYNC_CONFIG`, else the first that exists of
 * `$XDG_CONFIG_HOME/plexsync/plexsync.yml` (`~/.config/…`) and `/config/plexsync.yml`; absolute.
 */
export const configFilePath = (
  options: Pick<LoadOptions, "env" | "configFlag" | "cwd" | "homedir">
): Option.Option<string> =>
  Option.fromNullable(
    discoverConfigFile({ ...options, configFlag: Option.getOrUndefined(options.configFlag) }, isFileSync)
  )

/** Whether a regular file is there. */
export const isFileSync = (path: string): boolean => {
  try {
    return Fs.statSync(path).isFile()
  } catch {
    return false
  }
}

/** Each `<NAME>_FILE` of a secret read into `<NAME>` (`read` is given the path resolved against `cwd`). */
export const withSecretFiles = (
  options: Pick<LoadOptions, "env" | "cwd">,
  read: (path: string) => { readonly text: string } | { readonly reason: string }
): Either.Either<ResolvedSecrets, ConfigError> => {
  const resolved = resolveSecretFiles(options.env, secretVariables, (path) => read(NodePath.resolve(options.cwd, path)))
  return resolved.problems.length === 0 ? Either.right(resolved) : Either.left(
    new ConfigError({ problems: resolved.problems.map((p) => ({ ...p, value: Option.none() })) })
  )
}

/** Reads the secret files `withSecretFiles` will ask for. */
const readSecretFiles = (options: Pick<LoadOptions, "env" | "cwd">) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const texts = new Map<string, { readonly text: string } | { readonly reason: string }>()
    for (const variable of secretVariables) {
      const given = options.env[fileVariable(variable)]
      if (given === undefined || given === "") continue
      const path = NodePath.resolve(options.cwd, given)
      texts.set(
        path,
        yield* fs.readFileString(path).pipe(
          Effect.map((text) => ({ text })),
          Effect.catchAll((e) =>
            Effect.succeed({ reason: unreadableReason(e._tag === "SystemError" ? e.reason : undefined) })
          )
        )
      )
    }
    return withSecretFiles(options, (path) => texts.get(path) ?? { reason: "cannot be read" })
  })

const sourcesOf = (options: LoadOptions, file: ConfigSources["file"]): ConfigSources => ({
  env: options.env,
  file,
  cwd: options.cwd,
  homedir: options.homedir,
  ...(options.extraVariables === undefined ? {} : { extraVariables: options.extraVariables })
})

const unreadable = (path: string, code: string | undefined) =>
  new ConfigFileError({
    path,
    reason: code === "NotFound" || code === "ENOENT"
      ? "no such file"
      : code === "PermissionDenied" || code === "EACCES"
      ? "permission denied"
      : "cannot be read"
  })

/** Reads the file (if any) and decodes the whole configuration. */
export const loadAppConfig = (
  options: LoadOptions
): Effect.Effect<AppConfigShape, ConfigError | ConfigFileError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const secrets = yield* Effect.flatten(readSecretFiles(options))
    let file: ConfigSources["file"] = Option.none()
    const path = configFilePath(options)
    if (Option.isSome(path)) {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(path.value).pipe(
        Effect.mapError((e) => unreadable(path.value, e._tag === "SystemError" ? e.reason : undefined))
      )
      const values = yield* parseConfigText(path.value, text)
      file = Option.some({ path: path.value, values })
    }
    const config = yield* decodeAppConfig(sourcesOf({ ...options, env: secrets.env }, file))
    if (config.stashUrlSource._tag !== "Default") return config
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(learnedFile(config.dataDir)).pipe(Effect.option)
    return withLearnedStashUrl(config, Option.getOrUndefined(text))
  })

/**
 * The same, synchronously, for the Stash hook's fast path (no Effect runtime): `readFile` reads a file's text
 * (throwing Node's errors), `yaml` loads the YAML parser when a YAML file is given.
 */
export const loadAppConfigSync = (
  options: LoadOptions & {
    readonly readFile: (path: string) => string
    readonly yaml: () => YamlParser
  }
): Either.Either<AppConfigShape, ConfigError | ConfigFileError> =>
  Either.gen(function*() {
    const secrets = yield* withSecretFiles(options, (path) => {
      try {
        return { text: options.readFile(path) }
      } catch (e) {
        return { reason: unreadableReason((e as NodeJS.ErrnoException).code) }
      }
    })
    let file: ConfigSources["file"] = Option.none()
    const path = configFilePath(options)
    if (Option.isSome(path)) {
      let text: string
      try {
        text = options.readFile(path.value)
      } catch (e) {
        return yield* Either.left(unreadable(path.value, (e as NodeJS.ErrnoException).code))
      }
      const values = yield* decodeConfigText(path.value, text, isJsonConfig(path.value) ? undefined : options.yaml())
      file = Option.some({ path: path.value, values })
    }
    const config = yield* decodeAppConfig(sourcesOf({ ...options, env: secrets.env }, file))
    if (config.stashUrlSource._tag !== "Default") return config
    let text: string | undefined
    try {
      text = options.readFile(learnedFile(config.dataDir))
    } catch {
      text = undefined
    }
    return withLearnedStashUrl(config, text)
  })

export const layer = (
  options: LoadOptions
): Layer.Layer<AppConfig, ConfigError | ConfigFileError, FileSystem.FileSystem> =>
  Layer.effect(AppConfig, loadAppConfig(options))

// ---------------------------------------------------------------------------------------------------------------
// Requirements of individual commands

export const requirePlexToken = (config: AppConfigShape): Effect.Effect<Redacted.Redacted<string>, ConfigMissing> =>
  Option.match(config.plexToken, {
    onNone: () =>
      Effect.fail(new ConfigMissing({ variable: "PLEXSYNC_PLEX_TOKEN", why: "it is needed to talk to Plex" })),
    onSome: Effect.succeed
  })
