import { assert, describe, it } from "@effect/vitest"
import { pluginLogLine, pluginProgressLine } from "../src/hook/PluginLog.js"

describe("plugin log format", () => {
  it("prefixes each line with SOH, the level and STX", () => {
    assert.strictEqual(pluginLogLine("i", "queued scene 4"), "\x01i\x02queued scene 4\n")
    assert.strictEqual(pluginLogLine("e", "a\nb"), "\x01e\x02a\n\x01e\x02b\n")
    assert.strictEqual(pluginProgressLine(0.5), "\x01p\x020.500\n")
  })
})
