/**
 * `pnpm fake:stash`: a fake Stash on loopback with a seeded library, until interrupted.
 *
 * Environment: FAKE_STASH_PORT (default 0: any free port), FAKE_STASH_API_KEY (default none: open, like
 * a Stash without credentials), FAKE_STASH_SCENES (default 24), FAKE_STASH_HOST (default 127.0.0.1).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Config, Console, Effect, Option, Redacted } from "effect"
import * as FakeStash from "../FakeStash.js"
import { seedLibrary } from "../FakeStashSeed.js"

const program = Effect.gen(function*() {
  const port = yield* Config.port("FAKE_STASH_PORT").pipe(Config.withDefault(0))
  const host = yield* Config.string("FAKE_STASH_HOST").pipe(Config.withDefault("127.0.0.1"))
  const scenes = yield* Config.integer("FAKE_STASH_SCENES").pipe(
    Config.validate({ message: "FAKE_STASH_SCENES must be 0 or more", validation: (n) => n >= 0 }),
    Config.withDefault(24)
  )
  const apiKey = yield* Config.option(Config.redacted("FAKE_STASH_API_KEY"))
  const fake = yield* FakeStash.start({
    port,
    host,
    ...Option.match(apiKey, { onNone: () => ({}), onSome: (key) => ({ apiKey: Redacted.value(key) }) })
  })
  seedLibrary(fake.state, { scenes })
  yield* Console.log(`fake Stash listening on ${fake.url} (GraphQL at ${fake.url}/graphql)`)
  yield* Console.log(
    `${fake.state.sceneCount} scenes; ${Option.isSome(apiKey) ? "API key required" : "no API key configured"}`
  )
  return yield* Effect.never
})

NodeRuntime.runMain(Effect.scoped(program))
