// A Unix domain socket echo server on one Poll: every byte a client sends
// comes back to it. It shows the edge-triggered rules:
//
// - on a readable event, read until `null` (drained), or the event is lost;
// - a write may take only part of the buffer (or none: `null`). Keep the rest
//   as pending output, stop reading that client (backpressure) and reregister
//   it for WRITABLE; on the writable event flush, then go back to READABLE and
//   read what waited meanwhile;
// - `read` returning 0 is the end of the client's stream: close once the
//   pending output is flushed.
//
//   node --import tsx examples/unix-echo-server.ts /tmp/echo.sock
//   # elsewhere: nc -U /tmp/echo.sock
//
// The path comes from argv[2], else UNIX_ECHO_PATH, else a name in the
// temporary directory. Set MAX_CONNECTIONS=n to make it exit by itself once
// n clients have gone; it removes its socket file when it does.
import { existsSync, lstatSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Events, Interest, Poll, Token, UnixListener, type UnixStream } from 'node-mio'

const SERVER = Token(0)

const path = process.argv[2] ?? process.env.UNIX_ECHO_PATH ?? join(tmpdir(), `node-mio-echo-${process.pid}.sock`)
const maxConnections = process.env.MAX_CONNECTIONS === undefined ? Infinity : Number(process.env.MAX_CONNECTIONS)

// A socket file left by an earlier run that was killed would make bind fail
// with EADDRINUSE; remove it, but never anything that is not a socket.
if (existsSync(path) && lstatSync(path).isSocket()) unlinkSync(path)

interface Client {
  stream: UnixStream
  token: Token
  /** Output the socket did not take yet, oldest first. */
  pending: Buffer[]
  /** The client finished sending: close once `pending` is flushed. */
  eof: boolean
  bytes: number
  /** How often the output backed up (a short write or a full socket). */
  waits: number
}

const poll = new Poll()
const events = new Events(256)
const listener = UnixListener.bind(path)
poll.registry.register(listener, SERVER, Interest.READABLE)
console.log(`unix echo server listening on ${path}`)

const clients = new Map<Token, Client>()
const buf = Buffer.alloc(64 * 1024)
let nextToken = SERVER + 1
let served = 0

/** Writes `pending` out until it is empty (true) or the socket is full (false). */
function flush(client: Client): boolean {
  for (let chunk = client.pending[0]; chunk !== undefined; chunk = client.pending[0]) {
    const n = client.stream.write(chunk)
    if (n === null) return false // full: wait for writable
    if (n < chunk.length) {
      client.pending[0] = chunk.subarray(n) // short write: keep the rest
      return false
    }
    client.pending.shift()
  }
  return true
}

/** Reads until drained (or until output backs up); returns true when the client is done. */
function onReadable(client: Client): boolean {
  for (;;) {
    const n = client.stream.read(buf)
    if (n === null) return false // drained: wait for the next readable event
    if (n === 0) {
      client.eof = true
      return client.pending.length === 0
    }
    client.bytes += n
    // Copy: `buf` is reused by the next read.
    client.pending.push(Buffer.from(buf.subarray(0, n)))
    if (!flush(client)) {
      // The client does not read as fast as it writes: stop reading it until
      // its output is flushed, and wait for writable.
      if (client.waits++ === 0) {
        const pending = client.pending.reduce((sum, chunk) => sum + chunk.length, 0)
        console.log(`client ${client.token}: output backed up (${pending} bytes pending), waiting for writable`)
      }
      poll.registry.reregister(client.stream, client.token, Interest.WRITABLE)
      return false
    }
  }
}

/** Flushes; back to reading once flushed. Returns true when the client is done. */
function onWritable(client: Client): boolean {
  if (!flush(client)) return false // still full: the next writable event comes
  if (client.eof) return true
  poll.registry.reregister(client.stream, client.token, Interest.READABLE)
  // Data that arrived while we were not reading has no event of its own yet.
  return onReadable(client)
}

while (served < maxConnections) {
  poll.poll(events, null)
  for (const event of events) {
    if (event.token === SERVER) {
      for (let accepted; (accepted = listener.accept()) !== null; ) {
        const token = Token(nextToken++)
        const client: Client = { stream: accepted[0], token, pending: [], eof: false, bytes: 0, waits: 0 }
        clients.set(token, client)
        poll.registry.register(client.stream, token, Interest.READABLE)
        console.log(`client ${token} connected`)
      }
      continue
    }
    const client = clients.get(event.token)
    if (client === undefined) continue // sporadic event of a closed client
    let done = false
    try {
      if (event.isWritable()) done = onWritable(client)
      if (!done && event.isReadable()) done = onReadable(client)
    } catch (error) {
      console.log(`client ${client.token}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
      done = true
    }
    if (done) {
      client.stream.close()
      clients.delete(client.token)
      served++
      console.log(`client ${client.token} done: echoed ${client.bytes} bytes, waited for writable ${client.waits} times`)
    }
  }
}

for (const client of clients.values()) client.stream.close()
listener.close()
poll.close()
unlinkSync(path)
console.log(`served ${served} client(s), removed ${path}`)
