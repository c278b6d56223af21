import { Effect } from "effect"
import type { AppConfigShape } from "./AppConfig.js"
import type { PluginReply, PluginRequest } from "./HookInput.js"
import { taskModes } from "./HookInput.js"

/** The plugin's tasks (manifest `defaultArgs.mode`). Loaded only when a task runs. */
export const runTask = (
  request: Extract<PluginRequest, { readonly _tag: "Task" }>,
  _config: AppConfigShape
): Effect.Effect<PluginReply> =>
  Effect.succeed({ error: `unknown task mode ${JSON.stringify(request.mode)}; known: ${taskModes.join(", ")}` })
