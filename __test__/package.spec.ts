// The package as users load it: `require` and `import` give one module
// instance, with type declarations for each, and never the raw binding.
import test from 'ava'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const root = join(import.meta.dirname ?? __dirname, '..')
const require = createRequire(join(root, 'package.json'))

const PUBLIC = [
  'Event', 'Events', 'Interest', 'Poll', 'Registry', 'Token', 'Waker', 'SharedWaker', 'Watch',
  'TcpListener', 'TcpStream', 'UdpSocket', 'UnixListener', 'UnixStream', 'UnixDatagram',
  'pipe', 'PipeSender', 'PipeReceiver', 'SourceFd', 'NamedPipe', 'Source', 'Socket', 'IpSocket', 'DatagramBatch',
]

test('require and import load the same module, with every public export', async (t) => {
  const cjs = require('node-mio')
  const esm = await import('node-mio')
  for (const name of PUBLIC) {
    t.is(typeof cjs[name], 'function', `require: ${name}`)
    t.is((esm as Record<string, unknown>)[name], cjs[name], `import and require share ${name}`)
  }
})

test('the exports map points each condition at code and types that exist', (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const entry = pkg.exports['.']
  for (const condition of ['import', 'require']) {
    for (const file of [entry[condition].types, entry[condition].default]) {
      t.true(existsSync(join(root, file)), `${condition}: ${file}`)
    }
  }
  t.true(pkg.files.includes('dist'))
})

test('the drop-in subpaths: node-mio/epoll and node-mio/unix-dgram, one instance for require and import, code and types that exist', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  for (const [subpath, name] of [['./epoll', 'Epoll'], ['./unix-dgram', 'createSocket']] as const) {
    const entry = pkg.exports[subpath]
    for (const condition of ['import', 'require']) {
      for (const file of [entry[condition].types, entry[condition].default]) t.true(existsSync(join(root, file)), `${subpath} ${condition}: ${file}`)
    }
    const specifier = `node-mio${subpath.slice(1)}`
    const cjs = require(specifier)
    const esm = (await import(specifier)) as Record<string, unknown>
    t.is(typeof cjs[name], 'function', `${specifier}: ${name}`)
    t.is(esm[name], cjs[name], `${specifier}: import and require share ${name}`)
  }
})

test('the raw binding stays internal: no handle functions on the public module', (t) => {
  const cjs = require('node-mio')
  for (const raw of ['pollNew', 'fastCalls', 'sourceClose', 'streamWritev']) t.false(raw in cjs, raw)
})

test('platform-only types say where they exist', (t) => {
  const mio = require('node-mio')
  if (process.platform !== 'win32') {
    for (const call of [() => mio.NamedPipe.create('\\\\.\\pipe\\x'), () => mio.NamedPipe.open('\\\\.\\pipe\\x')]) {
      const error = t.throws(call, { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' })
      t.regex(error!.message, /NamedPipe is available on Windows/)
    }
  } else {
    // Every entry point of the Unix-only specs (unix-*, source-fd,
    // fd-handoff), whose tests skip on Windows because of exactly this.
    const tcp = mio.TcpListener.bind('127.0.0.1:0')
    const calls: Record<string, () => unknown> = {
      'UnixStream.pair': () => mio.UnixStream.pair(),
      'UnixStream.connect': () => mio.UnixStream.connect('x.sock'),
      'UnixStream.fromFd': () => mio.UnixStream.fromFd(0),
      'UnixListener.bind': () => mio.UnixListener.bind('x.sock'),
      'UnixListener.fromFd': () => mio.UnixListener.fromFd(0),
      'UnixDatagram.bind': () => mio.UnixDatagram.bind('x.sock'),
      'UnixDatagram.unbound': () => mio.UnixDatagram.unbound(),
      'UnixDatagram.pair': () => mio.UnixDatagram.pair(),
      'UnixDatagram.fromFd': () => mio.UnixDatagram.fromFd(0),
      pipe: () => mio.pipe(),
      'PipeSender.fromFd': () => mio.PipeSender.fromFd(0),
      'PipeReceiver.fromFd': () => mio.PipeReceiver.fromFd(0),
      'new SourceFd': () => new mio.SourceFd(0),
      'TcpListener.fromFd': () => mio.TcpListener.fromFd(0),
      'TcpStream.fromFd': () => mio.TcpStream.fromFd(0),
      'UdpSocket.fromFd': () => mio.UdpSocket.fromFd(0),
      'fd of a live socket': () => tcp.fd,
      'detachFd of a live socket': () => tcp.detachFd(),
      'reusePort option': () => mio.TcpListener.bind('127.0.0.1:0', { reusePort: true }),
      'reusePort() of a live socket': () => tcp.reusePort(),
      'setReusePort() of a live socket': () => tcp.setReusePort(true),
    }
    try {
      for (const [name, call] of Object.entries(calls)) t.throws(call, { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' }, name)
      t.false(tcp.closed, 'the refused members left the socket alone')
    } finally {
      tcp.close()
    }
  }
})
