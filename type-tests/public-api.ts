// Type tests of the published declarations (dist/, built with stripInternal),
// imported through the package's own name as a user imports them. `tsc -p
// type-tests` must pass: each `expectTypeOf` pins a type, each
// `@ts-expect-error` a mistake or an internal member the IDE must not show.
import { expectTypeOf } from 'expect-type'
import * as mio from 'node-mio'
import {
  backend,
  Event,
  Events,
  Interest,
  IpSocket,
  NamedPipe,
  pipe,
  PipeReceiver,
  PipeSender,
  Poll,
  Registry,
  SharedWaker,
  Socket,
  Source,
  SourceFd,
  TcpListener,
  TcpStream,
  Token,
  UdpSocket,
  UnixDatagram,
  UnixListener,
  UnixStream,
  Waker,
  Watch,
  type Backend,
  type BufferOptions,
  type ConnectOptions,
  type IpSocketOptions,
  type KeepaliveOptions,
  type ListenOptions,
  type RemoteInfo,
  type Shutdown,
  type SocketAddress,
  type SocketAddressInput,
  type UdpBindOptions,
  type UnixAddress,
  type UnixAddressInput,
  type UnixRemoteInfo,
  type WatchMode,
} from 'node-mio'

// Every runtime export, and nothing else.
expectTypeOf<keyof typeof mio>().toEqualTypeOf<
  | 'backend'
  | 'DatagramBatch'
  | 'Event'
  | 'Events'
  | 'hasErrorCode'
  | 'isSendBatchError'
  | 'isSystemError'
  | 'Interest'
  | 'IpSocket'
  | 'NamedPipe'
  | 'pipe'
  | 'PipeReceiver'
  | 'PipeSender'
  | 'Poll'
  | 'Registry'
  | 'SharedWaker'
  | 'Socket'
  | 'Source'
  | 'SourceFd'
  | 'TcpListener'
  | 'TcpStream'
  | 'Token'
  | 'UdpSocket'
  | 'UnixDatagram'
  | 'UnixListener'
  | 'UnixStream'
  | 'Waker'
  | 'Watch'
>()

declare const buf: Uint8Array

// backend(): mio's selector and waker in this build.
expectTypeOf(backend()).toEqualTypeOf<Backend>()
expectTypeOf<Backend['selector']>().toEqualTypeOf<'epoll' | 'kqueue' | 'iocp' | 'event-ports' | 'poll'>()
// @ts-expect-error the backend is fixed at build time
backend().selector = 'poll'
declare const stream: TcpStream

// Poll, Events, Event.
const poll = new Poll()
const events = new Events(64)
expectTypeOf(poll.poll(events, 100)).toEqualTypeOf<number>()
expectTypeOf(poll.poll).parameter(1).toEqualTypeOf<number | null>()
expectTypeOf(poll.pollAsync(events)).toEqualTypeOf<Promise<number>>()
expectTypeOf(poll.registry).toEqualTypeOf<Registry>()
expectTypeOf(poll.watch(events, (batch) => expectTypeOf(batch).toEqualTypeOf<Events>())).toEqualTypeOf<Watch>()
for (const event of events) {
  expectTypeOf(event).toEqualTypeOf<Event>()
  expectTypeOf(event.token).toEqualTypeOf<Token>()
  expectTypeOf(event.isReadable()).toEqualTypeOf<boolean>()
}
expectTypeOf<Watch['mode']>().toEqualTypeOf<WatchMode>()
expectTypeOf<WatchMode>().toEqualTypeOf<'uv' | 'thread'>()

// Registration.
poll.registry.register(stream, Token(1), Interest.READABLE.add(Interest.WRITABLE))
expectTypeOf(Interest.READABLE.remove(Interest.READABLE)).toEqualTypeOf<Interest | null>()
// Platform-dependent interests may be absent: a user must check.
expectTypeOf(Interest.PRIORITY).toEqualTypeOf<Interest | undefined>()
expectTypeOf(Interest.AIO).toEqualTypeOf<Interest | undefined>()
expectTypeOf(Interest.LIO).toEqualTypeOf<Interest | undefined>()
// @ts-expect-error PRIORITY may be undefined on this platform
Interest.READABLE.add(Interest.PRIORITY)
expectTypeOf(Token).parameters.toEqualTypeOf<[number]>()

// Reads and writes: a count, or null for would-block; offset and length optional.
expectTypeOf(stream.read(buf)).toEqualTypeOf<number | null>()
expectTypeOf(stream.read(buf, 4, 8)).toEqualTypeOf<number | null>()
expectTypeOf(stream.write(buf, 0, 2)).toEqualTypeOf<number | null>()
expectTypeOf(stream.writev([buf, buf])).toEqualTypeOf<number | null>()
expectTypeOf(stream.readv([buf])).toEqualTypeOf<number | null>()
expectTypeOf(TcpListener.bind('127.0.0.1:0').accept()).toEqualTypeOf<[TcpStream, SocketAddress] | null>()
const udp = UdpSocket.bind({ address: '127.0.0.1', port: 0 }, { reuseAddress: true })
expectTypeOf(udp.recvFrom(buf)).toEqualTypeOf<RemoteInfo | null>()
expectTypeOf(udp.sendTo(buf, '127.0.0.1:53', 0, 1)).toEqualTypeOf<number | null>()
expectTypeOf(UnixStream.pair()).toEqualTypeOf<[UnixStream, UnixStream]>()
expectTypeOf(pipe()).toEqualTypeOf<[PipeSender, PipeReceiver]>()
expectTypeOf(new SourceFd(0).read(buf)).toEqualTypeOf<number | null>()
expectTypeOf<Shutdown>().toEqualTypeOf<'read' | 'write' | 'both'>()

// Option objects.
expectTypeOf<ConnectOptions>().toMatchTypeOf<IpSocketOptions>()
expectTypeOf<ListenOptions>().toMatchTypeOf<IpSocketOptions>()
expectTypeOf<UdpBindOptions>().toMatchTypeOf<IpSocketOptions>()
expectTypeOf<IpSocketOptions>().toMatchTypeOf<BufferOptions>()
expectTypeOf<KeepaliveOptions>().toBeObject()
expectTypeOf<SocketAddressInput>().toMatchTypeOf<string | object>()
expectTypeOf<UnixAddressInput>().toMatchTypeOf<string | object>()
expectTypeOf<UnixRemoteInfo>().toMatchTypeOf<UnixAddress>()
// @ts-expect-error an unknown option is a mistake
TcpStream.connect('127.0.0.1:1', { nodelayy: true })

// Wakers cross threads as a plain id.
const waker = new Waker(poll.registry, Token(2))
expectTypeOf(waker.share()).toEqualTypeOf<SharedWaker>()
expectTypeOf(new SharedWaker(1).wake()).toEqualTypeOf<boolean>()

// Sources are made by their static methods, never by `new`.
// @ts-expect-error Source is abstract with a protected constructor
new Source(1, Symbol())
// @ts-expect-error no public constructor
new TcpStream()
// @ts-expect-error Registry comes from a Poll
new Registry()
// @ts-expect-error Event is a view inside Events
new Event()
// @ts-expect-error a Watch comes from poll.watch()
new Watch()
expectTypeOf<TcpStream>().toMatchTypeOf<IpSocket>()
expectTypeOf<IpSocket>().toMatchTypeOf<Socket>()
expectTypeOf<Socket>().toMatchTypeOf<Source>()
expectTypeOf<UnixListener>().toMatchTypeOf<Source>()
expectTypeOf<UnixDatagram>().toMatchTypeOf<Source>()
expectTypeOf<NamedPipe>().toMatchTypeOf<Source>()

// Internal members stay internal.
// @ts-expect-error internal
Interest.fromBits(1)
// @ts-expect-error internal
void Interest.READABLE.bits
// @ts-expect-error internal
Source.isSource(stream)
// @ts-expect-error internal
Registry.of(1)
// @ts-expect-error internal
void poll.registry.handle
// @ts-expect-error internal
void events.handle
// @ts-expect-error internal
PipeSender.adopt(1)
expectTypeOf(stream.takeError()).toEqualTypeOf<mio.SystemError | null>()

// Errors narrow without a cast.
declare const caught: unknown
if (mio.isSystemError(caught, 'ECONNREFUSED')) {
  expectTypeOf(caught.errno).toEqualTypeOf<number>()
  expectTypeOf(caught.syscall).toEqualTypeOf<string>()
  expectTypeOf(caught.port).toEqualTypeOf<number | undefined>()
}
if (mio.hasErrorCode(caught)) expectTypeOf(caught.code).toEqualTypeOf<string>()
if (mio.isSendBatchError(caught)) {
  expectTypeOf(caught.sent).toEqualTypeOf<number>()
  expectTypeOf(caught.index).toEqualTypeOf<number>()
  expectTypeOf(caught.code).toEqualTypeOf<string>()
}
declare const datagram: UnixDatagram
expectTypeOf(datagram.peerCred()).toEqualTypeOf<mio.PeerCred | null>()

// A shared waker arrives from postMessage as a message, rebuilt by SharedWaker.from.
declare const message: mio.SharedWakerMessage
expectTypeOf(SharedWaker.from(message)).toEqualTypeOf<SharedWaker>()
// @ts-expect-error a message has no wake(): rebuild it first
message.wake()
expectTypeOf(poll.pollAsync).parameter(1).toEqualTypeOf<number | null | undefined>()
