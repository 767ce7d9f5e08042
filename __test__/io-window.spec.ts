// read(buf, offset, length) and write(buf, offset, length): part of a buffer,
// in place, without a subarray view (as fs.readSync/writeSync take them).
import test from 'ava'
import { Events, Interest, Poll, TcpListener, TcpStream } from 'node-mio'
import * as raw from '../index.js'
import { handleOf } from './support/internals.ts'
import { acceptBlocking } from './support/sockets.ts'

function pair(): [TcpStream, TcpStream, () => void] {
  const listener = TcpListener.bind('127.0.0.1:0')
  const client = TcpStream.connect(listener.localAddr())
  const [server] = acceptBlocking(listener)
  listener.close()
  return [client, server, () => (client.close(), server.close())]
}

/** Reads until `want` bytes arrived (waiting on a private Poll). */
function readWindow(stream: TcpStream, buf: Uint8Array, offset: number, want: number): number {
  using poll = new Poll()
  const events = new Events(4)
  poll.registry.register(stream, 1, Interest.READABLE)
  let got = 0
  for (let round = 0; round < 20 && got < want; round++) {
    const n = stream.read(buf, offset + got, want - got)
    if (n === null) poll.poll(events, 500)
    else got += n
  }
  poll.registry.deregister(stream)
  return got
}

test('write(buf, offset, length) sends exactly that window', (t) => {
  const [client, server, close] = pair()
  try {
    const data = Buffer.from('0123456789')
    t.is(client.write(data, 3, 4), 4)
    const buf = Buffer.alloc(16, 0x2e)
    t.is(readWindow(server, buf, 0, 4), 4)
    t.is(buf.subarray(0, 4).toString(), '3456')
    t.is(client.write(data, 8), 2, 'length defaults to the rest of the buffer')
    t.is(readWindow(server, buf, 0, 2), 2)
    t.is(buf.subarray(0, 2).toString(), '89')
    t.is(client.write(data, 10, 0), 0, 'an empty window writes nothing')
  } finally {
    close()
  }
})

test('read(buf, offset, length) fills only that window', (t) => {
  const [client, server, close] = pair()
  try {
    client.write(Buffer.from('abcdefgh'))
    const buf = Buffer.alloc(12, 0x2e)
    t.is(readWindow(server, buf, 2, 5), 5)
    t.is(buf.toString(), '..abcde.....')
    t.is(readWindow(server, buf, 9, 3), 3)
    t.is(buf.toString(), '..abcde..fgh')
  } finally {
    close()
  }
})

test('windows outside the buffer are RangeErrors; wrong types are TypeErrors; an empty read window is refused', (t) => {
  // A TCP pair: the window checks are the same on every stream, and TCP runs everywhere.
  const [a, b, close] = pair()
  try {
    const buf = Buffer.alloc(8)
    for (const [offset, length] of [[-1, 1], [9, 0], [2, 7], [1.5, 1], [0, -1], [0, 2.5], [Number.NaN, 1], [0, Number.NaN]]) {
      t.throws(() => a.write(buf, offset, length), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' }, `write ${offset}, ${length}`)
      t.throws(() => b.read(buf, offset, length), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' }, `read ${offset}, ${length}`)
    }
    t.throws(() => a.write(buf, '1' as unknown as number), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
    t.throws(() => b.read(buf, 0, '1' as unknown as number), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
    t.throws(() => b.read(buf, 8), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' }, 'a read into 0 bytes')
    t.is(b.read(buf, 0, 4), null, 'a valid window on an idle socket would block')
  } finally {
    close()
  }
})

test('readv refuses buffers that overlap (each would be written independently), however they alias', (t) => {
  const [a, b, close] = pair()
  try {
    a.write(Buffer.from('0123456789abcdef'))
    const memory = Buffer.alloc(32)
    const overlapping: Array<[string, Uint8Array[]]> = [
      ['a window inside another', [memory.subarray(0, 16), memory.subarray(4, 8)]],
      ['two windows sharing a byte', [memory.subarray(0, 9), memory.subarray(8, 16)]],
      ['the same buffer twice', [memory, memory]],
      ['a view of the same ArrayBuffer', [memory.subarray(0, 8), new Uint8Array(memory.buffer, memory.byteOffset + 4, 8)]],
      ['overlap after a disjoint pair', [memory.subarray(0, 4), memory.subarray(8, 12), memory.subarray(10, 14)]],
    ]
    for (const [what, bufs] of overlapping) {
      t.throws(() => b.readv(bufs), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE', message: /must not overlap/ }, what)
    }
    // Adjacent windows do not overlap, and the data is still all there.
    using poll = new Poll()
    const events = new Events(4)
    poll.registry.register(b, 1, Interest.READABLE)
    let n: number | null
    while ((n = b.readv([memory.subarray(0, 8), memory.subarray(8, 16)])) === null) poll.poll(events, 1000)
    t.is(n, 16)
    t.is(memory.subarray(0, 16).toString(), '0123456789abcdef')
    // Nor do they in the other order (the second window ends where the first starts).
    a.write(Buffer.from('ghijklmnopqrstuv'))
    while ((n = b.readv([memory.subarray(8, 16), memory.subarray(0, 8)])) === null) poll.poll(events, 1000)
    t.is(n, 16)
    t.is(memory.subarray(0, 16).toString(), 'opqrstuvghijklmn')
  } finally {
    close()
  }
})

test('the raw writev reads no buffer past the 2 GiB - 1 a call can take (a short write)', (t) => {
  // Two views of one 1 GiB buffer reach the limit; the element after them is
  // never read, so even a value that is not bytes is not an error. The
  // wrapper checks every element itself: this is the binding's own bound.
  const [client, , close] = pair()
  try {
    const big = Buffer.allocUnsafeSlow(2 ** 30)
    const written = raw.streamWritev(handleOf(client), [big, big, 'not bytes' as unknown as Uint8Array])
    t.true(written !== null && written > 0 && written < 2 ** 31, `a short write, not an error: ${written}`)
    t.throws(() => raw.streamWritev(handleOf(client), [big.subarray(0, 1), 'not bytes' as unknown as Uint8Array]), {
      instanceOf: TypeError,
      message: /bufs\[1\] must be a Uint8Array/,
    }, 'below the limit every element is read')
  } finally {
    close()
  }
})

// The vectored calls read `bufs` once into a list of the wrapper's own (one
// reused array) before calling in: what that list holds must be the call's
// buffers only, checked as write() checks them, and nothing once it returns.

test('write and writev refuse a detached buffer (ERR_INVALID_ARG_VALUE), though it is empty', (t) => {
  const [client, , close] = pair()
  try {
    const detached = new Uint8Array(new ArrayBuffer(8))
    structuredClone(detached.buffer, { transfer: [detached.buffer] })
    t.is(detached.byteLength, 0)
    t.throws(() => client.write(detached), { code: 'ERR_INVALID_ARG_VALUE', message: /"buffer" argument must not be detached/ })
    t.throws(() => client.writev([Buffer.from('x'), detached]), { code: 'ERR_INVALID_ARG_VALUE', message: /"bufs\[1\]" argument must not be detached/ })
    t.is(client.write(new Uint8Array(0)), 0, 'an empty live buffer is a write of nothing')
  } finally {
    close()
  }
})

test('writev: a getter that calls writev again while the list is read leaves the outer call its own buffers, in order', (t) => {
  const [client, server, close] = pair()
  const [other, otherPeer, closeOther] = pair()
  try {
    const bufs = [Buffer.from('first-'), Buffer.from('never'), Buffer.from('-third')]
    Object.defineProperty(bufs, 1, {
      get() {
        t.is(other.writev([Buffer.from('inner')]), 5)
        return Buffer.from('second')
      },
    })
    t.is(client.writev(bufs), 'first-second-third'.length)
    const buf = Buffer.alloc(32)
    t.is(readWindow(server, buf, 0, 18), 18)
    t.is(buf.subarray(0, 18).toString(), 'first-second-third')
    t.is(readWindow(otherPeer, buf, 0, 5), 5)
    t.is(buf.subarray(0, 5).toString(), 'inner')
  } finally {
    close()
    closeOther()
  }
})

test('writev and readv keep no reference to the buffers once they return', async (t) => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return t.pass('needs --expose-gc (the ava config passes it)')
  const [client, server, close] = pair()
  /** Whether what `make` returns a WeakRef to is collected once its job ended. */
  const collected = async (make: () => WeakRef<Uint8Array>): Promise<boolean> => {
    const ref = make()
    // A WeakRef keeps its target until the job that made it ends.
    await new Promise((resolve) => setImmediate(resolve))
    gc()
    return ref.deref() === undefined
  }
  try {
    // Each checked before the other call, which would reuse (and empty) the list.
    t.true(
      await collected(() => {
        const out = new Uint8Array(1024).fill(7)
        t.is(client.writev([out]), 1024)
        return new WeakRef(out)
      }),
      'the buffer written is collectable',
    )
    t.true(
      await collected(() => {
        const into = new Uint8Array(1024)
        using poll = new Poll()
        const events = new Events(4)
        poll.registry.register(server, 1, Interest.READABLE)
        let got: number | null = null
        for (let round = 0; round < 20 && got === null; round++) {
          got = server.readv([into])
          if (got === null) poll.poll(events, 500)
        }
        t.true(got !== null && got > 0, 'readv read what was written')
        poll.registry.deregister(server)
        return new WeakRef(into)
      }),
      'the buffer read into is collectable',
    )
  } finally {
    close()
  }
})
