import { assert, describe, it } from "@effect/vitest"
import { ErrorTag } from "@plexsync/domain/Errors"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { jobsProcessed } from "@plexsync/domain/Worker"
import { Effect, Layer, Metric, MetricBoundaries, Redacted, RuntimeFlags, TestClock } from "effect"
import * as path from "node:path"
import * as Exposition from "../src/Exposition.js"
import * as Notifier from "../src/Notifier.js"
import { sinksOf } from "../src/NotifySinks.js"
import * as Prometheus from "../src/Prometheus.js"
import * as RunnerState from "../src/RunnerState.js"
import { storeAt, tempDir } from "./support.js"

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/

interface Parsed {
  readonly families: Map<string, { type: string; help: number; typeLines: number }>
  /** Sample lines by family: labels as written, and the value. */
  readonly samples: Map<string, Array<{ readonly name: string; readonly labels: string; readonly value: number }>>
}

/** Parses the text format line by line, failing on any line a Prometheus server would refuse. */
const parseExposition = (text: string): Parsed => {
  const families: Parsed["families"] = new Map()
  const samples: Parsed["samples"] = new Map()
  assert.isTrue(text.endsWith("\n"), "the exposition ends with a line break")
  let current: string | null = null
  for (const line of text.slice(0, -1).split("\n")) {
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (comment !== null) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string]
      assert.match(name, metricName, line)
      const family = families.get(name) ?? { type: "untyped", help: 0, typeLines: 0 }
      if (kind === "HELP") family.help++
      else {
        assert.oneOf(rest, ["counter", "gauge", "histogram", "summary", "untyped"], line)
        family.type = rest
        family.typeLines++
      }
      if (current !== name) assert.isFalse(samples.has(name), `${name}: its samples are together, after its header`)
      families.set(name, family)
      current = name
      continue
    }
    const sample = /^([^{\s]+)(\{[^}]*\})? (\S+)$/.exec(line)
    assert.isNotNull(sample, `not a sample line: ${line}`)
    const [, name, labels = "", value] = sample as unknown as [string, string, string | undefined, string]
    assert.match(name, metricName, line)
    for (const pair of labels.replace(/^\{|\}$/g, "").split(",").filter((p) => p !== "")) {
      assert.match(pair, /^[^=]+="(?:[^"\\]|\\.)*"$/, line)
      assert.match(pair.split("=")[0]!, labelName, line)
    }
    assert.isFalse(Number.isNaN(Number(value.replace(/^\+Inf$/, "Infinity"))), line)
    assert.isNotNull(current, `${line}: a sample before any header`)
    const family = current!
    assert.isTrue(
      name === family || [`${family}_bucket`, `${family}_sum`, `${family}_count`].includes(name),
      `${name} under the header of ${family}`
    )
    const list = samples.get(family) ?? []
    list.push({ name, labels, value: Number(value) })
    samples.set(family, list)
  }
  return { families, samples }
}

describe("Prometheus", () => {
  it.effect("renders Effect counters, gauges and cumulative histograms in the text format", () =>
    Effect.gen(function*() {
      const processed = Metric.counter("test_jobs_processed_total", { description: "jobs processed" })
      const latency = Metric.histogram(
        "test_sync_latency_seconds",
        MetricBoundaries.fromIterable([0.1, 1, 10]),
        "sync latency"
      )
      yield* Metric.increment(Metric.tagged(processed, "outcome", "synced"))
      yield* Metric.increment(Metric.tagged(processed, "outcome", "synced"))
      yield* Metric.increment(Metric.tagged(processed, "outcome", "dead_lettered"))
      yield* Metric.update(latency, 0.05)
      yield* Metric.update(latency, 0.5)
      yield* Metric.update(latency, 50)
      const text = Prometheus.render(Prometheus.fromSnapshot(yield* Metric.snapshot))
      const lines = text.split("\n")
      assert.include(lines, "# TYPE test_jobs_processed_total counter")
      assert.include(lines, "test_jobs_processed_total{outcome=\"synced\"} 2")
      assert.include(lines, "test_jobs_processed_total{outcome=\"dead_lettered\"} 1")
      assert.include(lines, "# TYPE test_sync_latency_seconds histogram")
      assert.include(lines, "test_sync_latency_seconds_bucket{le=\"0.1\"} 1")
      assert.include(lines, "test_sync_latency_seconds_bucket{le=\"1\"} 2")
      assert.include(lines, "test_sync_latency_seconds_bucket{le=\"10\"} 2")
      assert.include(lines, "test_sync_latency_seconds_bucket{le=\"+Inf\"} 3")
      assert.include(lines, "test_sync_latency_seconds_count 3")
      // One HELP/TYPE header per family, however many label sets it has.
      assert.strictEqual(lines.filter((l) => l === "# TYPE test_jobs_processed_total counter").length, 1)
    }))

  it("escapes label values and groups samples of one name", () => {
    const text = Prometheus.render([
      { name: "plexsync_dlq_entries", help: "DLQ", type: "gauge", samples: [{ labels: { tag: "a\"b\\c" }, value: 1 }] },
      { name: "plexsync_dlq_entries", help: "DLQ", type: "gauge", samples: [{ labels: { tag: "x" }, value: 2 }] }
    ])
    assert.strictEqual(
      text,
      "# HELP plexsync_dlq_entries DLQ\n# TYPE plexsync_dlq_entries gauge\n" +
        "plexsync_dlq_entries{tag=\"a\\\"b\\\\c\"} 1\nplexsync_dlq_entries{tag=\"x\"} 2\n"
    )
  })

  it.scoped("GET /metrics follows the exposition format and Prometheus's naming, every label set there from the start", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const sinks = sinksOf([Redacted.make("https://ntfy.sh/plexsync-test")])
      const env = Layer.mergeAll(RunnerState.layer("test-holder"), Notifier.sinksLayer(sinks)).pipe(
        Layer.provideMerge(storeAt(path.join(dir, "plexsync.db")))
      )
      const text = yield* Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-03-01T12:00:00Z"))
        yield* Exposition.initialise
        yield* Notifier.initialiseMetrics(sinks)
        const outages = yield* OutageHistory
        yield* outages.open("plex", { startedAt: Date.parse("2026-03-01T11:00:00Z"), cause: null })
        yield* outages.close("plex", Date.parse("2026-03-01T11:05:00Z"))
        yield* outages.open("plex", { startedAt: Date.parse("2026-03-01T11:50:00Z"), cause: null })
        yield* Metric.increment(Metric.tagged(jobsProcessed, "outcome", "synced"))
        // Effect counts fibers in its registry when runtime metrics are on; those are not plexsync's to show.
        yield* Effect.scoped(Layer.build(RuntimeFlags.enableRuntimeMetrics)).pipe(
          Effect.zipRight(Effect.forEach([1, 2], (n) => Effect.fork(Effect.succeed(n))))
        )
        assert.isTrue((yield* Metric.snapshot).some((pair) => pair.metricKey.name.startsWith("effect_fiber")))
        return yield* Exposition.render
      }).pipe(Effect.provide(env))
      const { families, samples } = parseExposition(text)

      for (const [name, family] of families) {
        assert.strictEqual(family.help, 1, `${name}: one HELP`)
        assert.strictEqual(family.typeLines, 1, `${name}: one TYPE`)
        assert.strictEqual(name.endsWith("_total"), family.type === "counter", `${name} is a ${family.type}`)
        assert.isTrue(samples.has(name), `${name} has samples`)
      }
      assert.notInclude(text, "effect_fiber", "Effect's internal metrics are left out")
      const value = (family: string, labels = "") => samples.get(family)?.find((s) => s.labels === labels)?.value
      const labelSets = (family: string) => (samples.get(family) ?? []).map((s) => s.labels)

      assert.strictEqual(families.get("plexsync_outages_total")?.type, "counter")
      assert.strictEqual(value("plexsync_outages_total", "{target=\"plex\"}"), 2)
      assert.strictEqual(value("plexsync_outages_total", "{target=\"stash\"}"), 0)
      assert.strictEqual(value("plexsync_outage_open", "{target=\"plex\"}"), 1)
      assert.strictEqual(families.get("plexsync_dlq_entries")?.type, "gauge")
      assert.isFalse(families.has("plexsync_dlq_entries_total"), "the old gauge named like a counter is gone")
      assert.includeMembers(labelSets("plexsync_dlq_entries"), ErrorTag.literals.map((t) => `{error_tag="${t}"}`))
      for (const outcome of ["synced", "unchanged", "retried", "held", "dead_lettered", "stopped"]) {
        assert.include(labelSets("plexsync_jobs_processed_total"), `{outcome="${outcome}"}`)
      }
      assert.isAtLeast(value("plexsync_jobs_processed_total", "{outcome=\"synced\"}")!, 1)
      assert.include(labelSets("plexsync_target_requests_total"), "{target=\"stash\"}")
      assert.include(labelSets("plexsync_target_errors_total"), "{target=\"plex\",error_tag=\"PlexServerDown\"}")
      assert.include(labelSets("plexsync_target_errors_total"), "{target=\"stash\",error_tag=\"StashUnavailable\"}")
      assert.include(labelSets("plexsync_notify_failures_total"), "{sink=\"1\",kind=\"ntfy\"}")
      assert.strictEqual(value("plexsync_notify_pending"), 0)
      assert.strictEqual(value("plexsync_last_sync_timestamp_seconds"), 0, "never synced")
      assert.isAtLeast(value("plexsync_change_feed_lag_seconds")!, 0)
      assert.strictEqual(families.get("plexsync_sync_latency_seconds")?.type, "histogram")
      assert.isAbove(value("process_resident_memory_bytes")!, 0)
      assert.isAbove(value("process_start_time_seconds")!, 1_600_000_000)
      assert.strictEqual(families.get("process_cpu_seconds_total")?.type, "counter")
      assert.isAbove(value("nodejs_heap_size_used_bytes")!, 0)
      assert.notInclude(text, "plexsync-test", "the notify URL shows nowhere")
    }))
})
