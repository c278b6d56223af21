import type { ThisHost } from "@plexsync/domain/LeaseHolder"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"

/** Drawn once per process: what tells this process's lease rows from those of a process with the same host and pid. */
const nonce = Crypto.randomBytes(6).toString("hex")

/** The pid namespace's inode (`pid:[4026531836]`), or empty off Linux or where /proc cannot be read. */
const pidNamespace = (): string => {
  try {
    return /\[(\d+)\]/.exec(Fs.readlinkSync("/proc/self/ns/pid"))?.[1] ?? ""
  } catch {
    return ""
  }
}

/** Whether a process with this pid exists: signal 0 checks without sending anything (EPERM: it exists). */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH"
  }
}

/** This process as a lease holder (`program` names it for a person: `plexsync run`, `plexsync-scheduler`). */
export const thisProcess = (program: string): ThisHost => ({
  holder: { program, host: Os.hostname(), pid: process.pid, pidNamespace: pidNamespace(), nonce },
  isAlive
})
