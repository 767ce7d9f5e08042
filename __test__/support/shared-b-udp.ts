// The UDP receive frame of udp-batch.spec and udp-zero-alloc.spec: a
// receiver registered on a Poll, a sender, and a bounded wait for data.
import { Events, Interest, Poll, UdpSocket } from 'node-mio'

/**
 * Calls `step` until it returns something other than `null` (WouldBlock),
 * polling up to 250 ms between tries, 40 tries at most; then throws.
 */
export function until<T>(poll: Poll, events: Events, step: () => T | null): T {
  for (let round = 0; round < 40; round++) {
    const value = step()
    if (value !== null) return value
    poll.poll(events, 250)
  }
  throw new Error('nothing arrived')
}

/** A Poll with Events(4), a receiver `rx` registered readable as token 1, and a sender `tx`. */
export interface RxTx extends Disposable {
  readonly poll: Poll
  readonly events: Events
  readonly rx: UdpSocket
  readonly tx: UdpSocket
}

/**
 * Binds `rx` and `tx` to `local` (loopback IPv4 by default) and registers
 * `rx`; all closed together (tx, rx, then the Poll) at the end of `using`:
 *
 * ```ts
 * using pair = rxTx()
 * const { poll, events, rx, tx } = pair
 * ```
 */
export function rxTx(local = '127.0.0.1:0'): RxTx {
  const poll = new Poll()
  const owned: Disposable[] = [poll]
  const close = () => {
    for (const resource of [...owned].reverse()) resource[Symbol.dispose]()
  }
  try {
    const rx = UdpSocket.bind(local)
    owned.push(rx)
    const tx = UdpSocket.bind(local)
    owned.push(tx)
    poll.registry.register(rx, 1, Interest.READABLE)
    return { poll, events: new Events(4), rx, tx, [Symbol.dispose]: close }
  } catch (error) {
    close()
    throw error
  }
}
