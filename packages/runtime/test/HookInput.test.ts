import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import type { PluginRequest } from "../src/HookInput.js"
import { decodePluginInput } from "../src/HookInput.js"

const serverConnection = {
  Scheme: "http",
  Host: "0.0.0.0",
  Port: 9999,
  SessionCookie: {
    Name: "session",
    Value: "abc",
    Path: "",
    Domain: "",
    Expires: "0001-01-01T00:00:00Z",
    RawExpires: "",
    MaxAge: 0,
    Secure: false,
    HttpOnly: false,
    SameSite: 0,
    Raw: "",
    Unparsed: null
  },
  Dir: "/root/.stash",
  PluginDir: "/root/.stash/plugins/plexsync"
}

const decode = (value: unknown): PluginRequest => {
  const r = decodePluginInput(typeof value === "string" ? value : JSON.stringify(value))
  if (Either.isLeft(r)) assert.fail(r.left.message)
  return r.right
}
const refused = (value: unknown): string => {
  const r = decodePluginInput(typeof value === "string" ? value : JSON.stringify(value))
  if (Either.isRight(r)) assert.fail(`expected a refusal, got ${JSON.stringify(r.right)}`)
  return r.left.message
}

describe("decodePluginInput", () => {
  it("reads an update hook from an edit", () => {
    const request = decode({
      server_connection: serverConnection,
      args: {
        mode: "hook",
        hookContext: {
          id: 45,
          type: "Scene.Update.Post",
          input: { id: "45", title: null, tag_ids: ["21"] },
          inputFields: ["tag_ids", "id"]
        }
      }
    })
    assert.deepStrictEqual(request, {
      _tag: "SceneHook",
      type: "Scene.Update.Post",
      sceneId: "45" as never,
      fromScan: false,
      inputFields: ["tag_ids", "id"]
    })
  })

  it("reads a scan-triggered hook with input null and no inputFields", () => {
    const request = decode({
      server_connection: { ...serverConnection, SessionCookie: null },
      args: { hookContext: { id: 7, type: "Scene.Create.Post", input: null } }
    })
    assert.strictEqual(request._tag, "SceneHook")
    assert.isTrue(request._tag === "SceneHook" && request.fromScan)
    assert.strictEqual(request._tag === "SceneHook" ? request.sceneId : "", "7")
  })

  it("takes the scene id from input.id when hookContext.id is absent (omitempty)", () => {
    const request = decode({
      args: {
        hookContext: {
          type: "Scene.Destroy.Post",
          input: { id: "12", delete_file: false, path: "/data/a.mp4" }
        }
      }
    })
    assert.strictEqual(request._tag === "SceneHook" ? request.sceneId : "", "12")
  })

  it("acknowledges other hook types without queueing", () => {
    for (const type of ["Image.Update.Post", "Gallery.Destroy.Post", "SceneMarker.Create.Post", "Tag.Update.Pre"]) {
      assert.deepStrictEqual(decode({ args: { hookContext: { id: 3, type, input: {} } } }), { _tag: "OtherHook", type })
    }
  })

  const objectHook = (type: string, id: unknown, input: unknown, inputFields?: ReadonlyArray<string>) =>
    decode({
      server_connection: serverConnection,
      args: {
        mode: "hook",
        hookContext: { ...(id === undefined ? {} : { id }), type, input, ...(inputFields ? { inputFields } : {}) }
      }
    })

  it("reads the update, destroy and create hooks of tags, performers, studios and groups", () => {
    const cases = [
      ["Tag.Update.Post", "tag", "changed"],
      ["Performer.Update.Post", "performer", "changed"],
      ["Studio.Update.Post", "studio", "changed"],
      ["Group.Update.Post", "group", "changed"],
      ["Tag.Destroy.Post", "tag", "deleted"],
      ["Performer.Destroy.Post", "performer", "deleted"],
      ["Studio.Destroy.Post", "studio", "deleted"],
      ["Group.Destroy.Post", "group", "deleted"],
      ["Tag.Create.Post", "tag", "created"],
      ["Performer.Create.Post", "performer", "created"],
      ["Studio.Create.Post", "studio", "created"],
      ["Group.Create.Post", "group", "created"]
    ] as const
    for (const [type, kind, action] of cases) {
      assert.deepStrictEqual(objectHook(type, 21, { id: "21", name: "Renamed" }, ["id", "name"]), {
        _tag: "ObjectHook",
        type,
        kind,
        action,
        objectId: "21",
        mergedFrom: []
      }, type)
    }
  })

  it("reads the deprecated Movie hooks as a group's", () => {
    for (const [op, action] of [["Update", "changed"], ["Destroy", "deleted"], ["Create", "created"]] as const) {
      const request = objectHook(`Movie.${op}.Post`, 4, { id: "4" })
      assert.deepStrictEqual(request, {
        _tag: "ObjectHook",
        type: `Movie.${op}.Post`,
        kind: "group",
        action,
        objectId: "4",
        mergedFrom: []
      })
    }
  })

  it("takes the object id from input.id when hookContext.id is absent (omitempty)", () => {
    const request = objectHook("Performer.Destroy.Post", undefined, { id: "77" })
    assert.strictEqual(request._tag === "ObjectHook" ? request.objectId : "", "77")
  })

  it("reads Tag.Merge.Post: the destination changed, the sources (TagsMergeInput.source) merged away", () => {
    assert.deepStrictEqual(objectHook("Tag.Merge.Post", 5, { source: ["3", 4, "5", "3"], destination: "5" }), {
      _tag: "ObjectHook",
      type: "Tag.Merge.Post",
      kind: "tag",
      action: "merged",
      objectId: "5",
      // duplicates and the destination itself left out
      mergedFrom: ["3", "4"]
    })
    // Without hookContext.id, the destination is the input's.
    const request = objectHook("Tag.Merge.Post", undefined, { source: ["8"], destination: "9" })
    assert.deepStrictEqual(request._tag === "ObjectHook" ? [request.objectId, request.mergedFrom] : [], ["9", ["8"]])
  })

  it("refuses an object hook without a usable id or a merge without its sources, saying which", () => {
    assert.include(refused({ args: { hookContext: { type: "Tag.Update.Post", input: null } } }), "without the tag's id")
    assert.include(
      refused({ args: { hookContext: { id: "x1", type: "Studio.Update.Post" } } }),
      "\"x1\" is not a Stash studio id"
    )
    assert.include(
      refused({ args: { hookContext: { id: 5, type: "Tag.Merge.Post", input: { destination: "5" } } } }),
      "input.source is not a list of Stash tag ids"
    )
    assert.include(
      refused({ args: { hookContext: { id: 5, type: "Tag.Merge.Post", input: { source: ["a"], destination: "5" } } } }),
      "TagsMergeInput"
    )
  })

  it("reads a task with its defaultArgs", () => {
    const request = decode({ server_connection: serverConnection, args: { mode: "purge_dlq", days: 30 } })
    assert.strictEqual(request._tag, "Task")
    assert.strictEqual(request._tag === "Task" ? request.mode : "", "purge_dlq")
    assert.strictEqual(request._tag === "Task" ? request.args.days : 0, 30)
  })

  it("refuses malformed input with a message saying what is wrong", () => {
    assert.include(refused(""), "no plugin input")
    assert.include(refused("{not json"), "not JSON")
    assert.include(refused([1, 2]), "not a JSON object")
    assert.include(refused({ args: 5 }), "not a Stash plugin document at args")
    assert.include(refused({ server_connection: {} }), "at args")
    assert.include(refused({ args: {} }), "neither args.hookContext")
    assert.include(refused({ args: { hookContext: { id: 1 } } }), "args.hookContext.type")
    assert.include(refused({ args: { hookContext: { type: "Scene.Update.Post", input: null } } }), "without a scene id")
    assert.include(refused({ args: { hookContext: { id: -4, type: "Scene.Update.Post" } } }), "not a Stash scene id")
    assert.include(refused({ args: { hookContext: { id: "abc", type: "Scene.Update.Post" } } }), "not a Stash scene id")
  })
})

describe("what a refusal repeats of a hook's bad values", () => {
  const huge = "7".repeat(20) + "x".repeat(100_000)
  it("repeats at most about 100 characters of each, whatever was sent", () => {
    const messages = [
      refused({ args: { hookContext: { type: "Scene.Update.Post", id: huge } } }),
      refused({ args: { hookContext: { type: "Tag.Update.Post", input: { id: huge } } } }),
      refused({ args: { hookContext: { type: "Scene.Update.Post", id: { nested: [huge] } } } }),
      refused({ args: { hookContext: { type: "Scene.Update.Post" }, mode: 5 }, [huge]: 1 }),
      refused(`{"args": ${huge}`)
    ]
    for (const message of messages) {
      assert.isBelow(message.length, 400, message.slice(0, 400))
      assert.notInclude(message, "x".repeat(101))
    }
    assert.include(messages[0], "(100020 characters)")
  })

  it("repeats no control character raw", () => {
    const message = refused({ args: { hookContext: { type: "Scene.Update.Post", id: "1\u001b[2J" } } })
    assert.notInclude(message, "\u001b")
  })
})
