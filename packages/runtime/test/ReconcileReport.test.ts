import { assert, describe, it } from "@effect/vitest"
import { SceneId } from "@plexsync/domain/Ids"
import type { ReconcileResult } from "@plexsync/domain/Reconcile"
import { renderReconcileSummary, summaryLine } from "../src/ReconcileReport.js"

const noGaps = { neverSynced: 0, stashChanged: 0, plexDiffers: 0, missingInPlex: 0, orphanedInPlex: 0 }
const noSamples = { neverSynced: [], stashChanged: [], plexDiffers: [], missingInPlex: [], orphanedInPlex: [] }

const result = (overrides: Partial<ReconcileResult> = {}): ReconcileResult => ({
  scope: "all",
  dryRun: false,
  scenesChecked: 20,
  gaps: noGaps,
  queued: 0,
  queuedSceneIds: [],
  skipped: {},
  orphansChecked: true,
  strayWrites: { total: 0, ratingKeys: [] },
  plexItems: 20,
  samples: noSamples,
  requests: { plex: 2, stash: 1 },
  startedAt: 1_000,
  finishedAt: 2_500,
  ...overrides
})

describe("what a person reads of a reconciliation", () => {
  it("names the items plexsync wrote that no scene maps to any more", () => {
    const text = renderReconcileSummary(result({
      gaps: { ...noGaps, orphanedInPlex: 3 },
      strayWrites: { total: 2, ratingKeys: ["501", "502"] }
    }))
    assert.include(text, "2 Plex items carry what plexsync wrote (and locked) but no scene's file maps to them")
    assert.include(text, "rating keys 501, 502)")
    assert.notInclude(renderReconcileSummary(result({ strayWrites: null, orphansChecked: false })), "carry what")
  })

  it("says Plex matches when nothing differs", () => {
    const text = renderReconcileSummary(result())
    assert.include(
      text,
      "Checked 20 scenes (all scenes) against 20 Plex items in 1.5 s (2 Plex requests, 1 Stash request)."
    )
    assert.include(text, "No differences: Plex matches Stash.")
    assert.include(text, "Nothing queued.")
  })

  it("names every kind of difference, the queued scenes and their samples", () => {
    const text = renderReconcileSummary(result({
      gaps: { ...noGaps, neverSynced: 3, missingInPlex: 2 },
      queued: 3,
      queuedSceneIds: ["1", "2", "3"].map((id) => SceneId.make(id)),
      skipped: { notInPlex: 2 },
      samples: { ...noSamples, neverSynced: ["1", "2", "3"], missingInPlex: ["4", "5"] }
    }))
    assert.include(text, "Differences: 3 never synced; 2 with no Plex item for the file.")
    assert.include(text, "Queued 3 scenes to sync")
    assert.include(text, "2 scenes not in Plex yet (rerun with --include-missing to queue them anyway)")
    assert.include(text, "  neverSynced: scenes 1, 2, 3")
    assert.include(text, "  missingInPlex: scenes 4, 5")
  })

  it("says why scenes were not queued, and that orphans need --scope all", () => {
    const text = renderReconcileSummary(result({
      scope: "7d",
      orphansChecked: false,
      gaps: { ...noGaps, neverSynced: 2 },
      skipped: { inDeadLetterQueue: 1, ambiguousInPlex: 1 }
    }))
    assert.include(text, "(scenes added or changed in the last 7d)")
    assert.include(text, "only with --scope all")
    assert.include(text, "1 scene whose last sync failed for good")
    assert.include(text, "1 scene whose file several Plex items hold")
  })

  it("a dry run says what would be queued and that nothing changed", () => {
    assert.include(
      renderReconcileSummary(result({ dryRun: true, gaps: { ...noGaps, stashChanged: 4 }, queued: 4 })),
      "Dry run: 4 scenes would be queued; nothing was changed."
    )
    assert.include(renderReconcileSummary(result({ dryRun: true })), "Dry run: nothing would be queued")
  })

  it("logs one line with every gap class", () => {
    assert.strictEqual(
      summaryLine(result({ gaps: { ...noGaps, plexDiffers: 1 }, queued: 1 })),
      "Reconciliation (all): 20 scenes checked against 20 Plex items, 1 gaps (neverSynced 0, stashChanged 0, " +
        "plexDiffers 1, missingInPlex 0, orphanedInPlex 0), 1 queued"
    )
  })
})
