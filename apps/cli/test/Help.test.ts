import { describe, expect, it } from "@effect/vitest"
import { help } from "../src/Cli.js"
import { findCommand, renderHelp } from "../src/help/Help.js"

/** Every help page, as `plexsync … --help` shows it. */
const pages = (width: number) => {
  const paths = [[], ["run"], ["dlq"], ["dlq", "list"], ["reconcile"], ["recover"], ["doctor"]]
  return paths.map((words) => {
    const { command } = findCommand(help, words)
    return renderHelp(command, ["plexsync", ...words], width)
  })
}

describe("help layout", () => {
  it("wraps every line at the terminal's width", () => {
    for (const width of [60, 80, 120]) {
      for (const page of pages(width)) {
        expect(page.split("\n").filter((line) => line.length > width)).toEqual([])
      }
    }
  })

  it("uses a wide terminal's width instead of breaking at 80", () => {
    const wide = pages(160).join("\n").split("\n")
    expect(wide.some((line) => line.length > 80)).toBe(true)
    expect(pages(160).join("\n").split("\n").length).toBeLessThan(pages(80).join("\n").split("\n").length)
  })
})
