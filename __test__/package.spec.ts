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
    for (const call of [() => mio.UnixStream.pair(), () => mio.pipe(), () => new mio.SourceFd(0)]) {
      t.throws(call, { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' })
    }
  }
})
