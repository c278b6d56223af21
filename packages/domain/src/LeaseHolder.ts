import { Clock, Duration, Effect, Option, ParseResult, Schema } from "effect"
import { ProcessLease } from "./Settings.js"

/**
 * Who holds a process lease (`ProcessLease`), written into the lease row so that another process can tell whether
 * the holder still runs: the program, the host name, the pid, the pid namespace (two containers on one host may
 * both run pid 1) and a random id drawn once per process (two containers with the same host name and pid 1 on one
 * volume are still two holders). A person reads it in `status` as `plexsync run on nas (pid 4242, …)`.
 */
export interface LeaseHolder {
  readonly program: string
  readonly host: string
  readonly pid: number
  /** The pid namespace's inode (Linux), or empty where it cannot be read: then liveness cannot be told. */
  readonly pidNamespace: string
  /** Random, per process. */
  readonly nonce: string
}

const pattern = /^(.+?) on (.+) \(pid (\d+), pidns ([0-9]*), id ([0-9a-f]+)\)$/

/** The lease row's holder text. */
export const LeaseHolderFromString = Schema.transformOrFail(
  Schema.String,
  Schema.Struct({
    program: Schema.String,
    host: Schema.String,
    pid: Schema.Int,
    pidNamespace: Schema.String,
    nonce: Schema.String
  }),
  {
    strict: true,
    decode: (text, _, ast) => {
      const m = pattern.exec(text)
      return m === null
        ? ParseResult.fail(new ParseResult.Type(ast, text, "not a plexsync lease holder"))
        : ParseResult.succeed({ program: m[1]!, host: m[2]!, pid: Number(m[3]), pidNamespace: m[4]!, nonce: m[5]! })
    },
    encode: (h) =>
      ParseResult.succeed(`${h.program} on ${h.host} (pid ${h.pid}, pidns ${h.pidNamespace}, id ${h.nonce})`)
  }
)

export const holderText = (holder: LeaseHolder): string => Schema.encodeSync(LeaseHolderFromString)(holder)

/** The holder parsed, when it is one of ours (older versions wrote other text: `host:pid`). */
export const parseHolder = (text: string): Option.Option<LeaseHolder> =>
  Schema.decodeUnknownOption(LeaseHolderFromString)(text)

/** The holder for a person: `plexsync run on nas (pid 4242)`; text that is not ours as it is. */
export const describeHolder = (text: string): string =>
  Option.match(parseHolder(text), {
    onNone: () => text,
    onSome: (h) => `${h.program} on ${h.host} (pid ${h.pid})`
  })

/** This process, as far as telling a dead holder goes. */
export interface ThisHost {
  readonly holder: LeaseHolder
  /** Whether a process with this pid exists here (in this pid namespace). */
  readonly isAlive: (pid: number) => boolean
}

/**
 * True only when the holder is certainly gone: a process of this host and pid namespace that no longer exists, or
 * whose pid is now this process's own. A holder elsewhere, or one that cannot be told (no pid namespace, text that
 * is not ours), is left to its lease's expiry.
 */
export const holderGone = (text: string, here: ThisHost): boolean =>
  Option.match(parseHolder(text), {
    onNone: () => false,
    onSome: (h) => {
      const me = here.holder
      if (h.host !== me.host || h.pidNamespace === "" || h.pidNamespace !== me.pidNamespace) return false
      if (h.nonce === me.nonce) return false
      return h.pid === me.pid || !here.isAlive(h.pid)
    }
  })

export type LeaseAttempt =
  | { readonly _tag: "Acquired"; readonly tookOverFrom: string | null }
  | { readonly _tag: "Held"; readonly holder: string; readonly until: number }

/**
 * Takes the lease `name` for `here`, or renews it; a holder that is certainly gone (`holderGone`) is replaced at
 * once instead of after its lease. Otherwise says who holds it.
 */
export const acquireLease = Effect.fn("LeaseHolder.acquireLease")(function*(
  name: string,
  here: ThisHost,
  ttlMs: number
) {
  const lease = yield* ProcessLease
  const me = holderText(here.holder)
  for (let attempt = 0; attempt < 2; attempt++) {
    if (yield* lease.acquire(name, me, ttlMs)) return { _tag: "Acquired", tookOverFrom: null } as LeaseAttempt
    const current = yield* lease.holder(name)
    // Released between the two statements: try again once.
    if (Option.isNone(current)) continue
    if (holderGone(current.value.holder, here) && (yield* lease.takeOver(name, current.value.holder, me, ttlMs))) {
      return { _tag: "Acquired", tookOverFrom: current.value.holder } as LeaseAttempt
    }
    return { _tag: "Held", holder: current.value.holder, until: current.value.until } as LeaseAttempt
  }
  return { _tag: "Held", holder: "another process", until: 0 } as LeaseAttempt
})

/** Why a held lease was given up. `fatal`: the database file is gone, so nothing written counts any more. */
export interface LeaseLoss {
  readonly why: string
  readonly fatal: boolean
}

/**
 * Renews the lease `name` every third of `ttlMs` until it is lost, and returns why: another process holds it now,
 * the database did not answer in time (given up with a third of the lease left, before it can expire under this
 * holder), or `fileLost` says the database file is gone (checked before each renewal).
 */
export const keepLease = (
  name: string,
  holder: string,
  ttlMs: number,
  fileLost: Effect.Effect<Option.Option<string>> = Effect.succeed(Option.none())
) =>
  Effect.gen(function*() {
    const lease = yield* ProcessLease
    const every = Duration.millis(Math.max(10, Math.floor(ttlMs / 3)))
    let lastRenewed = yield* Clock.currentTimeMillis
    while (true) {
      yield* Effect.sleep(every)
      const now = yield* Clock.currentTimeMillis
      const lost = yield* fileLost
      if (Option.isSome(lost)) return { why: lost.value, fatal: true } satisfies LeaseLoss
      const renewed = yield* Effect.either(lease.acquire(name, holder, ttlMs))
      if (renewed._tag === "Right" && renewed.right) {
        lastRenewed = now
        continue
      }
      if (renewed._tag === "Right") {
        const current = yield* lease.holder(name).pipe(Effect.orElseSucceed(() => Option.none()))
        const who = Option.match(current, { onNone: () => "another process", onSome: (h) => describeHolder(h.holder) })
        return { why: `${who} took the worker lease`, fatal: false } satisfies LeaseLoss
      }
      yield* Effect.logWarning(`worker lease: renewal failed (${renewed.left.message})`)
      if (now - lastRenewed >= (ttlMs * 2) / 3) {
        return { why: "the worker lease could not be renewed", fatal: false } satisfies LeaseLoss
      }
    }
  })
