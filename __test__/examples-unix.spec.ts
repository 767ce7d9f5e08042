// The Unix examples run as child processes (`node --import tsx`) and
// must do what they say: the socket-activated TCP server greets
// connections on a listening socket it inherits as descriptor 3, the Unix
// echo server echoes (also past a full socket), and the child-process example
// streams lines through `cat` and back. Unix only.
//
// The inherited listener is a node-mio TcpListener's descriptor (`fd`); the
// child gets a dup2()ed copy as fd 3. A net.Server cannot go in spawn's
// `stdio` in Node 20 (spawn calls `stdio[3].pause()`, which a Server lacks),
// and its descriptor is reachable only through the private `_handle.fd`,
// which Deno's node:net does not have.
import test, { type ExecutionContext } from 'ava'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, lstatSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { TcpListener, UnixListener } from 'node-mio'
import { Example } from './support/processes.ts'
import { tempDir } from './support/sockets.ts'

const utest = process.platform === 'win32' ? test.skip : test

/** A listening TcpListener on loopback, its port and its descriptor number. */
function listeningServer(t: ExecutionContext): { listener: TcpListener; port: number; fd: number } {
  const listener = TcpListener.bind('127.0.0.1:0')
  t.teardown(() => listener.close())
  return { listener, port: listener.localAddr().port, fd: listener.fd }
}

/** Connects, collects everything until the server ends the stream. */
function collect(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)))
    socket.once('error', reject)
  })
}


// ---- tcp-listenfd-server.ts ---------------------------------------------------------

utest('tcp-listenfd-server: takes the listener from fd 3 (LISTEN_FDS=1), greets each connection, prints what it gets', async (t) => {
  const { listener, port, fd } = listeningServer(t)
  const example = new Example(t, 'tcp-listenfd-server.ts', { env: { LISTEN_FDS: '1', MAX_CONNECTIONS: '2' }, fd3: fd })
  // The example has its own copy: from now on only it listens.
  listener.close()
  await example.waitFor(/You'll see our welcome message/)
  t.true(example.stdout.startsWith('Using preopened socket FD 3\n'))
  t.true(example.stdout.includes(` $ nc 127.0.0.1 ${port}\n`))

  for (const n of [1, 2]) {
    const socket = net.connect(port, '127.0.0.1')
    t.teardown(() => socket.destroy())
    await once(socket, 'connect')
    const [greeting] = (await once(socket, 'data')) as [Buffer]
    t.is(greeting.toString(), 'Hello world!\n')
    await example.waitFor(new RegExp(`Accepted connection from: 127\\.0\\.0\\.1:${socket.localPort}\\n`))
    socket.end(`hi from client ${n}\n`)
    await once(socket, 'close')
    await example.waitFor(new RegExp(`Received data: hi from client ${n}\\nConnection closed\\n`))
  }
  t.is((await example.exit()).code, 0)
  t.regex(example.stdout, /Served 2 connection\(s\), exiting\n$/)
  t.is(example.stderr, '')
})

utest('tcp-listenfd-server: without LISTEN_FDS it exits 1 and says why', async (t) => {
  const example = new Example(t, 'tcp-listenfd-server.ts')
  t.is((await example.exit()).code, 1)
  t.is(example.stdout, '')
  t.regex(example.stderr, /LISTEN_FDS environment variable unset/)
})

utest('tcp-listenfd-server: with LISTEN_FDS but no TCP socket as fd 3 it exits 1 and says why', async (t) => {
  // Node's 'pipe' is one end of a Unix socketpair: a socket, of the wrong family.
  const example = new Example(t, 'tcp-listenfd-server.ts', { env: { LISTEN_FDS: '1' }, fd3: 'pipe' })
  t.is((await example.exit()).code, 1)
  t.regex(example.stderr, /descriptor 3 is not a listening TCP socket: descriptor 3 is not TcpListener: wrong address family/)
})

// ---- unix-echo-server.ts ----------------------------------------------------------

utest('unix-echo-server: echoes, keeps pending output past a full socket, serves others meanwhile, exits after MAX_CONNECTIONS', async (t) => {
  const path = join(tempDir(t), 'echo.sock')
  const example = new Example(t, 'unix-echo-server.ts', { args: [path], env: { MAX_CONNECTIONS: '2' } })
  await example.waitFor(new RegExp(`unix echo server listening on ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`))
  t.true(lstatSync(path).isSocket())

  // A client that sends 4 MiB without reading: the server's output backs up.
  const big = randomBytes(4 << 20)
  const slow = net.connect(path)
  t.teardown(() => slow.destroy())
  slow.pause()
  const slowEcho = collect(slow)
  slow.end(big)
  await example.waitFor(/client 1: output backed up \(\d+ bytes pending\), waiting for writable\n/)

  // The server still serves another client while the first is stuck.
  const quick = net.connect(path)
  t.teardown(() => quick.destroy())
  const quickEcho = collect(quick)
  quick.end('hello, echo\n')
  t.is((await quickEcho).toString(), 'hello, echo\n')
  await example.waitFor(/client 2 done: echoed 12 bytes, waited for writable 0 times\n/)

  // The first client reads: everything comes back, in order.
  slow.resume()
  const echoed = await slowEcho
  t.is(echoed.length, big.length)
  t.true(echoed.equals(big), 'the echo differs from what was sent')
  const [, waits] = await example.waitFor(/client 1 done: echoed 4194304 bytes, waited for writable (\d+) times\n/)
  t.true(Number(waits) >= 1)

  t.is((await example.exit()).code, 0)
  t.false(existsSync(path), 'the server removes its socket file')
  t.is(example.stderr, '')
})

utest('unix-echo-server: takes its path from UNIX_ECHO_PATH and replaces a stale socket file', async (t) => {
  const path = join(tempDir(t), 'stale.sock')
  // A socket file left behind by a server that is gone.
  UnixListener.bind(path).close()
  t.true(lstatSync(path).isSocket())
  const example = new Example(t, 'unix-echo-server.ts', { env: { UNIX_ECHO_PATH: path, MAX_CONNECTIONS: '1' } })
  await example.waitFor(/listening on/)
  const socket = net.connect(path)
  t.teardown(() => socket.destroy())
  const echo = collect(socket)
  socket.end('once\n')
  t.is((await echo).toString(), 'once\n')
  t.is((await example.exit()).code, 0)
  t.regex(example.stdout, /served 1 client\(s\), removed /)
})

// ---- child-process.ts ---------------------------------------------------------------

utest('child-process: streams lines through cat, waits for writable when the pipe is full, prints them back, exits 0', async (t) => {
  const lines = 20_000 // ~800 KB: more than both pipes and cat's buffer hold
  const example = new Example(t, 'child-process.ts', { env: { LINES: String(lines) } })
  t.is((await example.exit()).code, 0)
  const out = example.stdout.split('\n')
  t.regex(out[0] ?? '', /^spawned `cat` \(pid \d+\); sending 20000 lines, \d+ bytes$/)
  const echoed = out.filter((line) => line.startsWith('< '))
  t.is(echoed.length, lines)
  const wrong = echoed.findIndex((line, i) => line !== `< line ${i + 1} of ${lines}: the quick brown fox`)
  t.is(wrong, -1, `line ${wrong + 1} came back as ${JSON.stringify(echoed[wrong])}`)
  const sent = /sent everything in (\d+) writes, waited for writable (\d+) times/.exec(example.stdout)
  t.not(sent, null)
  t.true(Number(sent?.[2]) >= 1, 'the writer found the pipe full at least once')
  t.regex(example.stdout, /received 20000 of 20000 lines back; the child's stdout closed; `cat` exited with code 0\n$/)
  t.is(example.stderr, '')
})

utest('child-process: the line count comes from argv', async (t) => {
  const example = new Example(t, 'child-process.ts', { args: ['3'] })
  t.is((await example.exit()).code, 0)
  const echoed = example.stdout.split('\n').filter((line) => line.startsWith('< '))
  t.deepEqual(echoed, [
    '< line 1 of 3: the quick brown fox',
    '< line 2 of 3: the quick brown fox',
    '< line 3 of 3: the quick brown fox',
  ])
})

utest('multiprocess-handoff: a supervisor hands each accepted connection to a worker process over a Unix socket; every client gets its echo', async (t) => {
  const WORKERS = 2
  const CLIENTS = 4
  const server = new Example(t, 'multiprocess-handoff.ts', { env: { PORT: '0', WORKERS: String(WORKERS), MAX_CONNECTIONS: String(CLIENTS) } })
  const { host, port } = await server.listening()
  const payloads = Array.from({ length: CLIENTS }, (_, k) => randomBytes(50_000 + k))
  const echoes: Array<Promise<Buffer>> = []
  const ports: number[] = []
  for (let k = 0; k < CLIENTS; k++) {
    const socket = net.connect(port, host)
    await once(socket, 'connect')
    ports.push(socket.localPort!)
    await server.waitFor(new RegExp(`^worker \\d+ \\(pid \\d+\\): serving 127\\.0\\.0\\.1:${socket.localPort} \\(fd \\d+\\)$`, 'm'))
    echoes.push(collect(socket))
    socket.end(payloads[k]!)
  }
  for (const [k, echo] of echoes.entries()) t.true((await echo).equals(payloads[k]!), `client ${k}: byte-exact echo`)
  const { code, signal } = await server.exit()
  t.is(signal, null)
  t.is(code, 0, server.stderr)
  t.is(server.stderr, '')
  // Round-robin over separate processes: client k on worker k % WORKERS, each worker its own pid.
  const pids = new Set<string>()
  ports.forEach((localPort, k) => {
    const [line] = server.lines(new RegExp(`^worker ${k % WORKERS} \\(pid (\\d+)\\): serving 127\\.0\\.0\\.1:${localPort} `))
    t.truthy(line, `client ${k} on worker ${k % WORKERS}`)
    pids.add(line!.match(/pid (\d+)/)![1]!)
  })
  t.is(pids.size, WORKERS, 'one process per worker')
  t.false(pids.has(String(server.child.pid)), 'not the supervisor')
  t.regex(server.stdout, new RegExp(`^Done: ${CLIENTS} connections; per worker: 2, 2; served by 2 of 2 worker processes$`, 'm'))
})
