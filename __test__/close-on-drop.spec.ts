// Port of mio's tests/close_on_drop.rs (skipped by mio on WASI only).
//
// The server accepts and drops (here: closes) the connection at once; the
// client, registered writable and then readable, must see the end of the
// stream: its first read takes whatever arrived, its second must be `0`.
import test, { type ExecutionContext } from 'ava'
import { Events, Interest, Poll, TcpListener, TcpStream, Token, type Registry } from 'node-mio'
import { ANY_LOCAL, addrText } from './support/sockets.ts'

const SERVER = Token(0)
const CLIENT = Token(1)

type TestState = 'Initial' | 'AfterRead'

class TestHandler {
  state: TestState = 'Initial'
  shutdown = false

  constructor(
    readonly t: ExecutionContext,
    readonly srv: TcpListener,
    readonly cli: TcpStream,
  ) {}

  handleRead(registry: Registry, tok: Token): void {
    this.t.log(`readable; tok=${tok}`)

    switch (tok) {
      case SERVER: {
        this.t.log('server connection ready for accept')
        const accepted = this.srv.accept()
        if (accepted === null) throw new Error('accept: WouldBlock (null)')
        // mio: `let _ = self.srv.accept().unwrap();` drops the stream at once.
        accepted[0].close()
        break
      }
      case CLIENT: {
        this.t.log('client readable')

        switch (this.state) {
          case 'Initial': {
            const buf = Buffer.alloc(4096)
            // mio only logs this first read's result, whatever it is.
            let got: string
            try {
              got = String(this.cli.read(buf))
            } catch (e) {
              got = String(e)
            }
            this.t.log(`GOT=${got}`)
            this.state = 'AfterRead'
            break
          }
          case 'AfterRead':
            break
        }

        const buf = Buffer.alloc(1024)
        let n: number | null
        try {
          n = this.cli.read(buf)
        } catch (e) {
          throw new Error(`Unexpected error ${String(e)}`)
        }
        if (n === 0) this.shutdown = true
        else if (n === null) throw new Error('Unexpected error WouldBlock (null)')
        else throw new Error('the client socket should not be readable')
        break
      }
      default:
        throw new Error(`received unknown token ${tok}`)
    }
    registry.reregister(this.cli, CLIENT, Interest.READABLE)
  }

  handleWrite(registry: Registry, tok: Token): void {
    switch (tok) {
      case SERVER:
        throw new Error('received writable for token 0')
      case CLIENT:
        this.t.log('client connected')
        registry.reregister(this.cli, CLIENT, Interest.READABLE)
        break
      default:
        throw new Error(`received unknown token ${tok}`)
    }
  }
}

test('close_on_drop', (t) => {
  t.log('Starting TEST_CLOSE_ON_DROP')
  using poll = new Poll()

  // == Create & setup server socket
  using srv = TcpListener.bind(ANY_LOCAL)
  const addr = srv.localAddr()

  poll.registry.register(srv, SERVER, Interest.READABLE)

  // == Create & setup client socket
  using sock = TcpStream.connect(addrText(addr))

  poll.registry.register(sock, CLIENT, Interest.WRITABLE)

  // == Create storage for events
  const events = new Events(1024)

  // == Setup test handler
  const handler = new TestHandler(t, srv, sock)

  // == Run test
  while (!handler.shutdown) {
    poll.poll(events, null)

    for (const event of events) {
      if (event.isReadable()) {
        handler.handleRead(poll.registry, event.token)
      }

      if (event.isWritable()) {
        handler.handleWrite(poll.registry, event.token)
      }
    }
  }
  t.is(handler.state, 'AfterRead', `actual=${handler.state}`)
})
