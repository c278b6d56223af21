import type { Context, Exit } from "effect"
import { Cause, Tracer } from "effect"

/** A span as an exporter would see it. */
export interface RecordedSpan {
  readonly name: string
  readonly attributes: Map<string, unknown>
  /** `[name, attributes]` of every event, and `Cause.pretty` of the cause when the span ended in a failure. */
  readonly events: Array<unknown>
}

/**
 * A tracer that keeps every span opened under it, with its attributes and events: for tests that show nothing
 * secret reaches what a trace exporter would send.
 */
export const recordingTracer = () => {
  const spans: Array<RecordedSpan> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const events: Array<unknown> = []
      spans.push({ name, attributes, events })
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${spans.length}`,
        traceId: parent._tag === "Some" ? parent.value.traceId : `trace-${spans.length}`,
        parent,
        context: context as Context.Context<never>,
        get status() {
          return status
        },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
          status = { _tag: "Ended", startTime, endTime, exit }
          if (exit._tag === "Failure") events.push(Cause.pretty(exit.cause))
        },
        attribute: (key, value) => {
          attributes.set(key, value)
        },
        event: (eventName, _time, eventAttributes) => {
          events.push([eventName, eventAttributes])
        },
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })
  return { tracer, spans }
}
