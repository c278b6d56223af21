import { builtProgram } from "@plexsync/testing/BuiltProgram"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** How to start `plexsync-scheduler`: the built program, or the sources through tsx when the build is not possible. */
    schedulerCommand: ReadonlyArray<string>
  }
}

/** The end-to-end tests run the built scheduler (node apps/scheduler/build/esm/bin.js) as a child process. */
export default function setup(project: TestProject) {
  project.provide("schedulerCommand", builtProgram("apps/scheduler", "bin"))
}
