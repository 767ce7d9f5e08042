// Frames the mio port specs share: a Poll that owns what a test made, a
// polled TCP connection, the registration that shows nothing, and mio's
// `readiness_is_reregistered_after_would_block` body.
import type { ExecutionContext } from 'ava'
import { Interest, TcpListener, type ConnectOptions, type Events, type Poll, type Source, type TcpStream, type Token } from 'node-mio'
import { expectEvents, expectNoEvents, initWithPoll } from './events.ts'
import { ANY_LOCAL, polledPair } from './sockets.ts'

/** A Poll and its Events (mio's `init_with_poll`), and what the test owns: disposed together. */
export interface PollScope<R extends readonly Disposable[]> extends Disposable {
  readonly poll: Poll
  readonly events: Events
  /** The resources given, disposed last first, before the Poll. */
  readonly owned: R
}

/** Disposes `resources[i]`, then the ones before it, even if one throws. */
function disposeDown(resources: readonly Disposable[], i: number): void {
  if (i < 0) return
  try {
    resources[i]?.[Symbol.dispose]()
  } finally {
    disposeDown(resources, i - 1)
  }
}

/**
 * `initWithPoll()` plus the resources a test made, for one `using`:
 *
 * ```ts
 * using scope = pollWith(...UnixStream.pair())
 * const { poll, events, owned: [a, b] } = scope
 * ```
 */
export function pollWith<const R extends readonly Disposable[]>(...owned: R): PollScope<R> {
  const { poll, events } = initWithPoll()
  return {
    poll,
    events,
    owned,
    [Symbol.dispose]: () => disposeDown([poll, ...owned], owned.length),
  }
}

/** A listener on loopback and a connection to it, with the Poll that saw it made. */
export interface TcpConnection extends PollScope<readonly [TcpListener]> {
  readonly listener: TcpListener
  readonly client: TcpStream
  readonly server: TcpStream
}

/**
 * {@link polledPair} on a fresh loopback listener, in a {@link pollWith}
 * scope that also closes both ends (closing an end the test closed or
 * detached already does nothing).
 */
export function polledConnection(t: ExecutionContext, options?: ConnectOptions): TcpConnection {
  const scope = pollWith(TcpListener.bind(ANY_LOCAL))
  const [listener] = scope.owned
  try {
    const [client, server] = polledPair(t, scope.poll, scope.events, listener, options)
    return {
      ...scope,
      listener,
      client,
      server,
      [Symbol.dispose]: () => disposeDown([scope, client, server], 2),
    }
  } catch (error) {
    scope[Symbol.dispose]()
    throw error
  }
}

/**
 * mio's `registering` tests: the source `make` returns, registered readable
 * as `token` in a new Poll, gives no event (the source is closed before the Poll).
 */
export function expectQuietRegistration(t: ExecutionContext, make: () => Source, token: Token): void {
  using scope = pollWith(make())
  scope.poll.registry.register(scope.owned[0], token, Interest.READABLE)
  expectNoEvents(t, scope.poll, scope.events)
}

/** The two ends of mio's `readiness_is_reregistered_after_would_block`. */
export interface WouldBlockPair {
  /** Registered readable as `token` before the call; read until WouldBlock. */
  reader: { read(buf: Uint8Array): number | null }
  writer: { write(buf: Uint8Array): number | null }
}

/**
 * mio's `readiness_is_reregistered_after_would_block`, once `reader` is
 * registered: data makes it readable, a read drains it to WouldBlock, no
 * event follows, and new data makes it readable again.
 */
export function expectReadinessAfterWouldBlock(t: ExecutionContext, poll: Poll, events: Events, token: Token, { reader, writer }: WouldBlockPair): void {
  t.is(writer.write(Buffer.from('hello')), 5)
  expectEvents(t, poll, events, [{ token, readiness: ['readable'] }])

  const buf = Buffer.alloc(16)
  t.is(reader.read(buf), 5)
  t.is(reader.read(buf), null, 'expected WouldBlock (null)')

  expectNoEvents(t, poll, events)

  t.is(writer.write(Buffer.from('again')), 5)
  expectEvents(t, poll, events, [{ token, readiness: ['readable'] }])
}

/**
 * The two-socket smoke tests' start (mio's udp_socket.rs and
 * unix_datagram.rs): both registered for both interests as `tokens`, both
 * writable at once.
 */
export function registerBothWritable(t: ExecutionContext, poll: Poll, events: Events, sockets: [Source, Source], tokens: [Token, Token]): void {
  poll.registry.register(sockets[0], tokens[0], Interest.READABLE.add(Interest.WRITABLE))
  poll.registry.register(sockets[1], tokens[1], Interest.READABLE.add(Interest.WRITABLE))
  expectEvents(t, poll, events, [
    { token: tokens[0], readiness: ['writable'] },
    { token: tokens[1], readiness: ['writable'] },
  ])
}

/** Both sockets of {@link registerBothWritable} readable at once, after each sent the other a datagram. */
export function expectBothReadable(t: ExecutionContext, poll: Poll, events: Events, tokens: [Token, Token]): void {
  expectEvents(t, poll, events, [
    { token: tokens[0], readiness: ['readable'] },
    { token: tokens[1], readiness: ['readable'] },
  ])
}
