// Polling with expectations, after mio's tests/util/mod.rs.
import type { ExecutionContext } from 'ava'
import { Events, Poll, type Event, type Token } from 'node-mio'

/** What an expected event must show (a subset of its flags). */
export type Readiness = 'readable' | 'writable' | 'error' | 'readClosed' | 'writeClosed' | 'priority' | 'aio' | 'lio'

export function readiness(event: Event): Set<Readiness> {
  const json = event.toJSON()
  const set = new Set<Readiness>()
  for (const key of ['readable', 'writable', 'error', 'readClosed', 'writeClosed', 'priority', 'aio', 'lio'] as const) {
    if (json[key]) set.add(key)
  }
  return set
}

/** A Poll plus `Events` of capacity 16, as mio's `init_with_poll`. */
export function initWithPoll(): { poll: Poll; events: Events } {
  return { poll: new Poll(), events: new Events(16) }
}

export interface ExpectedEvent {
  token: Token
  readiness: Readiness[]
}

/**
 * Polls up to 3 x 500 ms until every expected event was seen (each matched
 * once; extra events are ignored), as mio's `expect_events`.
 */
export function expectEvents(t: ExecutionContext, poll: Poll, events: Events, expected: ExpectedEvent[]): void {
  const missing = [...expected]
  for (let round = 0; round < 3 && missing.length > 0; round++) {
    poll.poll(events, 500)
    for (const event of events) {
      const flags = readiness(event)
      const at = missing.findIndex((want) => want.token === event.token && want.readiness.every((r) => flags.has(r)))
      if (at >= 0) missing.splice(at, 1)
    }
  }
  t.deepEqual(missing, [], 'expected events did not arrive')
}

/** A 50 ms poll must return nothing, as mio's `expect_no_events`. */
export function expectNoEvents(t: ExecutionContext, poll: Poll, events: Events): void {
  poll.poll(events, 50)
  t.deepEqual([...events].map((e) => e.toJSON()), [], 'expected no events')
}

/** The tokens of a batch, in order (Events are views, valid only inside a watch callback). */
export function tokensOf(events: Events): Token[] {
  return [...events].map((event: Event) => event.token)
}
