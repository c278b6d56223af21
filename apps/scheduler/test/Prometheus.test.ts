import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric, MetricBoundaries } from "effect"
import * as Prometheus from "../src/Prometheus.js"

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
})
