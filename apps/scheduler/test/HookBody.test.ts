import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { decodeHookBody, hookAction } from "../src/HookBody.js"

const serverConnection = {
  Scheme: "http",
  Host: "0.0.0.0",
  Port: 9999,
  SessionCookie: { Name: "session", Value: "cookie-value" },
  Dir: "/root/.stash",
  PluginDir: "/root/.stash/plugins/plexsync"
}

const hook = (hookContext: unknown) =>
  JSON.stringify({ server_connection: serverConnection, args: { mode: "hook", hookContext } })

describe("HookBody", () => {
  it("queues a scene update with Stash's int id", () => {
    const body = Either.getOrThrow(decodeHookBody(hook({
      id: 45,
      type: "Scene.Update.Post",
      input: { id: "45", title: "New" },
      inputFields: ["title", "id"]
    })))
    assert.deepStrictEqual(hookAction(body), { _tag: "Enqueue", sceneId: "45" as never, hookType: "Scene.Update.Post" })
  })

  it("queues a scan-created scene whose input is null", () => {
    const body = Either.getOrThrow(decodeHookBody(hook({ id: 7, type: "Scene.Create.Post", input: null })))
    const action = hookAction(body)
    assert.strictEqual(action._tag, "Enqueue")
    if (action._tag === "Enqueue") assert.strictEqual(action.sceneId, "7")
  })

  it("ignores deletions and other object types, and refuses tasks", () => {
    const destroyed = Either.getOrThrow(decodeHookBody(hook({ id: 9, type: "Scene.Destroy.Post", input: { id: "9" } })))
    assert.strictEqual(hookAction(destroyed)._tag, "Ignore")
    const tag = Either.getOrThrow(decodeHookBody(hook({ id: 3, type: "Tag.Update.Post", input: {} })))
    assert.strictEqual(hookAction(tag)._tag, "Ignore")
    const task = Either.getOrThrow(
      decodeHookBody(JSON.stringify({ server_connection: {}, args: { mode: "sync_recent" } }))
    )
    const action = hookAction(task)
    assert.strictEqual(action._tag, "Refuse")
    if (action._tag === "Refuse") assert.include(action.why, "sync_recent")
  })

  it("says what is wrong and where for malformed bodies", () => {
    const notJson = decodeHookBody("{not json")
    assert.isTrue(Either.isLeft(notJson))
    const badId = decodeHookBody(hook({ id: "12; DROP", type: "Scene.Update.Post" }))
    assert.isTrue(Either.isLeft(badId))
    if (Either.isLeft(badId)) assert.include(badId.left, "args.hookContext.id")
    const noArgs = decodeHookBody(JSON.stringify({ server_connection: {} }))
    assert.isTrue(Either.isLeft(noArgs))
    if (Either.isLeft(noArgs)) assert.include(noArgs.left, "args")
  })
})
