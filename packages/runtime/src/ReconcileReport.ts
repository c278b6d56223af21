import type {
  ReconcileProgress,
  ReconcileResult,
  ReconcileScope,
  ReconcileSettings,
  SkipReason
} from "@plexsync/domain/Reconcile"
import { gapClasses, reconcile as runReconcile, reconcileDocument } from "@plexsync/domain/Reconcile"
import { Effect, Ref } from "effect"
import type { Report } from "./Commands.js"
import type { Progress, ProgressFactory } from "./Present.js"
import { formatDuration } from "./Present.js"

/**
 * What a person reads of a reconciliation: the log line and the summary `plexsync reconcile` prints; the command
 * itself, shared by the CLI and the scheduler's `POST /api/v1/reconcile`.
 */

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

const seconds = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`)

const totalGaps = (result: ReconcileResult) => gapClasses.reduce((n, c) => n + result.gaps[c], 0)

/** One line for the log. */
export const summaryLine = (result: ReconcileResult): string =>
  `Reconciliation (${result.scope}${result.dryRun ? ", dry run" : ""}): ${result.scenesChecked} scenes checked ` +
  `against ${result.plexItems} Plex items, ${totalGaps(result)} gaps ` +
  `(${gapClasses.map((c) => `${c} ${result.gaps[c]}`).join(", ")}), ` +
  `${result.queued} ${result.dryRun ? "would be queued" : "queued"}`

const skipText: Record<SkipReason, (n: number) => string> = {
  alreadyQueued: (n) => `${plural(n, "scene")} already queued`,
  notInPlex: (n) => `${plural(n, "scene")} not in Plex yet (rerun with --include-missing to queue them anyway)`,
  ambiguousInPlex: (n) =>
    `${
      plural(n, "scene")
    } whose file several Plex items hold (remove the duplicates in Plex, or turn strict matching off)`,
  noFile: (n) => `${plural(n, "scene")} without a file`,
  sceneNotFound: (n) => `${plural(n, "scene id")} Stash does not have`,
  inDeadLetterQueue: (n) =>
    `${plural(n, "scene")} whose last sync failed for good and that did not change since (see \`plexsync dlq list\`; ` +
    `fix the cause, then \`plexsync dlq retry\`)`
}

/** Every reason a scene is not queued, in the order the summary names them. */
export const skipReasons = Object.keys(skipText) as ReadonlyArray<SkipReason>

/** `skipped` with every reason, 0 for those that did not happen: a document whose keys do not come and go. */
export const everySkipReason = (skipped: Partial<Record<SkipReason, number>>): Record<SkipReason, number> =>
  Object.fromEntries(skipReasons.map((r) => [r, skipped[r] ?? 0])) as Record<SkipReason, number>

/** The readable summary `plexsync reconcile` prints. */
export const renderReconcileSummary = (result: ReconcileResult): string => {
  const lines: Array<string> = []
  const scope = result.scope === "all"
    ? "all scenes"
    : result.scope === "scenes"
    ? "the scenes asked for"
    : `scenes added or changed in the last ${result.scope}`
  lines.push(
    `Checked ${plural(result.scenesChecked, "scene")} (${scope}) against ${plural(result.plexItems, "Plex item")} in ${
      seconds(result.finishedAt - result.startedAt)
    } (${plural(result.requests.plex, "Plex request")}, ${plural(result.requests.stash, "Stash request")}).`
  )
  const g = result.gaps
  if (totalGaps(result) === 0) lines.push("No differences: Plex matches Stash.")
  else {
    const parts: Array<string> = []
    if (g.neverSynced > 0) parts.push(`${g.neverSynced} never synced`)
    if (g.stashChanged > 0) parts.push(`${g.stashChanged} changed in Stash since the last sync`)
    if (g.plexDiffers > 0) parts.push(`${g.plexDiffers} changed in Plex`)
    if (g.missingInPlex > 0) parts.push(`${g.missingInPlex} with no Plex item for the file`)
    if (g.orphanedInPlex > 0) parts.push(`${plural(g.orphanedInPlex, "Plex item")} whose file is no Stash scene's`)
    lines.push(`Differences: ${parts.join("; ")}.`)
  }
  if (!result.orphansChecked) lines.push("Plex items without a Stash scene are looked for only with --scope all.")
  if (result.strayWrites !== null && result.strayWrites.total > 0) {
    const keys = result.strayWrites.ratingKeys
    lines.push(
      `${plural(result.strayWrites.total, "Plex item")} carry what plexsync wrote (and locked) but no scene's file ` +
        `maps to them any more (rating keys ${keys.join(", ")}${
          result.strayWrites.total > keys.length ? ", …" : ""
        }): ` +
        "a file moved on, or an item written by mistake. Check them in Plex."
    )
  }
  if (result.dryRun) {
    lines.push(
      result.queued === 0
        ? "Dry run: nothing would be queued; nothing was changed."
        : `Dry run: ${plural(result.queued, "scene")} would be queued; nothing was changed.`
    )
  } else if (result.queued > 0) {
    lines.push(`Queued ${plural(result.queued, "scene")} to sync; \`plexsync run\` (or the scheduler) syncs them.`)
  } else lines.push("Nothing queued.")
  const skips = skipReasons.filter((r) => (result.skipped[r] ?? 0) > 0)
  if (skips.length > 0) lines.push(`Not queued: ${skips.map((r) => skipText[r](result.skipped[r]!)).join("; ")}.`)
  for (const cls of gapClasses) {
    const ids = result.samples[cls]
    if (ids.length === 0 || result.gaps[cls] === 0) continue
    const what = cls === "orphanedInPlex" ? "rating keys" : "scenes"
    const more = result.gaps[cls] > ids.length ? ", …" : ""
    lines.push(`  ${cls}: ${what} ${ids.join(", ")}${more}`)
  }
  return lines.join("\n")
}

export interface ReconcileCommandOptions {
  readonly scope: ReconcileScope
  readonly dryRun: boolean
  readonly includeMissing: boolean
}

/** `reconcile --json`: the domain's document, with every skip reason counted (0 when it did not happen). */
const reconcileJson = (result: ReconcileResult) => {
  const doc = reconcileDocument(result)
  return { ...doc, skipped: everySkipReason(doc.skipped) }
}

export const reconcile = (
  settings: ReconcileSettings,
  options: ReconcileCommandOptions,
  progress: ProgressFactory
) =>
  Effect.gen(function*() {
    const bars = yield* Ref.make<{ phase: string; bar: Progress; done: number } | null>(null)
    const onProgress = (p: ReconcileProgress) =>
      Effect.gen(function*() {
        const current = yield* Ref.get(bars)
        const label = p.phase === "plex" ? `reconcile: Plex ${p.section}` : "reconcile: Stash"
        const done = p.phase === "plex" ? p.read : p.checked
        if (current === null || current.phase !== label) {
          if (current !== null) yield* current.bar.finish
          const bar = yield* progress(label, p.total)
          yield* bar.advance(done)
          yield* Ref.set(bars, { phase: label, bar, done })
          return
        }
        yield* current.bar.setTotal(p.total)
        yield* current.bar.advance(done - current.done)
        yield* Ref.set(bars, { ...current, done })
      })
    const result = yield* runReconcile(settings, {
      scope: options.scope,
      dryRun: options.dryRun,
      includeMissing: options.includeMissing,
      onProgress
    })
    const last = yield* Ref.get(bars)
    if (last !== null) yield* last.bar.finish
    return {
      human: renderReconcileSummary(result) + `\nTook ${formatDuration(result.finishedAt - result.startedAt)}.`,
      json: reconcileJson(result)
    } satisfies Report
  })
