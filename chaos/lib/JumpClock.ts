import { Clock, Effect } from "effect"
import type { Duration } from "effect"

/**
 * A wall clock that can be set forward or back while the program runs, as NTP or a resumed VM does, while the
 * monotonic time (`currentTimeNanos`) and real sleeps go on undisturbed.
 */
export class JumpClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private readonly live = Clock.make()
  offsetMs = 0

  unsafeCurrentTimeMillis(): number {
    return Date.now() + this.offsetMs
  }
  get currentTimeMillis(): Effect.Effect<number> {
    return Effect.sync(() => this.unsafeCurrentTimeMillis())
  }
  unsafeCurrentTimeNanos(): bigint {
    return this.live.unsafeCurrentTimeNanos()
  }
  get currentTimeNanos(): Effect.Effect<bigint> {
    return this.live.currentTimeNanos
  }
  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return this.live.sleep(duration)
  }
  jump(byMs: number): void {
    this.offsetMs += byMs
  }
}
