import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { cli } from "./Cli.js"

export const main = (argv: ReadonlyArray<string>): void =>
  cli(argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
