import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { quoteEcho } from "@plexsync/domain/Echo"
import { parseReconcileScope, ReconcileScope } from "@plexsync/domain/Reconcile"
import type { AppConfigShape, LogLevelName } from "@plexsync/runtime/AppConfig"
import { loadAppConfig } from "@plexsync/runtime/AppConfig"
import * as Commands from "@plexsync/runtime/Commands"
import type { Report } from "@plexsync/runtime/Commands"
import { parseDurationMs } from "@plexsync/runtime/Duration"
import { serversLayer, stashLayer, storeLayer } from "@plexsync/runtime/Layers"
import { logLevelOf } from "@plexsync/runtime/Logging"
import { printJson, printLine, versioned } from "@plexsync/runtime/Present"
import { engineSettings, reconcileSettings } from "@plexsync/runtime/Tuning"
import { version } from "@plexsync/runtime/Version"
import { Effect, Either, FiberRef, Layer, Logger, Option } from "effect"
import * as Os from "node:os"
import { configReport } from "./ConfigCommand.js"
import { doctor, renderCheck } from "./doctor/Doctor.js"
import { errorDocument, Rendered, renderError, UsageError } from "./Errors.js"
import type { ArgHelp, CommandHelp, OptionHelp } from "./help/Help.js"
import { jsonOutput, terminalProgress } from "./Progress.js"
import { logFormat } from "./Terminal.js"
import { parseTimeArg } from "./TimeArg.js"
import * as Work from "./Work.js"

/**
 * The `plexsync` command line. Every command validates the whole configuration first (exit 2 on a bad value),
 * opens only what it needs, prints a human report or, with `--json`, one JSON document on stdout, and exits
 * 0, or 1 when its work failed (the README's exit codes).
 */

export { version }

// ---------------------------------------------------------------------------------------------------------------
// Shared options and plumbing

/** What the help says of each option and argument, keyed by the parser's value (see `described`). */
const helpOf = new WeakMap<object, OptionHelp | ArgHelp>()

/** Registers what the help says of an option or argument; returns it unchanged. */
const described = <A extends object>(value: A, help: OptionHelp | ArgHelp): A => {
  helpOf.set(value, help)
  return value
}

/** An optional `--name PSEUDO` taking text. */
const optionalText = (name: string, pseudo: string, description: string) =>
  described(
    Options.text(name).pipe(Options.withPseudoName(pseudo), Options.withDescription(description), Options.optional),
    { flag: `--${name}`, value: pseudo, description }
  )

/** An optional `--name PSEUDO` taking a whole number. */
const optionalInteger = (name: string, pseudo: string, description: string) =>
  described(
    Options.integer(name).pipe(Options.withPseudoName(pseudo), Options.withDescription(description), Options.optional),
    { flag: `--${name}`, value: pseudo, description }
  )

/** `--name N` with a default. */
const integerOption = (name: string, description: string, fallback: number) =>
  described(
    Options.integer(name).pipe(
      Options.withPseudoName("N"),
      Options.withDescription(description),
      Options.withDefault(fallback)
    ),
    { flag: `--${name}`, value: "N", description: `${description} Default: ${fallback}.` }
  )

/** A `--name` that takes no value. */
const flag = (name: string, description: string) =>
  described(Options.boolean(name).pipe(Options.withDescription(description)), { flag: `--${name}`, description })

const positional = (name: string, description: string) => Args.text({ name }).pipe(Args.withDescription(description))

/** One positional argument. */
const argument = (name: string, description: string) =>
  described(positional(name, description), { name, description, count: "one" })

/** Any number of positional arguments. */
const anyArguments = (name: string, description: string) =>
  described(Args.repeated(positional(name, description)), { name, description, count: "any" })

/** At least one positional argument. */
const someArguments = (name: string, description: string) =>
  described(Args.atLeast(positional(name, description), 1), { name, description, count: "atLeastOne" })

const configOption = optionalText(
  "config",
  "FILE",
  "Read settings from FILE (JSON or YAML, camelCase keys); the environment wins over it."
)
const jsonOption = flag("json", "Print one JSON document on stdout and nothing else.")

/** `--log-level LEVEL` from the command line: wins over the configuration's `PLEXSYNC_LOG_LEVEL`. */
export const logLevelFlag = FiberRef.unsafeMake<Option.Option<LogLevelName>>(Option.none())

const loadConfig = (configFlag: Option.Option<string>) =>
  loadAppConfig({ env: process.env, configFlag, cwd: process.cwd(), homedir: Os.homedir() }).pipe(
    Effect.provide(NodeFileSystem.layer)
  )

const withConfig = <A, E, R>(
  configFlag: Option.Option<string>,
  body: (config: AppConfigShape) => Effect.Effect<A, E, R>
): Effect.Effect<A, Rendered, R> =>
  loadConfig(configFlag).pipe(
    Effect.mapError((error) => {
      const r = renderError(error)
      return new Rendered({ text: r.message, exitCode: r.exitCode, shown: r.shown })
    }),
    Effect.flatMap((config) =>
      body(config).pipe(
        Effect.tapErrorCause((cause) => Effect.logDebug("command failed", cause)),
        Effect.mapError((error) => {
          const r = renderError(error, { stashUrl: config.stashUrl, plexUrl: config.plexUrl })
          return new Rendered({ text: r.message, exitCode: r.exitCode, shown: r.shown })
        }),
        (effect) =>
          Effect.flatMap(FiberRef.get(logLevelFlag), (flag) =>
            Logger.withMinimumLogLevel(
              effect,
              logLevelOf({ logLevel: Option.getOrElse(flag, () => config.logLevel) })
            )),
        Effect.locally(logFormat, config.logFormat)
      )
    )
  )

const progress = terminalProgress

/** Prints a report (human or JSON); a report of failed work then exits 1. */
const show = (json: boolean) => (report: Report) =>
  Effect.gen(function*() {
    yield* json ? printJson(versioned(version, report.json)) : printLine(report.human)
    if (report.failed !== undefined) return yield* new Rendered({ text: report.failed, exitCode: 1, shown: true })
  })

/**
 * One command of the ten: it takes `--config FILE` and `--json` besides its own options, validates the whole
 * configuration (exit 2 on a bad value), runs `body` with it, and prints the report (human, or one JSON document).
 */
const command = <Name extends string, const Config extends Command.Command.Config, E, R>(
  name: Name,
  description: string,
  config: Config,
  body: (
    args: Command.Command.ParseConfig<Config>,
    config: AppConfigShape,
    output: { readonly json: boolean }
  ) => Effect.Effect<Report, E, R>
) =>
  withHelp(
    Command.make(name, { ...config, config: configOption, json: jsonOption }, (parsed) => {
      const { config: configFlag, json } = parsed as unknown as { config: Option.Option<string>; json: boolean }
      return withConfig(configFlag, (c) => body(parsed as Command.Command.ParseConfig<Config>, c, { json })).pipe(
        Effect.flatMap(show(json)),
        Effect.tapError((e) => {
          const document = json ? errorDocument(version, e) : null
          return document === null ? Effect.void : printJson(document)
        }),
        Effect.locally(jsonOutput, json)
      )
    }).pipe(Command.withDescription(description)),
    helpFor(name, description, { ...config, config: configOption, json: jsonOption })
  )

/** What the help says of each command, keyed by the command. */
const commandHelp = new WeakMap<object, CommandHelp>()

const withHelp = <C extends object>(command: C, help: CommandHelp): C => {
  commandHelp.set(command, help)
  return command
}

const helpOfCommand = (command: object): CommandHelp => commandHelp.get(command)!

/** A command's help from its options and arguments, in the order they are declared. */
const helpFor = (name: string, description: string, config: Record<string, unknown>): CommandHelp => {
  const entries = Object.values(config).flatMap((value) =>
    typeof value === "object" && value !== null ? Option.toArray(Option.fromNullable(helpOf.get(value))) : []
  )
  return {
    name,
    description,
    args: entries.filter((e): e is ArgHelp => "count" in e),
    options: entries.filter((e): e is OptionHelp => "flag" in e),
    subcommands: []
  }
}

/** A group of commands (`dlq`). */
const group = <const Subcommands extends readonly [object, ...Array<object>]>(
  name: string,
  description: string,
  subcommands: Subcommands
) => ({
  description,
  help: { name, description, args: [], options: [], subcommands: subcommands.map(helpOfCommand) } satisfies CommandHelp
})

const usage = (message: string) => new UsageError({ message })

const timeOption = (name: string, description: string) => optionalText(name, "TIME", description)

/** Parses an optional time argument (ISO-8601, epoch seconds, or `24h` = that long ago). */
const parseTime = (flag: string, value: Option.Option<string>) =>
  Option.match(value, {
    onNone: () => Effect.succeed(Option.none<number>()),
    onSome: (text) =>
      Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (now) =>
        Either.match(parseTimeArg(text, now), {
          onLeft: (why) => Effect.fail(usage(`--${flag}: ${why}`)),
          onRight: (ms) => Effect.succeed(Option.some(ms))
        }))
  })

// ---------------------------------------------------------------------------------------------------------------
// Commands

const status = command(
  "status",
  "Queue counts by state, dead-letter entries by error, breakers, the current and last outage, the last recovery " +
    "and reconciliation, and whether the worker stopped for a person to act (a refused token or key).",
  {},
  (_, c) =>
    Commands.status({ reconcile: c.reconcileSchedule, stash: { url: c.stashUrl, source: c.stashUrlSource } }).pipe(
      Effect.provide(storeLayer(c))
    )
)

const enqueue = command(
  "enqueue",
  "Queues the scenes, merging with jobs already queued for them.",
  { sceneIds: someArguments("sceneId", "The Stash scene ids to queue.") },
  ({ sceneIds }, c) => Commands.enqueue(sceneIds).pipe(Effect.provide(storeLayer(c)))
)

const sync = command(
  "sync",
  "Queues every scene changed in Stash since TIME (default: since the last sync's watermark; the first time, all).",
  {
    all: flag("all", "Queue every scene in Stash."),
    since: timeOption("since", "Queue scenes changed since TIME (ISO-8601, epoch seconds, or 30m/24h/7d ago).")
  },
  ({ all, since }, c) =>
    Effect.gen(function*() {
      if (all && Option.isSome(since)) return yield* usage("give --all or --since, not both")
      const from = yield* parseTime("since", since)
      const selection: Work.SyncSelection = all
        ? { _tag: "All" }
        : Option.isSome(from)
        ? { _tag: "Since", ms: from.value }
        : { _tag: "Watermark", fallbackMs: Option.none() }
      return yield* Work.sync(selection, progress).pipe(Effect.provide(Layer.merge(stashLayer(c), storeLayer(c))))
    })
)

const run = command(
  "run",
  "Processes the queue in the foreground until nothing is due (jobs held by an open breaker are not due); " +
    "exits 1 if Plex or Stash refuses the credentials.",
  {
    wait: flag("wait", "Keep going until the queue is empty, sleeping through backoffs and outages."),
    maxJobs: optionalInteger("max-jobs", "N", "Process at most N jobs.")
  },
  ({ maxJobs, wait }, c) =>
    Work.run(engineSettings(c), { wait, maxJobs }, progress).pipe(Effect.provide(serversLayer(c)))
)

// dlq

const errorOption = described(
  Options.text("error").pipe(
    Options.withPseudoName("TAG"),
    Options.withDescription("Only entries with this error tag (repeatable), e.g. PlexServerDown."),
    Options.repeated
  ),
  {
    flag: "--error",
    value: "TAG",
    description: "Only entries with this error tag, e.g. PlexServerDown; give it again for more tags.",
    repeated: true
  }
)

const dlqList = command(
  "list",
  "Dead-letter entries, oldest first.",
  {
    errors: errorOption,
    since: timeOption("since", "Only entries that failed at or after TIME."),
    until: timeOption("until", "Only entries that failed at or before TIME."),
    scene: optionalText("scene", "ID", "Only entries of this scene."),
    limit: integerOption("limit", "At most N entries.", 50),
    includeRecovered: flag("include-recovered", "Also list entries already recovered (kept for audit)."),
    includeResolved: flag(
      "include-resolved",
      "List every entry: also those recovered, superseded by a newer job, or whose scene was deleted."
    )
  },
  ({ errors, includeRecovered, includeResolved, limit, scene, since, until }, c) =>
    Effect.gen(function*() {
      const from = yield* parseTime("since", since)
      const to = yield* parseTime("until", until)
      return yield* Commands.dlqList({
        errorTags: errors,
        since: from,
        until: to,
        sceneId: scene,
        limit,
        includeRecovered,
        includeResolved
      })
        .pipe(Effect.provide(storeLayer(c)))
    })
)

const dlqShow = command(
  "show",
  "One dead-letter entry with its full error detail and payload.",
  { id: argument("id", "The entry's id (see plexsync dlq list).") },
  ({ id }, c) => Commands.dlqShow(id).pipe(Effect.provide(storeLayer(c)))
)

const dlqRetry = command(
  "retry",
  "Re-queues entries (by id, or by --error TAG) and marks them recovered; a scene already queued is not queued twice.",
  {
    errors: errorOption,
    since: timeOption("since", "With --error: only entries that failed at or after TIME."),
    until: timeOption("until", "With --error: only entries that failed at or before TIME."),
    ids: anyArguments("id", "The entries' ids (see plexsync dlq list).")
  },
  ({ errors, ids, since, until }, c) =>
    Effect.gen(function*() {
      const from = yield* parseTime("since", since)
      const to = yield* parseTime("until", until)
      return yield* Commands.dlqRetry({ ids, errorTags: errors, since: from, until: to }).pipe(
        Effect.provide(storeLayer(c))
      )
    })
)

const dlqPurge = command(
  "purge",
  "Deletes dead-letter entries and prints how many.",
  {
    olderThan: optionalText("older-than", "DURATION", "Delete entries that failed more than DURATION ago (e.g. 30d)."),
    all: flag("all", "Delete every entry.")
  },
  ({ all, olderThan }, c) =>
    Effect.gen(function*() {
      if (all === Option.isSome(olderThan)) return yield* usage("give --older-than DURATION or --all")
      let selection: Commands.PurgeSelection = { _tag: "All" }
      if (Option.isSome(olderThan)) {
        const ms = parseDurationMs(olderThan.value)
        if (ms === undefined || ms <= 0) {
          return yield* usage(`--older-than ${quoteEcho(olderThan.value)}: expected a duration such as 30d or 72h`)
        }
        selection = { _tag: "OlderThan", ms }
      }
      return yield* Commands.dlqPurge(selection).pipe(Effect.provide(storeLayer(c)))
    })
)

const dlqGroup = group(
  "dlq",
  "The dead-letter queue: jobs that failed for good, kept for a person to look at.",
  [dlqList, dlqShow, dlqRetry, dlqPurge]
)
const dlq = withHelp(
  Command.make("dlq").pipe(
    Command.withDescription(dlqGroup.description),
    Command.withSubcommands([dlqList, dlqShow, dlqRetry, dlqPurge])
  ),
  dlqGroup.help
)

const recover = command(
  "recover",
  "Re-queues the jobs that failed because of an outage (default: the last completed one); exits 1 if Plex is down.",
  {
    outage: optionalInteger("outage", "ID", "Recover the entries of this outage (see plexsync outages)."),
    from: timeOption("from", "Start of the window (with --to)."),
    to: timeOption("to", "End of the window (with --from)."),
    includeOptional: flag("include-optional", "Also recover PlexTemporaryError and PlexNotFound entries."),
    dryRun: flag("dry-run", "Count what would be recovered; change nothing.")
  },
  ({ dryRun, from, includeOptional, outage, to }, c) =>
    Effect.gen(function*() {
      const start = yield* parseTime("from", from)
      const end = yield* parseTime("to", to)
      if (Option.isSome(outage) && (Option.isSome(start) || Option.isSome(end))) {
        return yield* usage("give --outage ID or --from/--to, not both")
      }
      if (Option.isSome(start) !== Option.isSome(end)) return yield* usage("--from and --to go together")
      const window: Work.RecoverWindow = Option.isSome(outage)
        ? { _tag: "Outage", outageId: outage.value }
        : Option.isSome(start) && Option.isSome(end)
        ? { _tag: "Range", from: start.value, to: end.value }
        : { _tag: "LastOutage" }
      if (window._tag === "Outage" && window.outageId < 1) {
        return yield* usage("--outage takes an outage id (1, 2, …)")
      }
      return yield* Work.recover({ window, includeOptional, dryRun }, progress).pipe(
        Effect.provide(serversLayer(c))
      )
    })
)

const outages = command(
  "outages",
  "Outage history, newest first, with MTTR, MTBF and availability per target over a window.",
  {
    limit: integerOption("limit", "The N most recent outages.", 20),
    window: optionalText(
      "window",
      "DURATION",
      "Measure over the last DURATION (default 30d; never before the database was created)."
    )
  },
  ({ limit, window }, c) =>
    Effect.gen(function*() {
      const text = Option.getOrElse(window, () => "30d")
      const ms = parseDurationMs(text)
      if (ms === undefined || ms <= 0) {
        return yield* usage(`--window ${JSON.stringify(text)}: expected a duration such as 30d or 72h`)
      }
      return yield* Commands.outages(limit, ms).pipe(Effect.provide(storeLayer(c)))
    })
)

/** `--scope` or scene ids (not both); every scene when neither is given. */
const reconcileScope = (scope: Option.Option<string>, rawIds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (rawIds.length > 0) {
      if (Option.isSome(scope)) {
        return yield* usage(
          `give scene ids or --scope, not both: plexsync reconcile 101 102, or --scope ${scope.value}`
        )
      }
      return ReconcileScope.scenes(yield* Commands.decodeSceneIds(rawIds))
    }
    const parsed = parseReconcileScope(Option.getOrElse(scope, () => "all"))
    if (Either.isLeft(parsed)) return yield* usage(`--scope: ${parsed.left}`)
    return parsed.right
  })

const reconcile = command(
  "reconcile",
  "Finds scenes whose Plex item differs from Stash or was never synced, and queues them.",
  {
    scope: optionalText(
      "scope",
      "all|24h|7d",
      "Every scene (the default), or those added to or changed in Stash within a duration."
    ),
    dryRun: flag("dry-run", "Count the differences; queue nothing."),
    includeMissing: flag("include-missing", "Also queue scenes whose file is not in Plex yet."),
    sceneIds: anyArguments("sceneId", "Only these Stash scenes (instead of --scope).")
  },
  ({ dryRun, includeMissing, sceneIds, scope }, c) =>
    Effect.gen(function*() {
      const chosen = yield* reconcileScope(scope, sceneIds)
      return yield* Work.reconcile(reconcileSettings(c), { scope: chosen, dryRun, includeMissing }, progress).pipe(
        Effect.provide(serversLayer(c))
      )
    })
)

const doctorCommand = command(
  "doctor",
  "Checks the configuration, the database, Stash, Plex (address, token, owner), its libraries (overlaps, " +
    "duplicate file names) and the path map, each server within seconds; exits 1 if a check fails.",
  {},
  (_, c, { json }) => doctor(c, { emit: (check) => json ? Effect.void : printLine(renderCheck(check)) })
)

const configCommand = command(
  "config",
  "Prints every setting's effective value (secrets hidden) and where it came from: env, secret file, config file " +
    "or default.",
  {},
  (_, c) => configReport(c, process.env)
)

const hookDescription =
  "The Stash plugin entry point: reads Stash's plugin input on stdin, answers one JSON object on stdout."
const hook = withHelp(
  Command.make("hook", { config: configOption }, ({ config }) =>
    Effect.promise(async () => {
      const { main } = await import("./hook/HookMain.js")
      await main(Option.getOrUndefined(config))
    })).pipe(Command.withDescription(hookDescription)),
  helpFor("hook", hookDescription, { config: configOption })
)

const subcommands = [
  doctorCommand,
  configCommand,
  enqueue,
  sync,
  run,
  status,
  dlq,
  recover,
  outages,
  reconcile,
  hook
] as const

// `plexsync` alone shows the help, with the list of commands.
const whole: { descriptor?: Parameters<typeof ValidationError.helpRequested>[0] } = {}
const summary = "Keeps Plex Media Server metadata in step with Stash."
const root = Command.make(
  "plexsync",
  {},
  () => Effect.suspend(() => Effect.fail(ValidationError.helpRequested(whole.descriptor!)))
).pipe(Command.withDescription(summary))

/** The help of the whole command line. */
export const help: CommandHelp = {
  name: "plexsync",
  description: summary,
  args: [],
  options: [],
  subcommands: subcommands.map(helpOfCommand)
}

export const plexsync = root.pipe(Command.withSubcommands(subcommands))
whole.descriptor = plexsync.descriptor

export const cli = Command.run(plexsync, { name: "plexsync", version })
