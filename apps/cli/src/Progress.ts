import { makeProgress } from "@plexsync/runtime/Present"
import { Effect, FiberRef } from "effect"
import type { ProgressFactory } from "./Work.js"

/**
 * The command line's progress: a bar redrawn in place on stderr when stderr is a terminal, and plain lines on
 * stderr (at most one a second) when it is not, or when the command prints `--json` (whose reader is a program).
 */

/** Whether the running command prints a `--json` document. */
export const jsonOutput = FiberRef.unsafeMake(false)

export const terminalProgress: ProgressFactory = (label, total) =>
  Effect.gen(function*() {
    const json = yield* FiberRef.get(jsonOutput)
    return yield* makeProgress({
      label,
      ...(total === undefined ? {} : { total }),
      tty: process.stderr.isTTY === true && !json
    })
  })
