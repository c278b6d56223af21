import type { Effect } from "effect"
import { Context, Schema } from "effect"
import type { RelatedKind } from "./RelatedObjects.js"
import type { StoreError } from "./StoreError.js"

/**
 * What a Stash hook for a tag, performer, studio or group says happened (`Tag.Update.Post`, `Tag.Destroy.Post`,
 * `Tag.Merge.Post`, …), recorded durably by the hook and expanded into scene jobs later (`RelatedChanges`): Stash
 * waits for the hook inside the save, and finding an object's scenes means asking Stash, so the hook only records.
 */

/** `changed`: edited (or the destination of a merge); `deleted`: gone, its scenes come from plexsync's sync state. */
export const ObjectChange = Schema.Literal("changed", "deleted")
export type ObjectChange = typeof ObjectChange.Type

export interface ObjectEventInput {
  readonly kind: RelatedKind
  readonly objectId: string
  readonly change: ObjectChange
  /** A tag merge: the tags merged into `objectId` (which changed), gone now. Empty otherwise. */
  readonly mergedFrom?: ReadonlyArray<string>
}

export interface ObjectEvent {
  /** The row's id: events are expanded oldest first and removed by id once their scenes are queued. */
  readonly id: number
  readonly kind: RelatedKind
  readonly objectId: string
  readonly change: ObjectChange
  readonly mergedFrom: ReadonlyArray<string>
  readonly recordedAt: number
}

export interface PendingObjectEvents {
  readonly events: ReadonlyArray<ObjectEvent>
  /** Rows that do not decode (written by hand or by a newer plexsync): nothing can be done with them. */
  readonly unreadable: ReadonlyArray<number>
}

export interface ObjectEventsService {
  /** Records one event (one INSERT, so a hook stays fast); returns its id. */
  readonly record: (event: ObjectEventInput) => Effect.Effect<{ readonly eventId: number }, StoreError>
  /** The oldest `limit` events not yet expanded. */
  readonly pending: (limit: number) => Effect.Effect<PendingObjectEvents, StoreError>
  /** Removes events whose scenes are queued. */
  readonly remove: (ids: ReadonlyArray<number>) => Effect.Effect<void, StoreError>
  /** How many events wait to be expanded. */
  readonly count: Effect.Effect<number, StoreError>
}

export class ObjectEvents extends Context.Tag("@plexsync/domain/ObjectEvents")<ObjectEvents, ObjectEventsService>() {}
