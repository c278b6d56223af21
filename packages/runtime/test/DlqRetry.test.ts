import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import type { DlqRetryOptions } from "../src/Commands.js"
import { dlqRetry } from "../src/Commands.js"

/** The command's usage checks come before it touches the store: no store is given. */
const attempt = (options: DlqRetryOptions) =>
  Effect.either(dlqRetry(options) as unknown as Effect.Effect<unknown, { readonly _tag: string; message: string }>)

describe("plexsync dlq retry", () => {
  it.effect("says what to give when nothing was given, and that ids and --error do not go together", () =>
    Effect.gen(function*() {
      const none = yield* attempt({ ids: [], errorTags: [], since: Option.none(), until: Option.none() })
      assert.isTrue(Either.isLeft(none))
      if (Either.isLeft(none)) {
        assert.strictEqual(none.left._tag, "UsageError")
        assert.match(none.left.message, /^say which entries to retry: entry ids .* or --error TAG/)
        assert.notInclude(none.left.message, "not both")
      }
      const both = yield* attempt({
        ids: ["1"],
        errorTags: ["PlexNotFound"],
        since: Option.none(),
        until: Option.none()
      })
      assert.isTrue(Either.isLeft(both))
      if (Either.isLeft(both)) assert.match(both.left.message, /not both$/)
    }))
})
