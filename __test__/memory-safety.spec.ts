// Memory safety: what a JavaScript program can do to the binding's memory.
//
// One test (or a few) per class of defect the audit found, each written
// from the finding, not from the fix: a program that uses only what any code
// in the process can reach (getters, Proxies, replaced globals, the
// inspector, the raw binding through the module cache) must get an error or
// a correct result, never a crash, an abort, a write into freed memory, or a
// closed object coming back to life. Each scenario runs in a child process,
// so a crash is reported as the signal it died of, not as a lost ava worker.
import test from 'ava'
import { type ChildResult, runNode } from './support/processes.ts'
import { runtime, underQemu } from './support/platform.ts'

const unix = process.platform !== 'win32'

/** Code every child runs first: node-mio, the raw binding, gc and helpers. */
const PRELUDE = `
const v8 = require('node:v8')
const vm = require('node:vm')
v8.setFlagsFromString('--expose-gc')
// Bun has no --expose-gc; its own full collection is Bun.gc(true).
const gc = globalThis.Bun ? () => Bun.gc(true) : vm.runInNewContext('gc')
const mio = require('node-mio')
const raw = require('./index.js')
const fast = raw.fastCalls()
const { handleOf } = require(require.resolve('node-mio').replace(/index[.]js$/, 'source.js'))
const transfer = (buffer) => structuredClone(buffer, { transfer: [buffer] })
const results = []
const report = (name, value) => results.push(name + '=' + value)
const codeOf = (fn) => { try { return 'ok:' + fn() } catch (error) { return (error && error.code) || String(error) } }
process.on('exit', () => console.log(results.join('\\n')))
/** A connected TCP pair, drained of its connect events. */
function tcpPair() {
  const listener = mio.TcpListener.bind('127.0.0.1:0')
  const client = mio.TcpStream.connect(listener.localAddr())
  let server
  const deadline = Date.now() + 10000
  while (!(server = listener.accept()) && Date.now() < deadline) {}
  listener.close()
  return { client, server: server[0] }
}
/** Reads everything the stream has now (after a short settle). */
function drain(stream) {
  const chunks = []
  const buf = Buffer.alloc(65536)
  const deadline = Date.now() + 200
  while (Date.now() < deadline) {
    const n = stream.read(buf)
    if (n === null) continue
    if (n === 0) break
    chunks.push(Buffer.from(buf.subarray(0, n)))
  }
  return Buffer.concat(chunks)
}
/** Canaries: fresh buffers of \`size\` filled with 0, allocated where freed memory is reused. */
function canaries(size, count = 64) {
  const list = []
  for (let i = 0; i < count; i++) list.push(Buffer.allocUnsafe(size).fill(0))
  return list
}
const clean = (list) => list.every((b) => b.every((x) => x === 0))
`

// How long a child may take: one loops 2^21 times (seconds natively; qemu's
// emulation is one to two orders of magnitude slower).
const CHILD_PATIENCE = underQemu ? 600_000 : 60_000

async function child(code: string): Promise<ChildResult & { lines: Record<string, string> }> {
  const result = await runNode(PRELUDE + code, { patience: CHILD_PATIENCE })
  const lines: Record<string, string> = {}
  for (const line of result.stdout.split('\n')) {
    const at = line.indexOf('=')
    if (at > 0) lines[line.slice(0, at)] = line.slice(at + 1)
  }
  return { ...result, lines }
}

/**
 * The child ended normally with 0 and, for each name in `reports` (in order),
 * its `report(name, value)` line said that value: a `[value, message]` pair
 * gives the assertion its message (otherwise the message is the name).
 */
function survived(t: import('ava').ExecutionContext, result: ChildResult & { lines: Record<string, string> }, reports: Record<string, string | [string, string]> = {}): void {
  t.is(result.signal, null, `the process died of ${result.signal}\n${result.stderr}`)
  t.is(result.code, 0, `exit code ${result.code}\n${result.stderr}`)
  for (const [name, expected] of Object.entries(reports)) {
    const [value, message] = typeof expected === 'string' ? [expected, undefined] : expected
    t.is(result.lines[name], value, message ?? `report ${name}`)
  }
}

// ---- 1. Pointers into buffers that user code frees while the binding reads its arguments

test('readv: an index getter that transfers an earlier buffer and collects it cannot make readv write freed memory', async (t) => {
  const result = await child(`
    const { client, server } = tcpPair()
    client.write(Buffer.alloc(4096, 0x3c))
    let guards = []
    for (const via of ['wrapper', 'raw']) {
      const a = new Uint8Array(4096)
      const b = new Uint8Array(16)
      const bufs = [a]
      Object.defineProperty(bufs, 1, { enumerable: true, get() {
        transfer(a.buffer); gc(); guards = canaries(4096); return b
      } })
      const n = via === 'wrapper' ? codeOf(() => server.readv(bufs)) : codeOf(() => raw.streamReadv(handleOf(server), bufs))
      report(via + '.result', n)
      report(via + '.canaries', clean(guards))
      report(via + '.b', b.every((x) => x === 0x3c || x === 0))
    }
    client.close(); server.close()
  `)
  survived(t, result)
  for (const via of ['wrapper', 'raw']) {
    t.is(result.lines[`${via}.canaries`], 'true', `${via}: no received byte landed in memory allocated after the transfer`)
    t.is(result.lines[`${via}.b`], 'true')
    // The detached buffer has no memory: the read goes into `b` only.
    t.regex(result.lines[`${via}.result`] ?? '', /^ok:(16|\d)$|^ok:null$/, `${via}: at most b's 16 bytes`)
  }
})

test('readv through a Proxy whose get trap transfers a buffer: an error or a read into live buffers only', async (t) => {
  const result = await child(`
    const { client, server } = tcpPair()
    client.write(Buffer.alloc(1024, 0x3c))
    const a = new Uint8Array(1024)
    const b = new Uint8Array(8)
    let guards = []
    const bufs = new Proxy([a, b], { get(target, key, receiver) {
      if (key === '1') { transfer(a.buffer); gc(); guards = canaries(1024) }
      return Reflect.get(target, key, receiver)
    } })
    report('wrapper', codeOf(() => server.readv(bufs)))
    report('wrapper.canaries', clean(guards))
    report('raw', codeOf(() => raw.streamReadv(handleOf(server), bufs)))
    client.close(); server.close()
  `)
  survived(t, result)
  t.is(result.lines['wrapper.canaries'], 'true')
  t.regex(result.lines.wrapper ?? '', /^ok:(\d+|null)$/)
  // The raw binding takes only real arrays.
  t.is(result.lines.raw, 'ERR_INVALID_ARG_TYPE')
})

test('writev: a getter that frees an earlier buffer cannot make writev send freed memory', async (t) => {
  const result = await child(`
    const { client, server } = tcpPair()
    for (const via of ['wrapper', 'raw']) {
      const a = new Uint8Array(8192).fill(0x5a)
      const b = new Uint8Array(64).fill(0x5a)
      const bufs = [a]
      Object.defineProperty(bufs, 1, { enumerable: true, get() {
        transfer(a.buffer); gc()
        for (const c of canaries(8192)) c.fill(0x77)
        return b
      } })
      report(via + '.result', via === 'wrapper' ? codeOf(() => client.writev(bufs)) : codeOf(() => raw.streamWritev(handleOf(client), bufs)))
    }
    const got = drain(server)
    report('received', got.length)
    report('clean', got.every((x) => x === 0x5a))
    client.close(); server.close()
  `)
  survived(t, result, {
    clean: ['true', 'every byte that arrived came from a live buffer'],
    'wrapper.result': 'ok:64',
    'raw.result': 'ok:64',
    received: '128',
  })
})

test('read, write, recvFrom, sendTo: a SharedArrayBuffer that another thread writes round-trips through the system calls', async (t) => {
  const result = await child(`
    const { Worker } = require('node:worker_threads')
    const shared = new SharedArrayBuffer(1 << 16)
    const view = new Uint8Array(shared)
    // Another thread writes the memory all along.
    const scribbler = new Worker('const { workerData } = require("node:worker_threads"); const v = new Uint8Array(workerData, 32768); const end = Date.now() + 1500; while (Date.now() < end) for (let i = 0; i < v.length; i++) v[i] = i', { eval: true, workerData: shared })
    const { client, server } = tcpPair()
    const out = view.subarray(0, 1024).fill(0x5a)
    report('write', codeOf(() => client.write(out)))
    const into = view.subarray(1024, 2048)
    let n = null
    const deadline = Date.now() + 5000
    while (n === null && Date.now() < deadline) n = server.read(into)
    report('read', n)
    report('same', into.subarray(0, n).every((x) => x === 0x5a))
    const udpA = mio.UdpSocket.bind('127.0.0.1:0'), udpB = mio.UdpSocket.bind('127.0.0.1:0')
    report('sendTo', codeOf(() => udpA.sendTo(view.subarray(0, 100), udpB.localAddr())))
    let from = null
    const until = Date.now() + 5000
    while (from === null && Date.now() < until) from = udpB.recvFrom(view.subarray(4096, 8192))
    report('recvFrom', from && from.size)
    report('events', codeOf(() => raw.eventsRegister(new Float64Array(new SharedArrayBuffer(64)))))
    client.close(); server.close(); udpA.close(); udpB.close()
    scribbler.terminate()
  `)
  survived(t, result, {
    write: 'ok:1024',
    read: '1024',
    same: 'true',
    sendTo: 'ok:100',
    recvFrom: '100',
    // The events storage is written by Rust itself: it must be this thread's alone.
    events: 'ERR_INVALID_ARG_TYPE',
  })
})

// ---- 2. The events storage

test('Events: a replaced global ArrayBuffer/Float64Array does not change the storage node-mio makes', async (t) => {
  const result = await child(`
    let made = 0
    const RealAB = ArrayBuffer
    globalThis.ArrayBuffer = class extends RealAB { constructor(n) { made++; super(n, { maxByteLength: n }) } }
    globalThis.Float64Array = class extends Float64Array { constructor(...a) { made++; super(...a) } }
    const poll = new mio.Poll()
    const events = new mio.Events(8)
    report('made', made)
    report('poll', codeOf(() => poll.poll(events, 0)))
    poll.close()
  `)
  survived(t, result)
  t.is(result.lines.made, '0', 'the wrapper uses the built-ins it captured when it loaded')
  t.is(result.lines.poll, 'ok:0')
})

test('Events: a storage shrunk or transferred through the raw binding is an error at the next poll, never a crash', async (t) => {
  const result = await child(`
    const poll = raw.pollNew()
    const waker = raw.wakerNew(raw.pollRegistry(poll), 1)
    // Resizable, then shrunk to nothing.
    const rab = new ArrayBuffer(8 * 64, { maxByteLength: 8 * 64 })
    const shrunk = raw.eventsRegister(new Float64Array(rab))
    raw.wakerWake(waker)
    rab.resize(0)
    report('shrunk', codeOf(() => fast.pollPoll(poll, shrunk, 0)))
    // Shrunk to one event: the poll fills what is there.
    rab.resize(16)
    report('one', codeOf(() => fast.pollPoll(poll, shrunk, 0)))
    // Transferred away and collected.
    const storage = new Float64Array(8 * 64)
    const moved = raw.eventsRegister(storage)
    const elsewhere = transfer(storage.buffer)
    gc()
    const guards = canaries(8 * 64 * 8)
    raw.wakerWake(waker)
    report('transferred', codeOf(() => fast.pollPoll(poll, moved, 0)))
    report('canaries', clean(guards))
    report('elsewhere', new Float64Array(elsewhere).every((x) => x === 0))
    report('unknown', codeOf(() => fast.pollPoll(poll, 12345, 0)))
    report('not-f64', codeOf(() => raw.eventsRegister(new Uint8Array(64))))
    report('empty', codeOf(() => raw.eventsRegister(new Float64Array(1))))
  `)
  survived(t, result, {
    shrunk: 'ERR_INVALID_ARG_VALUE',
    one: 'ok:1',
    transferred: 'ERR_INVALID_ARG_VALUE',
    canaries: 'true',
    elsewhere: ['true', 'the transferred memory was not written either'],
    unknown: ['ERR_MIO_INVALID_HANDLE', 'a number the binding never gave out'],
    'not-f64': 'ERR_INVALID_ARG_TYPE',
    empty: 'ERR_OUT_OF_RANGE',
  })
})

// The V8 inspector protocol reaches private fields; Bun's node:inspector
// answers no Runtime method ("-32601: 'Runtime.evaluate' wasn't found").
;(runtime === 'bun' ? test.skip : test)('Events: the private storage reached through the inspector and detached is an error at the next poll', async (t) => {
  const result = await child(`
    const inspector = require('node:inspector')
    const session = new inspector.Session()
    session.connect()
    // Node answers a same-thread session at once, Deno later: awaited.
    const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))))
    const poll = new mio.Poll()
    const events = new mio.Events(16)
    const waker = new mio.Waker(poll.registry, 7)
    globalThis.__events = events
    ;(async () => {
      const { result: { objectId } } = await post('Runtime.evaluate', { expression: '__events' })
      const { privateProperties } = await post('Runtime.getProperties', { objectId, ownProperties: true })
      const data = privateProperties.find((p) => p.name === '#data')
      report('found', !!data)
      await post('Runtime.callFunctionOn', { objectId: data.value.objectId, functionDeclaration: 'function () { structuredClone(this.buffer, { transfer: [this.buffer] }) }' })
      gc()
      waker.wake()
      report('poll', codeOf(() => poll.poll(events, 0)))
      report('again', codeOf(() => poll.poll(new mio.Events(4), 0)))
      session.disconnect()
      poll.close()
    })()
  `)
  survived(t, result, {
    found: 'true',
    poll: 'ERR_INVALID_ARG_VALUE',
    again: ['ok:1', 'the Poll itself is fine: another Events gets the wake'],
  })
})

// ---- 3. JavaScript that runs while an error is built

const SETTER_PROBES = `
  let calls = 0
  const reenter = () => {
    calls++
    // Calls back into node-mio from the setter: it must find nothing borrowed.
    try { poll.poll(events, 0) } catch {}
    try { poll.registry.register(extra, 99, mio.Interest.READABLE) } catch {}
    try { poll.registry.deregister(extra) } catch {}
  }
  for (const key of ['code', 'errno', 'syscall', 'address', 'port', 'path']) {
    Object.defineProperty(Error.prototype, key, { configurable: true, set: reenter, get() { return undefined } })
  }
`

test('errors: setters on Error.prototype never run, and re-entering from them cannot abort the process', async (t) => {
  const result = await child(`
    const poll = new mio.Poll()
    const events = new mio.Events(8)
    const extra = mio.UdpSocket.bind('127.0.0.1:0')
    ${SETTER_PROBES}
    const { client, server } = tcpPair()
    const closed = mio.TcpStream.connect(client.localAddr()); closed.close()
    const raw_ = handleOf
    // A read on a closed stream, and on a handle of the wrong kind (raw binding).
    report('closed-read', codeOf(() => fast.streamRead(0, Buffer.alloc(4))))
    report('wrong-kind', codeOf(() => fast.streamRead(raw_(extra), Buffer.alloc(4))))
    // Registering twice.
    poll.registry.register(client, 1, mio.Interest.READABLE)
    let e
    try { poll.registry.register(client, 1, mio.Interest.READABLE) } catch (error) { e = error }
    report('eexist', e && Object.getOwnPropertyDescriptor(e, 'code').value)
    report('eexist-syscall', e && Object.getOwnPropertyDescriptor(e, 'syscall').value)
    // A blocking poll during a thread watch.
    process.env.NODE_MIO_WATCH = 'thread'
    const other = new mio.Poll()
    const watch = other.watch(new mio.Events(4), () => {})
    let busy
    try { other.poll(new mio.Events(4), 10) } catch (error) { busy = error }
    report('ebusy', busy && Object.getOwnPropertyDescriptor(busy, 'code').value)
    watch.stop(); other.close()
    // share() on a closed waker.
    const waker = new mio.Waker(poll.registry, 5)
    waker.close()
    report('share', codeOf(() => waker.share()))
    const taken = mio.TcpListener.bind('127.0.0.1:0')
    report('bind', codeOf(() => mio.TcpListener.bind(taken.localAddr())))
    taken.close()
    report('calls', calls)
    report('alive', poll.poll(events, 0) >= 0)
    client.close(); server.close(); extra.close(); poll.close()
  `)
  survived(t, result, {
    // The properties are the error's own (defined, not assigned): they shadow
    // the prototype's accessors.
    'closed-read': 'ERR_SOCKET_CLOSED',
    'wrong-kind': 'ERR_INVALID_ARG_TYPE',
    share: 'ERR_MIO_CLOSED',
    bind: 'EADDRINUSE',
    eexist: 'EEXIST',
    'eexist-syscall': 'register',
    ebusy: 'EBUSY',
    calls: ['0', 'no setter on Error.prototype ran'],
    alive: 'true',
  })
})

test('errors: Error.prepareStackTrace that calls into node-mio runs after the call, with nothing borrowed', async (t) => {
  const result = await child(`
    const poll = new mio.Poll()
    const events = new mio.Events(8)
    let ran = 0
    Error.prepareStackTrace = (error, frames) => { ran++; poll.poll(events, 0); new mio.Poll().close(); return 'stack' }
    let e
    try { poll.registry.deregister(mio.UdpSocket.bind('127.0.0.1:0')) } catch (error) { e = error }
    report('code', e.code)
    report('stack', e.stack)
    report('ran', ran)
    poll.close()
  `)
  survived(t, result, {
    code: 'ENOENT',
    stack: 'stack',
    ran: '1',
  })
})

// ---- 4. Closed handles

test('a closed Registry never names another Poll, however often its slot is reused (2^21 + 1 times)', async (t) => {
  t.timeout(CHILD_PATIENCE + 10_000)
  const result = await child(`
    // The raw binding, as any code in the process can reach it: the wrapper
    // forgets closed handles, but a program can keep the numbers.
    const a = raw.pollNew()
    const base = raw.pollRegistry(a)
    const first = raw.registryTryClone(base)
    raw.registryClose(first)
    let last = first
    for (let i = 0; i < 2 ** 21 + 1; i++) {
      last = raw.registryTryClone(base)
      raw.registryClose(last)
    }
    const b = raw.pollNew()
    const live = raw.registryTryClone(raw.pollRegistry(b))
    const socket = mio.UdpSocket.bind('127.0.0.1:0')
    report('first', codeOf(() => raw.registryRegister(first, handleOf(socket), 1, 1)))
    report('last', codeOf(() => raw.registryRegister(last, handleOf(socket), 1, 1)))
    report('live', codeOf(() => raw.registryRegister(live, handleOf(socket), 1, 1)))
    // The wrapper: a closed clone forgets its handle.
    const poll = new mio.Poll()
    const clone = poll.registry.tryClone()
    clone.close()
    report('closed', clone.closed)
    report('wrapper', codeOf(() => clone.register(mio.UdpSocket.bind('127.0.0.1:0'), 1, mio.Interest.READABLE)))
    poll.close()
    report('owned', poll.registry.closed)
  `)
  survived(t, result, {
    first: 'ERR_MIO_CLOSED',
    last: 'ERR_MIO_CLOSED',
    live: 'ok:undefined',
    closed: 'true',
    wrapper: 'ERR_MIO_CLOSED',
    owned: ['true', "a closed Poll's registry is closed too"],
  })
})

test('a closed shared waker id never wakes another waker', async (t) => {
  const result = await child(`
    const poll = new mio.Poll()
    const waker = new mio.Waker(poll.registry, 1)
    const shared = waker.share()
    waker.close()
    const next = new mio.Poll()
    const other = new mio.Waker(next.registry, 2)
    const otherShared = other.share()
    report('distinct', shared.id !== otherShared.id)
    report('stale', shared.wake())
    report('events', next.poll(new mio.Events(4), 0))
    report('bad', codeOf(() => raw.wakerWakeShared(2 ** 53)))
    poll.close(); next.close()
  `)
  survived(t, result, {
    distinct: 'true',
    stale: 'false',
    events: '0',
    bad: 'ERR_OUT_OF_RANGE',
  })
})

void unix
