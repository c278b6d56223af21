import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { runPlexsync, tempDir } from "./cli.js"

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() => runPlexsync(args, { env: { PLEXSYNC_DATA_DIR: tempDir(), ...env } }))

const commands = [
  [],
  ["doctor"],
  ["enqueue"],
  ["sync"],
  ["run"],
  ["status"],
  ["dlq"],
  ["dlq", "list"],
  ["dlq", "show"],
  ["dlq", "retry"],
  ["dlq", "purge"],
  ["recover"],
  ["outages"],
  ["reconcile"],
  ["hook"]
]

describe("plexsync's help", () => {
  it.live("fits 80 columns, reads as typed, brackets optional flags and describes every option", () =>
    Effect.gen(function*() {
      // The processes start side by side; each answer is checked on its own.
      const helps = yield* Effect.forEach(commands, (words) => run([...words, "--help"]), { concurrency: 4 })
      for (const [n, words] of commands.entries()) {
        const shown = words.length === 0 ? "plexsync" : `plexsync ${words.join(" ")}`
        const help = helps[n]!
        assert.strictEqual(help.code, 0, shown)
        const lines = help.stdout.split("\n")
        assert.deepStrictEqual(lines.filter((l) => l.length > 80), [], `${shown}: lines over 80 columns`)
        assert.match(help.stdout, new RegExp(`^Usage: ${shown} `), shown)
        assert.notInclude(help.stdout, "$ ", shown)
        for (const boilerplate of ["A user-defined piece of text", "This setting is optional", "A true or false"]) {
          assert.notInclude(help.stdout, boilerplate, shown)
        }
        // Every option line has a description beside it (or below it, for a long one).
        for (const [i, line] of lines.entries()) {
          const option = /^ {2}(-\S.*?)(?: {2,}(\S.*))?$/.exec(line)
          if (option === null) continue
          assert.isTrue(option[2] !== undefined || /^ {6,}\S/.test(lines[i + 1] ?? ""), `${shown}: ${line}`)
        }
      }
      const list = helps[commands.findIndex((w) => w.join(" ") === "dlq list")]!
      assert.match(list.stdout, /^Usage: plexsync dlq list \[--error TAG\]\.\.\. \[--since TIME\]/)
      assert.include(list.stdout, "[--json]")
      assert.match(list.stdout, /^ {2}--limit N {2,}At most N entries\. Default: 50\./m)
      const [enqueue, version, v] = yield* Effect.all([run(["enqueue", "-h"]), run(["--version"]), run(["-v"])], {
        concurrency: "unbounded"
      })
      assert.match(enqueue.stdout, /^Usage: plexsync enqueue \[--config FILE\] \[--json\] <sceneId>\.\.\./)
      assert.match(enqueue.stdout, /^ {2}<sceneId> {2,}The Stash scene ids to queue\./m)
      assert.strictEqual(version.stdout.trim(), "0.1.0")
      assert.strictEqual(v.stdout, version.stdout)
    }))

  it.live("suggests the command meant by a typo, with exit 2", () =>
    Effect.gen(function*() {
      const status = yield* run(["stauts"])
      assert.strictEqual(status.code, 2)
      assert.include(status.stderr, `unknown command "stauts" (did you mean status?)`)
      const list = yield* run(["dlq", "lst"])
      assert.strictEqual(list.code, 2)
      assert.include(list.stderr, `unknown command "dlq lst" (did you mean dlq list?)`)
      const level = yield* run(["status", "--log-level", "debgu"])
      assert.strictEqual(level.code, 2)
      assert.include(level.stderr, "(did you mean debug?)")
    }))

  it.live("takes --log-level before or after the command, over PLEXSYNC_LOG_LEVEL", () =>
    Effect.gen(function*() {
      const env = { PLEXSYNC_LOG_LEVEL: "error" }
      const quiet = yield* run(["status"], env)
      assert.strictEqual(quiet.code, 0, quiet.stderr)
      assert.notInclude(quiet.stderr, "plexsync debug:")
      for (const args of [["--log-level", "debug", "status"], ["status", "--log-level=debug"]]) {
        const loud = yield* run(args, env)
        assert.strictEqual(loud.code, 0, `${args.join(" ")}: ${loud.stderr}`)
        assert.include(loud.stderr, "plexsync debug:", args.join(" "))
        assert.match(loud.stdout, /^Queue:/m, args.join(" "))
      }
    }))
})
