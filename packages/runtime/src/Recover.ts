import { OutageId } from "@plexsync/domain/Ids"
import type { RecoverySelection } from "@plexsync/domain/Recovery"
import { recoverOutageJobs } from "@plexsync/domain/Recovery"
import type { RecoveryResult } from "@plexsync/domain/RecoveryLog"
import { Effect, Ref } from "effect"
import type { Report } from "./Commands.js"
import { recoveryResultDocument } from "./Documents.js"
import type { Progress, ProgressFactory } from "./Present.js"
import { formatTime } from "./Present.js"
import { UsageError } from "./UsageError.js"

/**
 * `plexsync recover` and the scheduler's `POST /api/v1/recover`: outage recovery on demand, its summary and its
 * document.
 */

export type RecoverWindow =
  | { readonly _tag: "LastOutage" }
  | { readonly _tag: "Outage"; readonly outageId: number }
  | { readonly _tag: "Range"; readonly from: number; readonly to: number }

export interface RecoverOptions {
  readonly window: RecoverWindow
  readonly includeOptional: boolean
  readonly dryRun: boolean
}

const describeRecovery = (r: RecoveryResult, plexDown: boolean): string => {
  const window = `${formatTime(r.window.from)} to ${formatTime(r.window.to)}${
    r.window.outageId === null ? "" : ` (outage ${r.window.outageId})`
  }`
  const lines = [`Recovery${r.dryRun ? " (dry run)" : ""} of ${r.errorTags.join(", ")} entries from ${window}:`]
  if (plexDown) {
    lines.push(
      `Plex is not healthy: nothing was re-queued (${r.skippedPlexDown} entries wait). Run again once Plex answers.`
    )
    return lines.join("\n")
  }
  const rows: Array<readonly [string, number]> = [
    [r.dryRun ? "would recover" : "recovered", r.recovered],
    ["already queued", r.skippedAlreadyQueued],
    ["scene deleted", r.skippedSceneMissing],
    ...(r.skippedPlexDown > 0 ? [["Plex down mid-run", r.skippedPlexDown] as const] : []),
    ["failed", r.failed]
  ]
  const labelWidth = Math.max(...rows.map(([label]) => label.length))
  const numberWidth = Math.max(...rows.map(([, n]) => String(n).length))
  for (const [label, n] of rows) lines.push(`  ${label.padEnd(labelWidth)}  ${String(n).padStart(numberWidth)}`)
  if (!r.dryRun && r.recovered > 0) lines.push("`plexsync run` (or the scheduler) syncs the re-queued scenes.")
  return lines.join("\n")
}

/** `recover --json`: the recovery's result, and `message` (why it stopped early, else `null`). */
const recoverDocument = (result: RecoveryResult, message: string | null) => ({
  ...recoveryResultDocument(result),
  message
})

/** Outage recovery on demand: the domain's three-gate pipeline; why it stopped early, if it did, sets the exit code. */
export const recover = (options: RecoverOptions, progress: ProgressFactory) =>
  Effect.gen(function*() {
    let selection: RecoverySelection
    switch (options.window._tag) {
      case "Outage":
        selection = { outageId: OutageId.make(options.window.outageId) }
        break
      case "Range":
        if (options.window.from > options.window.to) {
          return yield* new UsageError({ message: "--from is after --to: the window would be empty" })
        }
        selection = { from: options.window.from, to: options.window.to }
        break
      case "LastOutage":
        selection = { lastOutage: "any" }
        break
    }
    const bar = yield* Ref.make<{ readonly bar: Progress; done: number } | null>(null)
    const onProgress = (p: { readonly done: number; readonly total: number }) =>
      Effect.gen(function*() {
        const current = yield* Ref.get(bar)
        if (current === null) {
          const made = yield* progress("recover", p.total)
          yield* made.advance(p.done)
          yield* Ref.set(bar, { bar: made, done: p.done })
          return
        }
        yield* current.bar.setTotal(p.total)
        yield* current.bar.advance(p.done - current.done)
        current.done = p.done
      })
    const outcome = yield* recoverOutageJobs({
      window: selection,
      includeOptional: options.includeOptional,
      dryRun: options.dryRun,
      trigger: "manual",
      onProgress
    }).pipe(
      Effect.ensuring(Effect.flatMap(Ref.get(bar), (b) => (b === null ? Effect.void : b.bar.finish))),
      Effect.map((result) => ({ _tag: "Ran" as const, result, stopped: undefined as string | undefined })),
      // Stash failed mid-run: what was recovered stays recovered; the counts so far are the result.
      Effect.catchTag("RecoveryStopped", (e) =>
        Effect.succeed({ _tag: "Ran" as const, result: e.result, stopped: e.message })),
      Effect.catchTag("NoCompletedOutage", () =>
        Effect.succeed({ _tag: "NoOutage" as const }))
    )
    if (outcome._tag === "NoOutage") {
      return {
        human: "No completed outage is recorded: nothing to recover. Give --from/--to to pick a window yourself.",
        json: {
          window: null,
          errorTags: [],
          dryRun: options.dryRun,
          recovered: 0,
          skippedAlreadyQueued: 0,
          skippedPlexDown: 0,
          skippedSceneMissing: 0,
          failed: 0,
          recoveredSceneIds: [],
          message: "no completed outage"
        } satisfies Record<keyof ReturnType<typeof recoverDocument>, unknown>
      } satisfies Report
    }
    const { result, stopped } = outcome
    const gateAborted = result.stoppedBy === "PlexDown"
    const human = describeRecovery(result, gateAborted) + (stopped === undefined ? "" : `\n${stopped}`)
    const failed = result.stoppedBy === null || result.stoppedBy === "StashFailed"
      ? stopped
      : "the Plex health gate stopped the recovery"
    return {
      human,
      json: recoverDocument(result, failed ?? null),
      ...(failed === undefined ? {} : { failed })
    } satisfies Report
  })
