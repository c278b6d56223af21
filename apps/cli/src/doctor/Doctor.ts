import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { basename, mapPath, pathKey, sectionForPath } from "@plexsync/domain/PathMap"
import type { PlexSection } from "@plexsync/domain/PlexClient"
import { PlexClient } from "@plexsync/domain/PlexClient"
import { StashClient } from "@plexsync/domain/StashClient"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import type { AppConfigShape } from "@plexsync/runtime/AppConfig"
import type { Report } from "@plexsync/runtime/Commands"
import { storeLayer } from "@plexsync/runtime/Layers"
import { plural, shownUrl } from "@plexsync/runtime/Present"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { Clock, Data, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import { renderError } from "../Errors.js"
import { describeDuplicates, describeOverlap, duplicateNames, overlaps } from "./Libraries.js"
import * as Probe from "./Probe.js"

/**
 * `plexsync doctor`: one line per check with a verdict — configuration, database, Stash (reachable, key
 * accepted, version), Plex (Plex at that address, token accepted and the server owner's, libraries found),
 * libraries whose folders overlap, whether the path map maps real Stash files onto Plex's files, and whether
 * duplicate file names in Plex could leave plexsync matching by name. Stash and Plex are asked at the same
 * time, each question under a short limit, and each line is printed as soon as its check is done: the whole
 * command answers within seconds even when a server does not. A check that cannot run because an earlier one
 * failed is skipped. A warning does not fail the command.
 */

export type Verdict = "ok" | "warn" | "fail" | "skip"

export const checkNames = [
  "config",
  "database",
  "stash",
  "plex",
  "libraries",
  "overlaps",
  "path map",
  "file names"
] as const
export type CheckName = (typeof checkNames)[number]

export interface Check {
  readonly name: CheckName
  readonly verdict: Verdict
  readonly detail: string
}

export interface DoctorOptions {
  /** Called as each check completes (the human output prints it at once). */
  readonly emit: (check: Check) => Effect.Effect<void>
  /** The limit for one question to a server. */
  readonly askMs?: number
  /** The limit for the whole run's questions (listing big libraries stops there). */
  readonly budgetMs?: number
}

/** The whole run's time is up. */
class OutOfTime extends Data.TaggedError("OutOfTime")<{ readonly ms: number }> {}

const firstLine = (text: string) => text.split("\n")[0]!

const nameWidth = Math.max(...checkNames.map((n) => n.length))

/** One line of the human output. */
export const renderCheck = (c: Check): string =>
  `${(c.verdict === "fail" || c.verdict === "warn" ? c.verdict.toUpperCase() : c.verdict).padEnd(4)}  ${
    c.name.padEnd(nameWidth)
  }  ${firstLine(c.detail)}`

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`

export const doctor = (config: AppConfigShape, options: DoctorOptions) =>
  Effect.gen(function*() {
    const askMs = options.askMs ?? 4_000
    const budgetMs = options.budgetMs ?? 9_000
    const deadline = (yield* Clock.currentTimeMillis) + budgetMs
    const checks = new Map<CheckName, Check>()
    const add = (name: CheckName, verdict: Verdict, detail: string) =>
      Effect.suspend(() => {
        const check = { name, verdict, detail }
        checks.set(name, check)
        return options.emit(check)
      })
    const context = { stashUrl: config.stashUrl, plexUrl: config.plexUrl }
    /** The command line's message for an error, on one line. */
    const why = (error: unknown) =>
      renderError(error, context).message.split("\n").map((l, i, all) =>
        i < all.length - 1 && !/[.:;!?]$/.test(l) ? `${l}.` : l
      ).join(" ")
    /** Fails with `OutOfTime` when the run's budget is spent first. */
    const inTime = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.timeoutFail(effect, {
          duration: Duration.millis(Math.max(0, deadline - now)),
          onTimeout: () => new OutOfTime({ ms: budgetMs })
        }))
    const http = NodeHttpClient.layerUndici
    const stashShown = shownUrl(config.stashUrl)
    const plexShown = shownUrl(config.plexUrl)

    // Configuration: decoded already (a bad one stops every command, this one included).
    yield* add(
      "config",
      "ok",
      `${
        Option.match(config.configFile, { onNone: () => "environment only", onSome: (f) => `${f} and the environment` })
      }; ` +
        `data in ${config.dataDir}; ${
          config.pathMap.length === 0 ? "no path map" : plural(config.pathMap.length, "path-map rule")
        }`
    )

    // Database (local: it also holds the Plex client identifier, so Plex sees the usual device)
    const clientIdentifier = yield* Effect.gen(function*() {
      const queue = yield* SyncQueue
      const dlq = yield* DeadLetterQueue
      const counts = yield* queue.counts
      const dead = yield* dlq.count({ recovered: false, resolved: false })
      yield* add("database", "ok", `${config.databaseFile}: ${counts.queued} waiting, ${dead} in the dead-letter queue`)
      return Option.some(yield* PlexClientLive.clientIdentifier)
    }).pipe(
      Effect.provide(storeLayer(config, { quickCheck: true })),
      Effect.catchAll((error) => Effect.as(add("database", "fail", why(error)), Option.none<string>()))
    )

    const stashLayer = StashClientLive.layer({ url: config.stashUrl, apiKey: config.stashApiKey, timeoutMs: askMs })
      .pipe(Layer.provide(http))

    // Stash and Plex at the same time.
    const stashCheck = Effect.gen(function*() {
      const stash = yield* StashClient
      const health = yield* stash.health
      if (!health.healthy) {
        yield* add(
          "stash",
          "fail",
          `Stash ${health.version} at ${stashShown} answers but is not ready (status ${health.status}): ` +
            "finish its setup or migration in Stash's web interface"
        )
        return false
      }
      const key = Option.isSome(config.stashApiKey) ? "API key accepted" : "no API key needed"
      yield* add("stash", "ok", `reachable at ${stashShown}${learnedNote(config)}, ${key}, version ${health.version}`)
      return true
    }).pipe(
      Effect.provide(stashLayer),
      inTime,
      Effect.catchAll((error) =>
        Effect.gen(function*() {
          if (yield* Probe.plainHttpAnswers(config.stashUrl, askMs).pipe(Effect.provide(http))) {
            yield* add("stash", "fail", plainHttpMessage(config.stashUrl, "PLEXSYNC_STASH_URL"))
            return false
          }
          const detail = error._tag === "OutOfTime"
            ? `no answer from ${stashShown} within ${seconds(error.ms)}: is Stash running there?`
            : why(error)
          yield* add("stash", "fail", `${detail}${stashAddressHint(config, error)}`)
          return false
        })
      )
    )

    const plexCheck: Effect.Effect<Option.Option<ReadonlyArray<PlexSection>>> = Option.match(config.plexToken, {
      onNone: () =>
        Effect.as(
          add("plex", "fail", "PLEXSYNC_PLEX_TOKEN is not set: plexsync cannot read or write Plex without it"),
          Option.none()
        ),
      onSome: (token) =>
        Effect.gen(function*() {
          // Is it Plex at all? `/identity` needs no token.
          const identity = yield* Probe.get(`${config.plexUrl}/identity`, {
            headers: { Accept: "application/json" },
            ms: askMs
          }).pipe(Effect.either)
          if (Either.isLeft(identity)) {
            if (yield* Probe.plainHttpAnswers(config.plexUrl, askMs)) {
              yield* add("plex", "fail", plainHttpMessage(config.plexUrl, "PLEXSYNC_PLEX_URL"))
            } else {
              yield* add(
                "plex",
                "fail",
                `${Probe.describeFailure(identity.left)} from ${plexShown}: is Plex running there? ` +
                  "Start it, or set PLEXSYNC_PLEX_URL to its address."
              )
            }
            return Option.none()
          }
          const isPlex = Probe.plexIdentity(identity.right)
          if (Either.isLeft(isPlex)) {
            yield* add(
              "plex",
              "fail",
              `${plexShown} answers, but it is not Plex Media Server (${isPlex.left}): ` +
                "set PLEXSYNC_PLEX_URL to Plex's address (port 32400 unless changed)"
            )
            return Option.none()
          }

          const plexLayer = PlexClientLive.layer({
            url: config.plexUrl,
            token,
            clientIdentifier: Option.getOrElse(clientIdentifier, () => "plexsync-doctor"),
            timeoutMs: askMs
          })
          const accepted = yield* Effect.gen(function*() {
            const plex = yield* PlexClient
            return { health: yield* plex.health, sections: yield* plex.sections }
          }).pipe(
            Effect.provide(plexLayer),
            Effect.either
          )
          if (Either.isLeft(accepted)) {
            yield* add("plex", "fail", why(accepted.left))
            return Option.none()
          }

          // Only the server's owner may read the server's preferences; a shared user's token reads the
          // libraries but every edit is refused.
          const prefs = yield* Probe.get(`${config.plexUrl}/:/prefs`, {
            headers: { Accept: "application/json", "X-Plex-Token": Redacted.value(token) },
            ms: askMs
          }).pipe(Effect.either)
          const where = `reachable at ${plexShown}, version ${accepted.right.health.version}`
          if (Either.isRight(prefs) && (prefs.right.status === 401 || prefs.right.status === 403)) {
            yield* add(
              "plex",
              "fail",
              `${where}, but the token is a shared user's, not the server owner's: Plex lets it read the libraries ` +
                "and refuses every edit (403). Set PLEXSYNC_PLEX_TOKEN to the owner's X-Plex-Token."
            )
            return Option.none()
          }
          const owner = Either.isRight(prefs) && prefs.right.status === 200
            ? "the server owner's token accepted"
            : `token accepted (whether it is the owner's could not be told: GET /:/prefs ${
              Either.match(prefs, {
                onLeft: Probe.describeFailure,
                onRight: (a) => `answered HTTP ${a.status}`
              })
            })`
          yield* add("plex", "ok", `${where}, ${owner}`)
          return Option.some(accepted.right.sections)
        }).pipe(
          Effect.provide(http),
          inTime,
          Effect.catchAll((error) =>
            Effect.as(
              add("plex", "fail", `no complete answer from ${plexShown} within ${seconds(error.ms)}: is Plex busy?`),
              Option.none()
            )
          )
        )
    })

    const [stashOk, sections] = yield* Effect.all([stashCheck, plexCheck], { concurrency: "unbounded" })

    // Libraries
    let chosen: ReadonlyArray<PlexSection> = []
    if (Option.isNone(sections)) {
      yield* add("libraries", "skip", "needs Plex")
    } else {
      const all = sections.value
      const describe = (s: PlexSection) => `${s.title} (${s.locations.join(", ") || "no folders"})`
      if (config.plexLibraries.length === 0) {
        chosen = all.filter((s) => s.type === "movie")
        if (chosen.length === 0) {
          yield* add(
            "libraries",
            "fail",
            `Plex has no movie library (it has: ${
              all.map((s) => `${s.title} [${s.type}]`).join(", ") || "none"
            }); add one for your Stash files, or name libraries in PLEXSYNC_PLEX_LIBRARIES`
          )
        } else yield* add("libraries", "ok", `every movie library: ${chosen.map(describe).join("; ")}`)
      } else {
        const byTitle = new Map(all.map((s) => [s.title.trim().toLowerCase(), s]))
        const missing = config.plexLibraries.filter((t) => !byTitle.has(t.trim().toLowerCase()))
        chosen = config.plexLibraries.flatMap((t) => Option.toArray(Option.fromNullable(byTitle.get(t.toLowerCase()))))
        if (missing.length > 0) {
          chosen = []
          yield* add(
            "libraries",
            "fail",
            `not in Plex: ${missing.join(", ")} (PLEXSYNC_PLEX_LIBRARIES); Plex has: ${
              all.map((s) => s.title).join(", ") || "no libraries"
            }`
          )
        } else yield* add("libraries", "ok", chosen.map(describe).join("; "))
      }
    }

    // Overlapping library folders: one file, an item in each library.
    if (chosen.length === 0) {
      yield* add("overlaps", "skip", "needs a Plex library")
    } else {
      const found = overlaps(chosen)
      yield* found.length === 0
        ? add("overlaps", "ok", "no library folder holds another library's folder")
        : add(
          "overlaps",
          "warn",
          `${found.map(describeOverlap).join("; ")}: a file there is an item in each library, and plexsync ` +
            "writes every copy"
        )
    }

    // The path map, on real Stash files, against Plex's real files.
    const token = Option.getOrUndefined(config.plexToken)
    if (!stashOk || chosen.length === 0 || token === undefined) {
      const skipped = stashOk ? "needs a Plex library" : "needs Stash"
      yield* add("path map", "skip", skipped)
      yield* add("file names", "skip", skipped)
      return summary(checks)
    }
    const plexLayer = PlexClientLive.layer({
      url: config.plexUrl,
      token,
      clientIdentifier: Option.getOrElse(clientIdentifier, () => "plexsync-doctor"),
      timeoutMs: askMs
    }).pipe(Layer.provide(http))
    const [sample, plexFiles] = yield* Effect.all([
      Effect.flatMap(StashClient, (stash) => stash.listScenes({ page: 1, perPage: 25 })).pipe(
        Effect.map((page) => page.items.flatMap((s) => s.files.map((file) => file.path))),
        Effect.provide(stashLayer),
        inTime,
        Effect.either
      ),
      listFiles(chosen).pipe(Effect.provide(plexLayer), inTime, Effect.either)
    ], { concurrency: "unbounded" })

    if (Either.isLeft(sample)) {
      const failed = sample.left._tag === "OutOfTime"
        ? `Stash did not list its scenes within ${seconds(sample.left.ms)}`
        : why(sample.left)
      yield* add("path map", "fail", failed)
      yield* add("file names", "skip", "needs Stash's files")
      return summary(checks)
    }
    const files = sample.right
    const first = files.at(0)
    const known = Either.map(plexFiles, (list) => new Set(list.map(pathKey)))
    const mapped = files.map((file) => ({ file, mapped: mapPath(config.pathMap, file) }))
    const notExact = Either.match(known, {
      onLeft: () => [],
      onRight: (set) => mapped.filter((m) => !set.has(pathKey(m.mapped.path)))
    })
    if (first === undefined) {
      yield* add("path map", "skip", "Stash has no scene with a file to try the map on")
    } else {
      const firstMapped = mapped[0]!.mapped
      const rule = Option.match(firstMapped.mapping, {
        onNone: () => config.pathMap.length === 0 ? " (no path map)" : " (no rule matched)",
        onSome: (m) => ` (rule ${m.stashPrefix}=>${m.plexPrefix})`
      })
      const inside = sectionForPath(chosen, firstMapped.path)
      const exact = Either.isRight(known)
        ? `; ${files.length - notExact.length} of ${plural(files.length, "sampled Stash file")} are Plex files exactly`
        : ""
      yield* Option.isSome(inside)
        ? add(
          "path map",
          "ok",
          `${first} → ${firstMapped.path}${rule}, inside library ${inside.value.section.title} (${inside.value.location})` +
            exact
        )
        : add(
          "path map",
          "fail",
          `${first} → ${firstMapped.path}${rule} is in no library folder (${
            chosen.flatMap((s) => s.locations).join(", ")
          }); set PLEXSYNC_PATH_MAP to stashPrefix=>plexPrefix so Stash's paths become the ones Plex sees`
        )
    }

    // Duplicate file names: harmless while the path map finds each file exactly, a risk when it does not.
    if (Either.isLeft(plexFiles)) {
      yield* add(
        "file names",
        "skip",
        plexFiles.left._tag === "OutOfTime"
          ? `the libraries could not be listed within ${seconds(plexFiles.left.ms)}`
          : why(plexFiles.left)
      )
      return summary(checks)
    }
    const duplicates = duplicateNames(plexFiles.right)
    if (duplicates.names.size === 0) {
      yield* add("file names", "ok", `no two of the ${plural(plexFiles.right.length, "Plex file")} share a file name`)
    } else if (notExact.length === 0) {
      yield* add(
        "file names",
        "ok",
        `${duplicates.files} Plex files share ${plural(duplicates.names.size, "name")} (${
          describeDuplicates(duplicates)
        }), but the path map finds every sampled Stash file exactly`
      )
    } else {
      const example = notExact.find((m) => duplicates.names.has(basename(m.mapped.path))) ?? notExact[0]!
      yield* add(
        "file names",
        "warn",
        `${duplicates.files} Plex files share ${plural(duplicates.names.size, "name")} (${
          describeDuplicates(duplicates)
        }) and ${notExact.length} of ${
          plural(files.length, "sampled Stash file")
        } map to no Plex file exactly (e.g. ${example.file} → ${example.mapped.path}): plexsync then falls back to ` +
          "the file name, and accepts a namesake only when its size and duration agree. Set PLEXSYNC_PATH_MAP so " +
          "Stash's paths become exactly Plex's."
      )
    }
    return summary(checks)
  })

/** Every file of the libraries' items, page by page. */
const listFiles = (sections: ReadonlyArray<PlexSection>) =>
  Effect.gen(function*() {
    const plex = yield* PlexClient
    const files: Array<string> = []
    for (const section of sections) {
      let start = 0
      while (true) {
        const page = yield* plex.listSection(section.key, { start, size: 500 })
        for (const item of page.items) files.push(...item.files)
        start += page.items.length
        if (page.items.length === 0 || start >= page.totalSize) break
      }
    }
    return files
  })

const plainHttpMessage = (url: string, variable: string) =>
  `${shownUrl(url)} speaks plain HTTP, not HTTPS: set ${variable}=${shownUrl(Probe.asPlainHttp(url))}`

/** Where the Stash address came from, when it was not set. */
const learnedNote = (config: AppConfigShape): string => {
  switch (config.stashUrlSource._tag) {
    case "Plugin":
      return ` (learned from the Stash plugin on ${config.stashUrlSource.learnedAt}; PLEXSYNC_STASH_URL is not set)`
    case "Default":
      return " (the default; PLEXSYNC_STASH_URL is not set)"
    case "Setting":
      return ""
  }
}

/** What to do about the address, when Stash could not be reached. */
const stashAddressHint = (config: AppConfigShape, error: { readonly _tag: string }): string => {
  if (error._tag === "StashAuthError") return ""
  switch (config.stashUrlSource._tag) {
    case "Plugin":
      return ` (the address Stash gave the plugin on ${config.stashUrlSource.learnedAt}; set PLEXSYNC_STASH_URL ` +
        "to use another)"
    case "Default":
      return " (the default address: PLEXSYNC_STASH_URL is not set, and Stash has not run the plugin yet to give " +
        "its own)"
    case "Setting":
      return error._tag === "OutOfTime" ? " Check PLEXSYNC_STASH_URL." : ""
  }
}

const summary = (checks: ReadonlyMap<CheckName, Check>) => {
  const ordered = checkNames.flatMap((name) => Option.toArray(Option.fromNullable(checks.get(name))))
  const failed = ordered.filter((c) => c.verdict === "fail").length
  const warned = ordered.filter((c) => c.verdict === "warn").length
  const warnings = warned === 0 ? "" : `, ${plural(warned, "warning")}`
  const last = failed === 0
    ? `All checks passed${warned === 0 ? "" : ` with ${plural(warned, "warning")}`}.`
    : `${plural(failed, "check")} failed${warnings}.`
  return {
    human: last,
    json: { ok: failed === 0, checks: ordered },
    ...(failed === 0 ? {} : { failed: `${plural(failed, "check")} failed` })
  } satisfies Report
}
