import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { mapPath, sectionForPath } from "@plexsync/domain/PathMap"
import type { PlexSection } from "@plexsync/domain/PlexClient"
import { PlexClient } from "@plexsync/domain/PlexClient"
import { StashClient } from "@plexsync/domain/StashClient"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import type { AppConfigShape } from "@plexsync/runtime/AppConfig"
import { stashLayer, storeLayer } from "@plexsync/runtime/Layers"
import { plural, shownUrl } from "@plexsync/runtime/Present"
import { Effect, Layer, Option } from "effect"
import type { Report } from "./Commands.js"
import { renderError } from "./Errors.js"

/**
 * `plexsync doctor`: one line per check with a verdict — configuration, database, Stash (reachable, key
 * accepted, version), Plex (reachable, token accepted, libraries found), and whether the path map maps a real
 * Stash file into a Plex library's folder. A check that cannot run because an earlier one failed is skipped.
 */

export type Verdict = "ok" | "fail" | "skip"

export interface Check {
  readonly name: string
  readonly verdict: Verdict
  readonly detail: string
}

const firstLine = (text: string) => text.split("\n")[0]!

export const doctor = (config: AppConfigShape) =>
  Effect.gen(function*() {
    const checks: Array<Check> = []
    const add = (name: string, verdict: Verdict, detail: string) => checks.push({ name, verdict, detail })
    const context = { stashUrl: config.stashUrl, plexUrl: config.plexUrl }
    const why = (error: unknown) => renderError(error, context).message.split("\n").join(" ")

    // Configuration: decoded already (a bad one stops every command, this one included).
    add(
      "config",
      "ok",
      `${
        Option.match(config.configFile, { onNone: () => "environment only", onSome: (f) => `${f} and the environment` })
      }; ` +
        `data in ${config.dataDir}; ${
          config.pathMap.length === 0 ? "no path map" : plural(config.pathMap.length, "path-map rule")
        }`
    )

    // Database
    const clientIdentifier = yield* Effect.gen(function*() {
      const queue = yield* SyncQueue
      const dlq = yield* DeadLetterQueue
      const counts = yield* queue.counts
      const dead = yield* dlq.count({ recovered: false })
      add("database", "ok", `${config.databaseFile}: ${counts.queued} waiting, ${dead} in the dead-letter queue`)
      return Option.some(yield* PlexClientLive.clientIdentifier)
    }).pipe(
      Effect.provide(storeLayer(config, { quickCheck: true })),
      Effect.catchAll((error) => {
        add("database", "fail", why(error))
        return Effect.succeed(Option.none<string>())
      })
    )

    // Stash
    const stashOk = yield* Effect.gen(function*() {
      const stash = yield* StashClient
      const health = yield* stash.health
      if (!health.healthy) {
        add(
          "stash",
          "fail",
          `Stash ${health.version} at ${
            shownUrl(config.stashUrl)
          } answers but is not ready (status ${health.status}): ` +
            "finish its setup or migration in Stash's web interface"
        )
        return false
      }
      const key = Option.isSome(config.stashApiKey) ? "API key accepted" : "no API key needed"
      add("stash", "ok", `reachable at ${shownUrl(config.stashUrl)}, ${key}, version ${health.version}`)
      return true
    }).pipe(
      Effect.provide(stashLayer(config)),
      Effect.catchAll((error) => {
        add("stash", "fail", why(error))
        return Effect.succeed(false)
      })
    )

    // Plex
    let sections: Option.Option<ReadonlyArray<PlexSection>> = Option.none()
    if (Option.isNone(config.plexToken)) {
      add("plex", "fail", "PLEXSYNC_PLEX_TOKEN is not set: plexsync cannot read or write Plex without it")
      add("libraries", "skip", "needs Plex")
    } else {
      const plexLayer = PlexClientLive.layer({
        url: config.plexUrl,
        token: config.plexToken.value,
        clientIdentifier: Option.getOrElse(clientIdentifier, () => "plexsync-doctor")
      }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      sections = yield* Effect.gen(function*() {
        const plex = yield* PlexClient
        const health = yield* plex.health
        add("plex", "ok", `reachable at ${shownUrl(config.plexUrl)}, token accepted, version ${health.version}`)
        return Option.some(yield* plex.sections)
      }).pipe(
        Effect.provide(plexLayer),
        Effect.catchAll((error) => {
          add("plex", "fail", why(error))
          return Effect.succeed(Option.none<ReadonlyArray<PlexSection>>())
        })
      )
    }

    let chosen: ReadonlyArray<PlexSection> = []
    if (Option.isSome(sections)) {
      const all = sections.value
      const describe = (s: PlexSection) => `${s.title} (${s.locations.join(", ") || "no folders"})`
      if (config.plexLibraries.length === 0) {
        chosen = all.filter((s) => s.type === "movie")
        if (chosen.length === 0) {
          add(
            "libraries",
            "fail",
            `Plex has no movie library (it has: ${
              all.map((s) => `${s.title} [${s.type}]`).join(", ") || "none"
            }); add one for your Stash files, or name libraries in PLEXSYNC_PLEX_LIBRARIES`
          )
        } else add("libraries", "ok", `every movie library: ${chosen.map(describe).join("; ")}`)
      } else {
        const byTitle = new Map(all.map((s) => [s.title.trim().toLowerCase(), s]))
        const missing = config.plexLibraries.filter((t) => !byTitle.has(t.trim().toLowerCase()))
        chosen = config.plexLibraries.flatMap((t) => Option.toArray(Option.fromNullable(byTitle.get(t.toLowerCase()))))
        if (missing.length > 0) {
          add(
            "libraries",
            "fail",
            `not in Plex: ${missing.join(", ")} (PLEXSYNC_PLEX_LIBRARIES); Plex has: ${
              all.map((s) => s.title).join(", ") || "no libraries"
            }`
          )
        } else add("libraries", "ok", chosen.map(describe).join("; "))
      }
    } else if (Option.isSome(config.plexToken)) {
      add("libraries", "skip", "needs Plex")
    }

    // Path map: one real Stash file, mapped, must land inside a chosen library's folder.
    if (!stashOk || chosen.length === 0) {
      add("path map", "skip", stashOk ? "needs a Plex library" : "needs Stash")
    } else {
      yield* Effect.gen(function*() {
        const stash = yield* StashClient
        const page = yield* stash.listScenes({ page: 1, perPage: 25 })
        const sample = page.items.flatMap((s) => s.files).at(0)
        if (sample === undefined) {
          add("path map", "skip", "Stash has no scene with a file to try the map on")
          return
        }
        const mapped = mapPath(config.pathMap, sample.path)
        const rule = Option.match(mapped.mapping, {
          onNone: () => config.pathMap.length === 0 ? " (no path map)" : " (no rule matched)",
          onSome: (m) => ` (rule ${m.stashPrefix}=>${m.plexPrefix})`
        })
        const inside = sectionForPath(chosen, mapped.path)
        if (Option.isSome(inside)) {
          add(
            "path map",
            "ok",
            `${sample} → ${mapped.path}${rule}, inside library ${inside.value.section.title} (${inside.value.location})`
          )
        } else {
          add(
            "path map",
            "fail",
            `${sample} → ${mapped.path}${rule} is in no library folder (${
              chosen.flatMap((s) => s.locations).join(", ")
            }); set PLEXSYNC_PATH_MAP to stashPrefix=>plexPrefix so Stash's paths become the ones Plex sees`
          )
        }
      }).pipe(
        Effect.provide(stashLayer(config)),
        Effect.catchAll((error) => Effect.sync(() => add("path map", "fail", why(error))))
      )
    }

    const failed = checks.filter((c) => c.verdict === "fail")
    const nameWidth = Math.max(...checks.map((c) => c.name.length))
    const lines = checks.map((c) =>
      `${(c.verdict === "fail" ? "FAIL" : c.verdict).padEnd(4)}  ${c.name.padEnd(nameWidth)}  ${firstLine(c.detail)}`
    )
    lines.push(failed.length === 0 ? "All checks passed." : `${plural(failed.length, "check")} failed.`)
    return {
      human: lines.join("\n"),
      json: { ok: failed.length === 0, checks },
      ...(failed.length === 0 ? {} : { failed: `${plural(failed.length, "check")} failed` })
    } satisfies Report
  })
