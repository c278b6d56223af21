import { version } from "@plexsync/runtime/Version"
import type { MetricPair } from "effect"
import { MetricKeyType, MetricState, Option } from "effect"
import * as Fs from "node:fs"
import * as V8 from "node:v8"

/** Prometheus text exposition format 0.0.4: what `GET /metrics` answers. */

export const contentType = "text/plain; version=0.0.4; charset=utf-8"

export type Labels = Readonly<Record<string, string>>

export interface Sample {
  /** Appended to the family name (`_bucket`, `_sum`, `_count`). */
  readonly suffix?: string
  readonly labels: Labels
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly help: string
  readonly type: "counter" | "gauge" | "histogram" | "summary" | "untyped"
  readonly samples: ReadonlyArray<Sample>
}

const sanitizeName = (name: string) => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const formatValue = (value: number) =>
  Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value)

const formatLabels = (labels: Labels) => {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ""
  return `{${entries.map(([k, v]) => `${sanitizeName(k)}="${escapeLabel(v)}"`).join(",")}}`
}

/** Renders families; samples of one family name are kept together, as the format requires. */
export const render = (families: ReadonlyArray<Family>): string => {
  const merged = new Map<string, { help: string; type: Family["type"]; samples: Array<Sample> }>()
  for (const family of families) {
    const name = sanitizeName(family.name)
    const existing = merged.get(name)
    if (existing) existing.samples.push(...family.samples)
    else merged.set(name, { help: family.help, type: family.type, samples: [...family.samples] })
  }
  const lines: Array<string> = []
  for (const [name, family] of merged) {
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`)
    lines.push(`# TYPE ${name} ${family.type}`)
    for (const sample of family.samples) {
      lines.push(`${name}${sample.suffix ?? ""}${formatLabels(sample.labels)} ${formatValue(sample.value)}`)
    }
  }
  return lines.join("\n") + "\n"
}

const toNumber = (value: number | bigint) => typeof value === "bigint" ? Number(value) : value

/** Effect's metric registry (`Metric.snapshot`) as Prometheus families. */
export const fromSnapshot = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): Array<Family> =>
  pairs.flatMap((pair): Array<Family> => {
    const key = pair.metricKey
    const name = key.name
    const help = Option.getOrElse(key.description, () => name)
    const labels: Labels = Object.fromEntries(key.tags.map((tag) => [tag.key, tag.value]))
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      return [{ name, help, type: "counter", samples: [{ labels, value: toNumber(state.count) }] }]
    }
    if (MetricState.isGaugeState(state)) {
      return [{ name, help, type: "gauge", samples: [{ labels, value: toNumber(state.value) }] }]
    }
    if (MetricState.isHistogramState(state)) {
      const buckets: Array<Sample> = state.buckets
        .filter(([bound]) => Number.isFinite(bound))
        .map(([bound, count]) => ({ suffix: "_bucket", labels: { ...labels, le: formatValue(bound) }, value: count }))
      buckets.push({ suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: state.count })
      return [{
        name,
        help,
        type: "histogram",
        samples: [
          ...buckets,
          { suffix: "_sum", labels, value: state.sum },
          { suffix: "_count", labels, value: state.count }
        ]
      }]
    }
    if (MetricState.isSummaryState(state)) {
      return [{
        name,
        help,
        type: "summary",
        samples: [
          ...state.quantiles.flatMap(([q, v]) =>
            Option.isSome(v) ? [{ labels: { ...labels, quantile: String(q) }, value: v.value }] : []
          ),
          { suffix: "_sum", labels, value: state.sum },
          { suffix: "_count", labels, value: state.count }
        ]
      }]
    }
    if (MetricState.isFrequencyState(state) && MetricKeyType.isFrequencyKey(key.keyType)) {
      return [{
        name,
        help,
        type: "counter",
        samples: Array.from(state.occurrences, ([value, count]) => ({ labels: { ...labels, value }, value: count }))
      }]
    }
    return []
  })

/** `plexsync_build_info`: always 1, labelled with the version and the Node.js running it (the usual build-info idiom). */
export const buildInfo = (): Family => ({
  name: "plexsync_build_info",
  help: "plexsync's version and the Node.js version running it; always 1",
  type: "gauge",
  samples: [{ labels: { version, node: process.versions.node }, value: 1 }]
})

/** The standard process metrics (as the Prometheus client libraries name them) and Node's heap. */
export const processFamilies = (): Array<Family> => {
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  const heap = V8.getHeapStatistics()
  const gauge = (name: string, help: string, value: number): Family => ({
    name,
    help,
    type: "gauge",
    samples: [{ labels: {}, value }]
  })
  const families: Array<Family> = [
    {
      name: "process_cpu_seconds_total",
      help: "Total user and system CPU time spent in seconds.",
      type: "counter",
      samples: [{ labels: {}, value: (cpu.user + cpu.system) / 1e6 }]
    },
    {
      name: "process_cpu_user_seconds_total",
      help: "Total user CPU time spent in seconds.",
      type: "counter",
      samples: [{ labels: {}, value: cpu.user / 1e6 }]
    },
    {
      name: "process_cpu_system_seconds_total",
      help: "Total system CPU time spent in seconds.",
      type: "counter",
      samples: [{ labels: {}, value: cpu.system / 1e6 }]
    },
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", memory.rss),
    gauge(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      Math.round(Date.now() / 1000 - process.uptime())
    ),
    gauge("nodejs_heap_size_total_bytes", "Process heap size from Node.js in bytes.", memory.heapTotal),
    gauge("nodejs_heap_size_used_bytes", "Process heap size used from Node.js in bytes.", memory.heapUsed),
    gauge("nodejs_heap_size_limit_bytes", "The heap size Node.js may grow to, in bytes.", heap.heap_size_limit),
    gauge("nodejs_external_memory_bytes", "Node.js external memory size in bytes.", memory.external)
  ]
  const fds = openFds()
  if (fds !== null) families.push(gauge("process_open_fds", "Number of open file descriptors.", fds))
  return families
}

/** Open file descriptors, where the system tells (Linux's /proc); null elsewhere. */
const openFds = (): number | null => {
  try {
    return Fs.readdirSync("/proc/self/fd").length
  } catch {
    return null
  }
}
