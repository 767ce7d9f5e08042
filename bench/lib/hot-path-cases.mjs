// The hot path's cases, through the public wrapper and the raw binding:
// `poll(events, 0)` with nothing ready, a `read` that would block, a
// 64-byte write + read on a connected loopback pair, and the same two for
// UDP through the raw calls (a `recvFrom` that would block, a 64-byte
// `sendTo` + `recvFrom` on loopback). Shared by
// bench/hot-path.ts (this tree's build) and bench/per-call.mjs (any built
// tree); plain JavaScript so that per-call.mjs runs without a loader (under
// valgrind, tsx's start-up is large and varies from run to run). Types:
// hot-path-cases.d.mts.

/**
 * The cases on fresh sockets and polls of `build` ({ mio, raw, handleOf }:
 * the wrapper, the raw binding and a source's handle); `close()` releases them.
 */
export function hotPathCases({ mio, raw, handleOf }) {
  const { Events, Interest, Poll, TcpListener, TcpStream, Token, UdpSocket } = mio
  const fast = raw.fastCalls()
  // A connected pair on loopback, with nothing in flight.
  const poll = new Poll()
  const events = new Events(64)
  const listener = TcpListener.bind('127.0.0.1:0')
  const client = TcpStream.connect(listener.localAddr())
  poll.registry.register(client, Token(1), Interest.WRITABLE)
  poll.poll(events, 1000)
  let accepted
  for (let i = 0; i < 1000 && accepted === undefined; i++) accepted = listener.accept()?.[0]
  if (accepted === undefined) throw new Error('no connection')
  const server = accepted
  client.setNodelay(true)
  poll.registry.deregister(client)
  const idle = new Poll() // nothing registered: poll(0) returns no events
  const idleEvents = new Events(64)
  const buf = Buffer.alloc(64)
  const rbuf = Buffer.alloc(4096)
  const h = (s) => handleOf(s)
  const ch = h(client)
  const sh = h(server)
  const idleHandle = raw.pollNew()
  const idleStorage = raw.eventsRegister(new Float64Array(128))
  // Two UDP sockets on loopback; `from` is the record the hot-path receive
  // writes the sender into (an ArrayBuffer of 7 numbers).
  const udpA = UdpSocket.bind('127.0.0.1:0')
  const udpB = UdpSocket.bind('127.0.0.1:0')
  const ah = h(udpA)
  const bh = h(udpB)
  const bport = udpB.localAddr().port
  const from = new ArrayBuffer(7 * 8)
  const cases = {
    pollWrapper: { label: 'poll(events, 0), nothing ready (wrapper)', share: 1, body: () => idle.poll(idleEvents, 0) },
    pollRaw: { label: 'pollPoll(h, events, 0), nothing ready (raw)', share: 1, body: () => fast.pollPoll(idleHandle, idleStorage, 0) },
    readWrapper: { label: 'read(buf) -> null (WouldBlock, wrapper)', share: 1, body: () => server.read(rbuf) },
    readRaw: { label: 'streamRead(h, buf) -> null (raw)', share: 1, body: () => fast.streamRead(sh, rbuf) },
    writeRead: {
      label: 'write 64 B + read 64 B (wrapper)',
      share: 1 / 4,
      body: () => {
        client.write(buf)
        server.read(rbuf)
      },
    },
    writeReadRaw: {
      label: 'streamWrite + streamRead 64 B (raw)',
      share: 1 / 4,
      body: () => {
        fast.streamWrite(ch, buf)
        fast.streamRead(sh, rbuf)
      },
    },
    recvFromRaw: { label: 'udpRecvFrom(h, buf, from) -> null (raw)', share: 1, body: () => fast.udpRecvFrom(bh, rbuf, from) },
    sendRecvRaw: {
      label: 'udpSendToV4 + udpRecvFrom 64 B (raw)',
      share: 1 / 4,
      body: () => {
        fast.udpSendToV4(ah, buf, 0x7f000001, bport, 0, 64)
        fast.udpRecvFrom(bh, rbuf, from)
      },
    },
  }
  const close = () => {
    raw.pollClose(idleHandle)
    udpA.close()
    udpB.close()
    client.close()
    server.close()
    listener.close()
    idle.close()
    poll.close()
  }
  return { cases, close }
}
