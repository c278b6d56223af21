import { clipEcho, quoteEcho } from "@plexsync/domain/Echo"
import { ReconcileScope } from "@plexsync/domain/Reconcile"
import type { AppConfigShape } from "@plexsync/runtime/AppConfig"
import * as Commands from "@plexsync/runtime/Commands"
import type { Report } from "@plexsync/runtime/Commands"
import type { PluginReply, PluginRequest } from "@plexsync/runtime/HookInput"
import { taskModes } from "@plexsync/runtime/HookInput"
import { serversLayer, storeLayer } from "@plexsync/runtime/Layers"
import type { Progress } from "@plexsync/runtime/Present"
import { plural } from "@plexsync/runtime/Present"
import { didYouMean } from "@plexsync/runtime/Suggest"
import { engineSettings, reconcileSettings } from "@plexsync/runtime/Tuning"
import { Clock, Duration, Effect, Option, Ref } from "effect"
import { renderError } from "../Errors.js"
import * as Work from "../Work.js"
import { pluginProgressLine } from "./PluginLog.js"

/**
 * The Stash plugin's tasks (manifest `defaultArgs.mode`), loaded only when a task runs. Tasks run in Stash's job
 * queue, not inside a save, so they may take long: progress is reported in Stash's format (`\x01p\x02<0..1>`),
 * and the result goes to Stash's log and into the reply's `output`. Tasks that queue scenes also process the
 * queue, so "Sync all scenes" syncs them; if a scheduler holds the worker lease, it processes them instead.
 */

/** Progress as Stash shows it for a task: a fraction, at most once a second. */
const pluginProgress: Work.ProgressFactory = (label, total) =>
  Effect.gen(function*() {
    const state = yield* Ref.make({ done: 0, total: total ?? 0, lastAt: 0, shown: -1 })
    const draw = (force: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const s = yield* Ref.get(state)
        if (s.total <= 0 || (!force && now - s.lastAt < 1000)) return
        const fraction = Math.min(1, s.done / s.total)
        if (fraction === s.shown && !force) return
        yield* Ref.set(state, { ...s, lastAt: now, shown: fraction })
        yield* Effect.sync(() => process.stderr.write(pluginProgressLine(fraction)))
      })
    return {
      advance: (n) => Ref.update(state, (s) => ({ ...s, done: s.done + n })).pipe(Effect.zipRight(draw(false))),
      setTotal: (t) => Ref.update(state, (s) => ({ ...s, total: t })).pipe(Effect.zipRight(draw(false))),
      // Stash shows a fraction only; the note is for people at a terminal.
      setNote: () => Effect.void,
      finish: Effect.gen(function*() {
        yield* draw(true)
        const s = yield* Ref.get(state)
        yield* Effect.logInfo(`${label}: ${s.done}${s.total > 0 ? `/${s.total}` : ""} done`)
      })
    } satisfies Progress
  })

const joinReports = (reports: ReadonlyArray<Report>): Report => {
  const failed = reports.flatMap((r) => (r.failed === undefined ? [] : [r.failed]))
  return {
    human: reports.map((r) => r.human).join("\n"),
    json: reports.map((r) => r.json),
    ...(failed.length > 0 ? { failed: failed.join("; ") } : {})
  }
}

/**
 * Runs the queue; when a scheduler holds the worker lease, queueing was the task's whole job: the scheduler syncs
 * the scenes, and the task says so (an answer, not an error).
 */
const processQueue = (config: AppConfigShape) =>
  Work.run(engineSettings(config), { wait: false, maxJobs: Option.none() }, pluginProgress).pipe(
    Effect.map((report): Report =>
      report.busy === undefined ? report : {
        human: `${report.busy.holder} holds the worker lease: it will sync the queued scenes (${
          plural(report.busy.waiting, "job")
        } waiting).`,
        json: report.json
      }
    )
  )

const task = (
  mode: string,
  args: Readonly<Record<string, unknown>>,
  config: AppConfigShape
): Effect.Effect<Report, unknown> => {
  switch (mode) {
    case "sync_recent":
      return Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const queued = yield* Work.sync(
          { _tag: "Watermark", fallbackMs: Option.some(now - 86_400_000) },
          pluginProgress
        )
        return joinReports([queued, yield* processQueue(config)])
      }).pipe(Effect.provide(serversLayer(config)))
    case "sync_all":
      return Effect.gen(function*() {
        const queued = yield* Work.sync({ _tag: "All" }, pluginProgress)
        return joinReports([queued, yield* processQueue(config)])
      }).pipe(Effect.provide(serversLayer(config)))
    case "process_queue":
      return processQueue(config).pipe(Effect.provide(serversLayer(config)))
    case "status":
      return Commands.status({ reconcile: config.reconcileSchedule }).pipe(
        Effect.provide(storeLayer(config))
      )
    case "recover_outage_jobs":
      return Work.recover({ window: { _tag: "LastOutage" }, includeOptional: false, dryRun: false }, pluginProgress)
        .pipe(
          Effect.provide(serversLayer(config))
        )
    case "reconcile":
      return Effect.gen(function*() {
        const found = yield* Work.reconcile(
          reconcileSettings(config),
          { scope: ReconcileScope.all, dryRun: false, includeMissing: false },
          pluginProgress
        )
        return joinReports([found, yield* processQueue(config)])
      }).pipe(Effect.provide(serversLayer(config)))
    case "purge_dlq": {
      const days = typeof args.days === "number" && args.days > 0 ? args.days : undefined
      const ms = days === undefined ? Duration.toMillis(config.dlqRetention) : days * 86_400_000
      return Commands.dlqPurge({ _tag: "OlderThan", ms }).pipe(Effect.provide(storeLayer(config)))
    }
    default:
      return Effect.succeed<Report>({
        human: "",
        json: null,
        failed: `unknown task mode ${quoteEcho(mode)}${didYouMean(mode, taskModes)}; the tasks are: ${
          taskModes.join(", ")
        }`
      })
  }
}

export const runTask = (
  request: Extract<PluginRequest, { readonly _tag: "Task" }>,
  config: AppConfigShape
): Effect.Effect<PluginReply> =>
  Effect.gen(function*() {
    yield* Effect.logInfo(`plexsync task ${clipEcho(request.mode)} started`)
    const report = yield* task(request.mode, request.args, config)
    for (const line of report.human.split("\n")) if (line.trim() !== "") yield* Effect.logInfo(line)
    if (report.failed !== undefined) {
      return { error: report.human === "" ? report.failed : `${report.failed}\n${report.human}` } satisfies PluginReply
    }
    return { output: report.human } satisfies PluginReply
  }).pipe(
    Effect.catchAll((error) => {
      const message = renderError(error, { stashUrl: config.stashUrl, plexUrl: config.plexUrl }).message
      return Effect.as(Effect.logError(message), { error: message } satisfies PluginReply)
    })
  )
