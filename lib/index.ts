/**
 * node-mio: mio's readiness-based, edge-triggered, non-blocking I/O for
 * Node.js. Start with {@link Poll}, {@link Events}, {@link Interest} and a
 * socket such as {@link TcpListener}.
 * @packageDocumentation
 */
export { backend, type Backend } from './backend'
export { Event, Events } from './events'
export { Interest } from './interest'
export { Poll } from './poll'
export { Registry } from './registry'
export { Source } from './source'
export { hasErrorCode, isSendBatchError, isSystemError, type CodedError, type SendBatchError, type SystemError } from './system-error'
export { Token } from './token'
export { SharedWaker, Waker, type SharedWakerMessage } from './waker'
export { Watch, type WatchMode } from './watch'
export type { RemoteInfo, SocketAddress, SocketAddressInput } from './net/addr'
export type {
  BufferOptions,
  ConnectOptions,
  IpSocketOptions,
  KeepaliveOptions,
  ListenOptions,
  UdpBindOptions,
} from './net/options'
export { IpSocket, Socket } from './net/socket'
export { TcpListener } from './net/tcp-listener'
export { TcpStream, type Shutdown } from './net/tcp-stream'
export { DatagramBatch } from './net/datagram-batch'
export { UdpSocket } from './net/udp-socket'
export type { FdsReceived } from './net/fds'
export type { UnixAddress, UnixAddressInput, UnixRemoteInfo } from './net/unix-addr'
export { UnixDatagram } from './net/unix-datagram'
export { UnixListener } from './net/unix-listener'
export { UnixStream, type PeerCred } from './net/unix-stream'
export { pipe, PipeReceiver, PipeSender } from './unix/pipe'
export { SourceFd } from './unix/source-fd'
export { NamedPipe } from './windows/named-pipe'
