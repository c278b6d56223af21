import { Effect } from "effect"
import { describeHolder } from "./LeaseHolder.js"
import { SyncQueue } from "./SyncQueue.js"

/**
 * The worker lease was just taken over from `from`, a process on this host that no longer runs. Only the worker
 * lease's holder claims jobs, so every job still running was that process's: their leases end now and the next
 * claim takes them back, instead of leaving them to wait out leases nobody renews.
 */
export const takeOverFrom = (from: string) =>
  Effect.gen(function*() {
    const ended = yield* (yield* SyncQueue).endLeases
    yield* Effect.logWarning(
      `took the worker lease over from ${describeHolder(from)}, which no longer runs` +
        (ended === 0 ? "" : `; its ${ended} job${ended === 1 ? "" : "s"} in flight are taken back`)
    )
  })
