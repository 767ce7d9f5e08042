// Addresses, connected pairs and socket paths.
import type { ExecutionContext } from 'ava'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Events, Interest, Poll, TcpListener, TcpStream, Token, type ConnectOptions, type SocketAddress } from 'node-mio'
import { expectEvents } from './events.ts'

export const ANY_LOCAL = '127.0.0.1:0'
export const ANY_LOCAL_V6 = '[::1]:0'

/**
 * The TTL a new IPv4 socket gets: Linux's `net.ipv4.ip_default_ttl`,
 * Windows' 128, the BSDs' and macOS's 64.
 */
export function defaultTtl(): number {
  const linux = '/proc/sys/net/ipv4/ip_default_ttl'
  if (existsSync(linux)) return Number(readFileSync(linux, 'utf8').trim())
  return process.platform === 'win32' ? 128 : 64
}

/** `ip:port` text of an address, for connecting to it. */
export function addrText(addr: { address: string; port: number }): string {
  return addr.address.includes(':') ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`
}

/** Whether `addr` is a loopback address (mio's `ip().is_loopback()`). */
export function isLoopback(addr: { address: string }): boolean {
  return addr.address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(addr.address)
}

/**
 * std's blocking `accept()` for a node-mio listener that is not registered:
 * waits for a connection on a private Poll (up to 10 s), then deregisters.
 */
export function acceptBlocking(listener: TcpListener): [TcpStream, SocketAddress] {
  using poll = new Poll()
  const events = new Events(4)
  poll.registry.register(listener, 0, Interest.READABLE)
  try {
    for (let round = 0; round < 20; round++) {
      const accepted = listener.accept()
      if (accepted !== null) return accepted
      poll.poll(events, 500)
    }
    throw new Error('acceptBlocking: no connection arrived')
  } finally {
    poll.registry.deregister(listener)
  }
}

/**
 * A connected pair on loopback, as std's blocking `TcpStream::connect` plus
 * `TcpListener::accept` give it: `[client, accepted]`, both unregistered.
 */
export function connectedPair(): [TcpStream, TcpStream] {
  using listener = TcpListener.bind(ANY_LOCAL)
  const client = TcpStream.connect(addrText(listener.localAddr()))
  try {
    return [client, acceptBlocking(listener)[0]]
  } catch (error) {
    client.close()
    throw error
  }
}

/** A fresh directory for socket paths and FIFOs, removed when the test ends (mio's `temp_file`). */
export function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'node-mio-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * A connected `[client, accepted]` pair on `listener`, as a poll loop sees
 * it: the listener readable (token 0) and the client writable (token 1)
 * without error; both unregistered afterwards.
 */
export function polledPair(
  t: ExecutionContext,
  poll: Poll,
  events: Events,
  listener: TcpListener,
  options?: ConnectOptions,
): [TcpStream, TcpStream] {
  const client = TcpStream.connect(listener.localAddr(), options)
  poll.registry.register(listener, Token(0), Interest.READABLE)
  poll.registry.register(client, Token(1), Interest.WRITABLE)
  expectEvents(t, poll, events, [
    { token: Token(0), readiness: ['readable'] },
    { token: Token(1), readiness: ['writable'] },
  ])
  t.is(client.takeError(), null)
  const accepted = listener.accept()
  if (accepted === null) throw new Error('accept returned null after a readable event')
  poll.registry.deregister(listener)
  poll.registry.deregister(client)
  return [client, accepted[0]]
}
