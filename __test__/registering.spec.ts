// Port of mio's tests/registering.rs.
//
// mio's debug-only tests tcp_register_multiple_event_loops and
// udp_register_multiple_event_loops run unconditionally: node-mio rejects
// registering a source with a second Poll on every OS and build (EEXIST).
// Every test of registering.rs is ported.
import test from 'ava'
import { Events, Interest, Poll, Registry, TcpListener, TcpStream, Token, UdpSocket } from 'node-mio'
import { ANY_LOCAL, addrText } from './support/sockets.ts'
import { sleep } from './support/workers.ts'

const SERVER = Token(0)
const CLIENT = Token(1)

class TestHandler {
  state = 0

  constructor(
    readonly server: TcpListener,
    readonly client: TcpStream,
  ) {}

  handleRead(registry: Registry, token: Token): void {
    switch (token) {
      case SERVER: {
        const accepted = this.server.accept()
        if (accepted === null) throw new Error('accept returned WouldBlock (null) after a readable event')
        const [sock] = accepted
        try {
          // A WouldBlock (null) is fine; any other error throws.
          sock.write(Buffer.from('foobar'))
        } finally {
          sock.close()
        }
        break
      }
      case CLIENT:
        if (this.state !== 0) throw new Error(`unexpected state ${this.state}`)
        this.state = 1
        registry.reregister(this.client, CLIENT, Interest.WRITABLE)
        break
      default:
        throw new Error('unexpected token')
    }
  }

  handleWrite(registry: Registry, token: Token): void {
    if (token !== CLIENT) throw new Error(`unexpected token ${token}`)
    if (this.state !== 1) throw new Error(`unexpected state ${this.state}`)

    this.state = 2
    registry.deregister(this.client)
    registry.deregister(this.server)
  }
}

test('register_deregister', (t) => {
  using poll = new Poll()
  const events = new Events(1024)

  using server = TcpListener.bind(ANY_LOCAL)
  const addr = addrText(server.localAddr())

  poll.registry.register(server, SERVER, Interest.READABLE)

  using client = TcpStream.connect(addr)

  // Register client socket only as readable
  poll.registry.register(client, CLIENT, Interest.READABLE)

  const handler = new TestHandler(server, client)

  for (;;) {
    poll.poll(events, null)

    const event = events.get(0)
    if (event !== undefined) {
      if (event.isReadable()) handler.handleRead(poll.registry, event.token)

      if (event.isWritable()) {
        handler.handleWrite(poll.registry, event.token)
        break
      }
    }
  }
  t.is(handler.state, 2)

  poll.poll(events, 100)
  t.is(events.get(0), undefined)
})

test('reregister_different_interest_without_poll', (t) => {
  const events = new Events(1024)
  using poll = new Poll()

  // Create the listener
  using l = TcpListener.bind('127.0.0.1:0')

  // Register the listener with `Poll`
  poll.registry.register(l, Token(0), Interest.READABLE)

  using s1 = TcpStream.connect(addrText(l.localAddr()))
  poll.registry.register(s1, Token(2), Interest.READABLE)

  const TIMEOUT = 200
  sleep(TIMEOUT)

  poll.registry.reregister(l, Token(0), Interest.WRITABLE)

  poll.poll(events, TIMEOUT)
  t.is(events.get(0), undefined)
})

// mio checks this in debug builds only ("I/O source already registered with
// a `Registry`"); node-mio on every build, with EEXIST.
test('tcp_register_multiple_event_loops', (t) => {
  using listener = TcpListener.bind(ANY_LOCAL)
  const addr = addrText(listener.localAddr())

  using poll1 = new Poll()
  poll1.registry.register(listener, Token(0), Interest.READABLE.add(Interest.WRITABLE))

  using poll2 = new Poll()

  // Try registering the same socket with the initial one
  const error = t.throws(() => poll2.registry.register(listener, Token(0), Interest.READABLE.add(Interest.WRITABLE)), {
    code: 'EEXIST',
  })
  t.regex(error?.message ?? '', /already registered/)

  // Try the stream
  using stream = TcpStream.connect(addr)

  poll1.registry.register(stream, Token(1), Interest.READABLE.add(Interest.WRITABLE))

  const streamError = t.throws(() => poll2.registry.register(stream, Token(1), Interest.READABLE.add(Interest.WRITABLE)), {
    code: 'EEXIST',
  })
  t.regex(streamError?.message ?? '', /already registered/)
})

// mio checks this in debug builds only; node-mio on every build, with EEXIST.
test('udp_register_multiple_event_loops', (t) => {
  using socket = UdpSocket.bind(ANY_LOCAL)

  using poll1 = new Poll()
  poll1.registry.register(socket, Token(0), Interest.READABLE.add(Interest.WRITABLE))

  using poll2 = new Poll()

  // Try registering the same socket with the initial one
  const error = t.throws(() => poll2.registry.register(socket, Token(0), Interest.READABLE.add(Interest.WRITABLE)), {
    code: 'EEXIST',
  })
  t.regex(error?.message ?? '', /already registered/)
})

test('registering_after_deregistering', (t) => {
  using poll = new Poll()
  const events = new Events(8)

  using server = TcpListener.bind(ANY_LOCAL)

  poll.registry.register(server, SERVER, Interest.READABLE)

  poll.registry.deregister(server)

  poll.registry.register(server, SERVER, Interest.READABLE)

  poll.poll(events, 100)
  t.true(events.isEmpty())
})
