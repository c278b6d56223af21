import { assert, describe, it } from "@effect/vitest"
import { ObjectEvents } from "@plexsync/domain/ObjectEvents"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as TestStore from "@plexsync/testing/TestStore"
import { Effect, Either } from "effect"
import { recordObjectHook } from "../src/Hook.js"
import type { PluginRequest } from "../src/HookInput.js"
import { decodePluginInput } from "../src/HookInput.js"

const objectHook = (type: string, id: number, input: unknown) => {
  const decoded = Either.getOrThrow(decodePluginInput(JSON.stringify({ args: { hookContext: { id, type, input } } })))
  assert.strictEqual(decoded._tag, "ObjectHook")
  return decoded as Extract<PluginRequest, { readonly _tag: "ObjectHook" }>
}

describe("recordObjectHook (plexsync hook and POST /hooks/stash)", () => {
  it.scoped("records a changed, a deleted and a merged object, queues no scene, and says so", () =>
    Effect.gen(function*() {
      const changed = yield* recordObjectHook(objectHook("Tag.Update.Post", 21, { id: "21", name: "Renamed" }))
      assert.deepStrictEqual(changed, {
        eventId: 1,
        reply: { output: "recorded the change of tag 21 (event 1); its scenes will be queued for Plex shortly" }
      })
      const deleted = yield* recordObjectHook(objectHook("Movie.Destroy.Post", 4, { id: "4" }))
      assert.strictEqual(
        (deleted.reply as { output: string }).output,
        "recorded the deletion of group 4 (event 2); the scenes that used it will be queued for Plex shortly"
      )
      const merged = yield* recordObjectHook(objectHook("Tag.Merge.Post", 5, { source: ["3", "4"], destination: "5" }))
      assert.strictEqual(
        (merged.reply as { output: string }).output,
        "recorded the merge of tags 3, 4 into tag 5 (event 3); their scenes will be queued for Plex shortly"
      )

      const events = yield* ObjectEvents
      const pending = yield* events.pending(10)
      assert.deepStrictEqual(pending.events.map((e) => [e.kind, e.objectId, e.change, e.mergedFrom]), [
        ["tag", "21", "changed", []],
        ["group", "4", "deleted", []],
        ["tag", "5", "changed", ["3", "4"]]
      ])
      // Nothing talked to Stash: no scene is known yet, none queued.
      assert.strictEqual((yield* (yield* SyncQueue).counts).queued, 0)
    }).pipe(Effect.provide(TestStore.layer())))

  it.scoped("acknowledges a created object without recording anything", () =>
    Effect.gen(function*() {
      const created = yield* recordObjectHook(objectHook("Performer.Create.Post", 9, { name: "New" }))
      assert.deepStrictEqual(created, {
        eventId: null,
        reply: { output: "performer 9 was created in Stash: no scene uses it yet, nothing to sync" }
      })
      assert.strictEqual(yield* (yield* ObjectEvents).count, 0)
    }).pipe(Effect.provide(TestStore.layer())))
})
