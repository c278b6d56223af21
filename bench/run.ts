/**
 * Runs every benchmark in bench/ (each in its own process), gathers bench/results/*.json into one table, writes
 * bench/results/all.json and rewrites bench/RESULTS.md with the table and the machine it ran on.
 *
 *   pnpm bench                      all benchmarks
 *   pnpm bench --only queue,recovery  runs these; the table still shows every benchmark's latest results
 *   pnpm bench --gather             no runs: rebuild the table from the results already in bench/results
 *   pnpm bench --quick              small sizes and one round (a smoke run; its figures are not comparable)
 *
 * A benchmark is a top-level bench/*.ts file that writes bench/results/<its name>.json. The common row format is
 * `ResultRow` in lib/harness.ts; results with a `checks` object instead are shown check by check.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Machine, ResultRow } from "./lib/harness.js"
import { benchDir, fmtInt, fmtRatio, machine, resultsDir } from "./lib/harness.js"

/** The known benchmarks, in the order they run; any other top-level bench file runs after them. */
const KNOWN = [
  "queue",
  "recovery",
  "sync-throughput",
  "hook-startup",
  "reconcile",
  "related",
  "scan-latency",
  "adaptive-concurrency",
  "idle",
  "edit-latency"
]
/** Helpers, children and work in progress: not benchmarks. */
const NOT_BENCHMARKS = /^(run|.*-child|scratch.*|zz-.*|tmp.*|_.*)\.ts$/
const TIMEOUT_MS = 90 * 60_000

const args = process.argv.slice(2)
const flag = (name: string) => args.includes(`--${name}`)
const option = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}

interface BenchRun {
  readonly name: string
  readonly file: string
  readonly ran: boolean
  readonly exitCode: number | null
  readonly seconds: number
  readonly resultsAt: string | null
  readonly rows: ReadonlyArray<ResultRow>
  readonly problem?: string
}

const discover = (): Array<string> => {
  const present = fs.readdirSync(benchDir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !NOT_BENCHMARKS.test(f))
    .map((f) => f.slice(0, -3))
  const known = KNOWN.filter((n) => present.includes(n))
  const others = present.filter((n) => !KNOWN.includes(n)).sort()
  return [...known, ...others]
}

const quickEnv: Record<string, string> = {
  BENCH_QUICK: "1",
  BENCH_N: "10000",
  BENCH_ROUNDS: "1",
  BENCH_DLQ_ROWS: "100000",
  BENCH_DLQ_ROUNDS: "1"
}

const runOne = (file: string): Promise<{ exitCode: number | null; seconds: number }> =>
  new Promise((resolve) => {
    const started = performance.now()
    const proc = spawn(process.execPath, ["--import", "tsx", "--conditions=@plexsync/source", file], {
      cwd: path.resolve(benchDir, ".."),
      env: { ...process.env, ...(flag("quick") ? quickEnv : {}) },
      stdio: ["ignore", "inherit", "inherit"]
    })
    const timer = setTimeout(() => proc.kill("SIGKILL"), TIMEOUT_MS)
    proc.on("close", (code) => {
      clearTimeout(timer)
      resolve({ exitCode: code, seconds: (performance.now() - started) / 1000 })
    })
  })

// -------------------------------------------------------------------------------------------------------------
// Reading results

const num = (x: unknown) => typeof x === "number" ? x : Number.NaN
const obj = (x: unknown): Record<string, unknown> =>
  typeof x === "object" && x !== null ? x as Record<string, unknown> : {}

const isRow = (x: unknown): x is ResultRow => {
  const r = obj(x)
  return typeof r["figure"] === "string" && typeof r["pass"] === "boolean"
}

/** A `checks` object ({ name: { value, floor | ceiling | expected, pass } }) shown check by check. */
const rowsFromChecks = (name: string, json: Record<string, unknown>): Array<ResultRow> => {
  const medians = obj(json["medians"])
  const checks = obj(json["checks"])
  return Object.entries(checks).map(([check, raw]) => {
    const c = obj(raw)
    const value = c["value"]
    const target = c["floor"] !== undefined
      ? `≥ ${c["floor"]}${check.toLowerCase().includes("ratio") ? "×" : ""}`
      : c["ceiling"] !== undefined
      ? `≤ ${c["ceiling"]}`
      : c["expected"] !== undefined
      ? `= ${show(c["expected"])}`
      : "holds"
    const isRatio = check.toLowerCase().includes("ratio") && typeof value === "number"
    // The recovery benchmark's figures, when they are there.
    const ours = num(medians["plexsyncEntriesPerSec"])
    const base = num(medians["rawEntriesPerSec"])
    const known = isRatio && Number.isFinite(ours) && Number.isFinite(base)
    return {
      figure: `${name}: ${check}`,
      value: known ? `${fmtInt(ours)} /s` : show(value),
      baseline: known ? `raw ${fmtInt(base)} /s` : "–",
      ratio: isRatio ? value : null,
      target,
      pass: c["pass"] === true
    }
  })
}

const show = (x: unknown): string => {
  if (typeof x === "number") return String(Number(x.toFixed(4)))
  if (typeof x === "string") return x
  const text = JSON.stringify(x)
  return text.length > 80 ? text.slice(0, 77) + "..." : text
}

/** A `summary` array of { ratio, target, pass, … } items (sync throughput: jobs/s against a computed bound). */
const rowsFromSummary = (name: string, json: Record<string, unknown>): Array<ResultRow> =>
  (json["summary"] as Array<unknown>).map((raw) => {
    const s = obj(raw)
    const params = ["concurrency", "scenes", "latencyMs"]
      .flatMap((k) => s[k] ?? json[k] ? [`${k} ${show(s[k] ?? json[k])}`] : [])
      .join(", ")
    return {
      figure: `${name}${params ? ` (${params})` : ""}`,
      value: Number.isFinite(num(s["jobsPerSec"])) ? `${num(s["jobsPerSec"]).toFixed(1)} jobs/s` : show(s["value"]),
      baseline: Number.isFinite(num(s["bound"])) ? `bound ${num(s["bound"]).toFixed(1)} jobs/s` : "–",
      ratio: Number.isFinite(num(s["ratio"])) ? num(s["ratio"]) : null,
      target: Number.isFinite(num(s["target"])) ? `≥ ${num(s["target"])}×` : "–",
      pass: s["pass"] === true
    }
  })

/**
 * Top-level `ratio` and `target` where the ratio is a time multiple (lower is better), as the hook start-up
 * benchmark writes it: shown the other way round so every ratio in the table reads "higher is better".
 */
const rowFromTimeRatio = (name: string, json: Record<string, unknown>): Array<ResultRow> => {
  const ratio = num(json["ratio"])
  const target = num(json["target"])
  const ours = Object.entries(json).find(([k, v]) => /MedianMs$/.test(k) && !/^node/.test(k) && typeof v === "number")
  const base = num(json["nodeMedianMs"])
  const pass = typeof json["pass"] === "boolean" ? json["pass"] : ratio <= target
  return [{
    figure: `${name}${typeof json["description"] === "string" ? `: ${json["description"]}` : ""}`,
    value: ours === undefined ? show(ratio) : `${show(ours[1])} ms`,
    baseline: Number.isFinite(base) ? `bare node ${show(base)} ms` : "–",
    ratio: ratio > 0 ? 1 / ratio : null,
    target: `≤ ${target}× the baseline's time (≥ ${(1 / target).toFixed(2)}×)`,
    pass
  }]
}

const readResults = (name: string): { at: string | null; rows: Array<ResultRow>; problem?: string } => {
  const file = path.join(resultsDir, `${name}.json`)
  if (!fs.existsSync(file)) return { at: null, rows: [], problem: `no ${path.relative(benchDir, file)}` }
  let json: Record<string, unknown>
  try {
    json = obj(JSON.parse(fs.readFileSync(file, "utf8")))
  } catch (error) {
    return { at: null, rows: [], problem: `${name}.json is not JSON: ${String(error)}` }
  }
  const at = typeof json["at"] === "string"
    ? json["at"]
    : typeof json["date"] === "string"
    ? json["date"]
    : fs.statSync(file).mtime.toISOString()
  if (Array.isArray(json["rows"])) {
    const rows = json["rows"].filter(isRow)
    return { at, rows: rows.map((r) => ({ ...r, figure: name === "queue" ? r.figure : `${name}: ${r.figure}` })) }
  }
  if (json["checks"] !== undefined) return { at, rows: rowsFromChecks(name, json) }
  if (Array.isArray(json["summary"])) return { at, rows: rowsFromSummary(name, json) }
  if (typeof json["ratio"] === "number" && typeof json["target"] === "number") {
    return { at, rows: rowFromTimeRatio(name, json) }
  }
  return { at, rows: [], problem: `${name}.json has neither "rows" nor "checks"` }
}

// -------------------------------------------------------------------------------------------------------------
// Output

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ")

const markdownTable = (rows: ReadonlyArray<ResultRow>) =>
  [
    "| figure | plexsync | baseline (same run) | ratio | target | |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) =>
      `| ${cell(r.figure)} | ${cell(r.value)} | ${cell(r.baseline)} | ${fmtRatio(r.ratio)} | ${cell(r.target)} | ${
        r.pass ? "pass" : "**miss**"
      } |`
    )
  ].join("\n")

const textTable = (rows: ReadonlyArray<ResultRow>) => {
  const cols = rows.map((r) => [r.pass ? "pass" : "MISS", r.figure, r.value, r.baseline, fmtRatio(r.ratio), r.target])
  const head = ["", "figure", "plexsync", "baseline", "ratio", "target"]
  const clip = (s: string) => s.length > 60 ? s.slice(0, 57) + "..." : s
  const widths = head.map((h, i) => Math.max(h.length, ...cols.map((c) => clip(c[i]!).length)))
  const line = (c: ReadonlyArray<string>) => c.map((s, i) => clip(s).padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(head), ...cols.map(line)].join("\n")
}

const machineLine = (m: Machine) =>
  `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; ` +
  `load average at the end ${m.loadAverage.join(" / ")}`

const writeMarkdown = (runs: ReadonlyArray<BenchRun>, rows: ReadonlyArray<ResultRow>, m: Machine, at: string) => {
  const missed = rows.filter((r) => !r.pass)
  const lines = [
    "# Benchmark results",
    "",
    flag("gather")
      ? `Gathered ${at} by \`pnpm bench --gather\` from the results already in bench/results (each benchmark's ` +
        "own time is in the last table)."
      : `Run ${at} by \`pnpm bench\`${flag("quick") ? " --quick (small sizes, one round: not comparable)" : ""}` +
        `${
          option("only") === undefined ? "" : ` --only ${option("only")} (the others' results are from earlier runs)`
        }.`,
    "",
    `Machine: ${machineLine(m)}.`,
    "",
    "Every figure is printed next to a baseline measured in the same run; the ratio is plexsync relative to that",
    "baseline (higher is better: a rate ratio, or baseline time / plexsync time). Each measurement ran in its own",
    "process with a fresh database; ratios are medians of the ratios taken within each round. Method and peer",
    "figures: queue-anchors.md §3–§4. All three queue implementations use journal_mode=WAL, synchronous=NORMAL,",
    "busy_timeout=5000.",
    "",
    markdownTable(rows),
    "",
    ...(missed.length === 0 ? ["Every target was met."] : [
      "## Targets missed, and what limits them",
      "",
      ...missed.map((r) =>
        `- **${r.figure}** (${fmtRatio(r.ratio)}, target ${r.target}): ${r.limit ?? "see the benchmark's output."}`
      )
    ]),
    "",
    "## Benchmarks",
    "",
    "| benchmark | ran | exit | seconds | results from | note |",
    "|---|---|---|---|---|---|",
    ...runs.map((r) =>
      `| ${r.name} | ${r.ran ? "yes" : "no"} | ${r.exitCode ?? "–"} | ${r.ran ? r.seconds.toFixed(0) : "–"} | ${
        r.resultsAt ?? "–"
      } | ${cell(r.problem ?? "")} |`
    ),
    ""
  ]
  fs.writeFileSync(path.join(benchDir, "RESULTS.md"), lines.join("\n"))
}

const main = async () => {
  const names = discover()
  const only = option("only")?.split(",").map((s) => s.trim())
  const unknown = (only ?? []).filter((name) => !names.includes(name))
  if (unknown.length > 0) {
    console.error(`no such benchmark: ${unknown.join(", ")} (there are ${names.join(", ")})`)
    process.exit(2)
  }
  const gatherOnly = flag("gather")
  const runs: Array<BenchRun> = []
  // Every benchmark's latest results go in the table; --only chooses which run now.
  for (const name of names) {
    const file = path.join(benchDir, `${name}.ts`)
    const before = Date.now()
    let exitCode: number | null = null
    let seconds = 0
    const runNow = !gatherOnly && (only === undefined || only.includes(name))
    if (runNow) {
      console.error(`\n=== ${name}`)
      ;({ exitCode, seconds } = await runOne(file))
    }
    const results = readResults(name)
    const stale = runNow && results.at !== null && Date.parse(results.at) < before - 1000
    const problem = [
      results.problem,
      stale ? "results predate this run (the benchmark did not write them)" : undefined,
      // A benchmark may exit non-zero because a target was missed; that shows in its rows.
      runNow && exitCode !== 0 && (stale || results.problem !== undefined) ? `exit code ${exitCode}` : undefined
    ].filter((p) => p !== undefined).join("; ")
    runs.push({
      name,
      file: path.relative(benchDir, file),
      ran: runNow,
      exitCode,
      seconds,
      resultsAt: results.at,
      rows: results.rows,
      ...(problem === "" ? {} : { problem })
    })
  }
  const rows = runs.flatMap((r) => r.rows)
  const m = machine()
  const at = new Date().toISOString()
  fs.mkdirSync(resultsDir, { recursive: true })
  fs.writeFileSync(
    path.join(resultsDir, "all.json"),
    JSON.stringify({ at, machine: m, quick: flag("quick"), benchmarks: runs, rows }, null, 2) + "\n"
  )
  writeMarkdown(runs, rows, m, at)
  console.log(`\n${textTable(rows)}\n\nMachine: ${machineLine(m)}`)
  for (const r of runs) if (r.problem !== undefined) console.log(`${r.name}: ${r.problem}`)
  const missed = rows.filter((r) => !r.pass)
  console.log(`${rows.length - missed.length} targets met, ${missed.length} missed; table in bench/RESULTS.md`)
  if (runs.some((r) => r.problem !== undefined)) process.exitCode = 1
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
