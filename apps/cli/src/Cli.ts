import { Command } from "@effect/cli"

/** The `plexsync` root command. Subcommands are added as the pieces they drive exist. */
export const plexsync = Command.make("plexsync").pipe(
  Command.withDescription("Keeps Plex Media Server metadata in step with Stash.")
)

export const cli = Command.run(plexsync, {
  name: "plexsync",
  version: "0.1.0"
})
