import { Schema } from "effect"

/** A Stash scene id: Stash's GraphQL `ID`, always a string of decimal digits. */
export const SceneId = Schema.String.pipe(
  Schema.pattern(/^[0-9]{1,19}$/, { message: () => "a scene id is a string of digits, e.g. \"101\"" }),
  Schema.brand("SceneId")
)
export type SceneId = typeof SceneId.Type

export const JobId = Schema.Int.pipe(Schema.positive(), Schema.brand("JobId"))
export type JobId = typeof JobId.Type

export const DeadLetterId = Schema.Int.pipe(Schema.positive(), Schema.brand("DeadLetterId"))
export type DeadLetterId = typeof DeadLetterId.Type

export const OutageId = Schema.Int.pipe(Schema.positive(), Schema.brand("OutageId"))
export type OutageId = typeof OutageId.Type

/** The servers a breaker and an outage are kept for. */
export const Target = Schema.Literal("plex", "stash")
export type Target = typeof Target.Type

/** Integer UTC epoch milliseconds: the only time representation in storage. */
export const Millis = Schema.Int.pipe(Schema.nonNegative())
export type Millis = typeof Millis.Type
