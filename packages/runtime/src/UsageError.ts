import { Data } from "effect"

/**
 * Bad usage that a parser cannot see (exclusive flags, a missing pair, an id that is no id): exit 2 on the command
 * line, 400 from the scheduler's API.
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}
