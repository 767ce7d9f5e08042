// The examples run as real programs: each is spawned with `--import tsx` (the
// TCP and UDP servers on port 0), and this process talks to it with node:net
// and node:dgram. The servers block their own main thread in `poll()`; this
// one is free, so the clients here are plain async Node.js code.
import test from 'ava'
import dgram from 'node:dgram'
import { once } from 'node:events'
import net from 'node:net'
import { guard } from './support/async.ts'
import { Example } from './support/processes.ts'

const GREETING = 'Hello world!\n'

/** Everything `socket` receives, as text, from now on. */
function collect(socket: net.Socket): { text: string } {
  const received = { text: '' }
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    received.text += chunk
  })
  return received
}

/** Waits until `received` holds `length` characters. */
async function receive(socket: net.Socket, received: { text: string }, length: number): Promise<string> {
  while (received.text.length < length) {
    await guard(
      Promise.race([once(socket, 'data'), once(socket, 'close')]),
      `${length} characters (got ${JSON.stringify(received.text)})`,
    )
    if (socket.destroyed && received.text.length < length) break
  }
  return received.text
}

async function connect(port: number, host: string): Promise<net.Socket> {
  const socket = net.connect({ port, host })
  await guard(once(socket, 'connect'), 'the TCP connection')
  return socket
}

test('tcp-server: greets each connection, prints what it receives, notices the close', async (t) => {
  const server = new Example(t, 'tcp-server.ts', { env: { PORT: '0' } })
  const { host, port } = await server.listening()
  t.is(host, '127.0.0.1', 'the default address, with the port from PORT')
  t.not(port, 0, 'the printed port is the one the OS picked')

  // Two connections at once: each gets its own token and greeting.
  const first = await connect(port, host)
  const second = await connect(port, host)
  t.teardown(() => {
    first.destroy()
    second.destroy()
  })
  const fromFirst = collect(first)
  const fromSecond = collect(second)
  // The greeting is exactly one line; nothing else comes before we speak.
  t.is(await receive(first, fromFirst, GREETING.length), GREETING)
  t.is(await receive(second, fromSecond, GREETING.length), GREETING)
  await server.waitFor(new RegExp(`^Accepted connection from: 127\\.0\\.0\\.1:${first.localPort}$`, 'm'))
  await server.waitFor(new RegExp(`^Accepted connection from: 127\\.0\\.0\\.1:${second.localPort}$`, 'm'))

  // What we send is printed (trimmed), per connection.
  first.write('ping from node:net\n')
  await server.waitFor(/^Received data: ping from node:net$/m)
  second.write('hello, mio\r\n')
  await server.waitFor(/^Received data: hello, mio$/m)

  // A message longer than the first 4096-byte read buffer comes out whole
  // (over one or several readable events).
  const long = 'x'.repeat(10_000)
  first.write(long + '\n')
  const printedXs = (): string => server.lines(/^Received data: x+$/).map((line) => line.slice('Received data: '.length)).join('')
  await server.waitUntil(() => printedXs().length >= long.length, 'print the long message')
  t.is(printedXs(), long)

  // Closing our side ends the connection there.
  const closed = (): number => server.lines(/^Connection closed$/).length
  t.is(closed(), 0)
  first.end()
  await server.waitUntil(() => closed() === 1, 'notice the first close')
  // The other connection is still served.
  second.write('still here\n')
  await server.waitFor(/^Received data: still here$/m)
  second.end()
  await server.waitUntil(() => closed() === 2, 'notice the second close')
  // We got the greeting and nothing else.
  t.is(fromFirst.text, GREETING)
  t.is(fromSecond.text, GREETING)

  t.is(server.child.exitCode, null, 'the server keeps running')
  t.is(server.stderr, '', 'nothing on stderr')
})

test('tcp-server: takes the address from the command line (IPv6)', async (t) => {
  const server = new Example(t, 'tcp-server.ts', { args: ['[::1]:0'] })
  const { host, port } = await server.listening()
  t.is(host, '::1')
  const client = await connect(port, host)
  t.teardown(() => client.destroy())
  t.is(await receive(client, collect(client), GREETING.length), GREETING)
  client.end()
  await server.waitFor(/^Connection closed$/m)
})

test('udp-server: echoes every datagram to its sender', async (t) => {
  const server = new Example(t, 'udp-server.ts', { env: { PORT: '0' } })
  const { host, port } = await server.listening()
  t.is(host, '127.0.0.1')

  const client = dgram.createSocket('udp4')
  t.teardown(() => client.close())
  client.bind(0, '127.0.0.1')
  await guard(once(client, 'listening'), 'the client socket')

  const exchange = async (payload: Buffer): Promise<[Buffer, dgram.RemoteInfo]> => {
    const reply = once(client, 'message') as Promise<[Buffer, dgram.RemoteInfo]>
    client.send(payload, port, host)
    return guard(reply, `the echo of ${payload.length} bytes`)
  }

  const [message, rinfo] = await exchange(Buffer.from('hello, mio'))
  t.is(message.toString(), 'hello, mio')
  t.is(rinfo.port, port, 'the echo comes from the server')
  t.is(rinfo.address, host)

  // A large datagram comes back whole (the server reads into 64 KiB).
  const big = Buffer.alloc(60_000, 'y')
  const [echo] = await exchange(big)
  t.is(echo.length, big.length)
  t.true(echo.equals(big))

  // An empty datagram is a datagram too.
  const [empty] = await exchange(Buffer.alloc(0))
  t.is(empty.length, 0)

  // A second client gets its own echoes.
  const other = dgram.createSocket('udp4')
  t.teardown(() => other.close())
  other.bind(0, '127.0.0.1')
  await guard(once(other, 'listening'), 'the second client socket')
  const otherReply = once(other, 'message') as Promise<[Buffer, dgram.RemoteInfo]>
  other.send('from the other one', port, host)
  const [otherMessage] = await guard(otherReply, 'the echo to the second client')
  t.is(otherMessage.toString(), 'from the other one')

  t.is(server.child.exitCode, null, 'the server keeps running')
  t.is(server.stderr, '', 'nothing on stderr')
})

test('readme: runs to completion and prints what it did', async (t) => {
  const example = new Example(t, 'readme.ts')
  const { code, signal } = await example.exit()
  t.is(signal, null)
  t.is(code, 0, `exit code 0\nstdout:\n${example.stdout}\nstderr:\n${example.stderr}`)
  const port = example.stdout.match(/^server listening on 127\.0\.0\.1:(\d+)$/m)?.[1]
  t.truthy(port, 'prints the listening address')
  t.regex(example.stdout, new RegExp(`^client connected to ${port}: writable$`, 'm'), 'the client connected to that port')
  t.regex(example.stdout, /^done: server and client ran on one Poll$/m)
  t.is(example.stderr, '')
})
