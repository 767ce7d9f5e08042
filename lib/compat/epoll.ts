/**
 * `node-mio/epoll`: the API of the `epoll` npm package (4.x) over node-mio's
 * `Poll`, watch mode and `SourceFd`, with epoll's level-triggered semantics.
 * Replace `require('epoll')` with `require('node-mio/epoll')`.
 *
 * @example
 * ```ts
 * const { Epoll } = require('node-mio/epoll')
 * const fd = fs.openSync('/sys/class/gpio/gpio17/value', 'r')
 * const poller = new Epoll((err, fd, events) => {
 *   fs.readSync(fd, buf, 0, 1, 0) // clear the interrupt
 *   console.log('value', buf[0] - 48)
 * })
 * poller.add(fd, Epoll.EPOLLPRI)
 * // later:
 * poller.remove(fd).close()
 * ```
 * @packageDocumentation
 */
import { constants } from 'node:os'
import { backend } from '../backend'
import binding, { fast } from '../binding'
import { invalidArgType } from '../errors'
import { Events, type Event } from '../events'
import { defineValue } from '../intrinsics'
import { Interest } from '../interest'
import { Poll } from '../poll'
import { handleOf } from '../source'
import { registryHandle } from '../registry'
import { hasErrorCode } from '../system-error'
import { SourceFd } from '../unix/source-fd'
import type { Watch } from '../watch'

const IN = 0x001
const PRI = 0x002
const OUT = 0x004
const ERR = 0x008
const HUP = 0x010
const RDHUP = 0x2000
const ONESHOT = 0x4000_0000
const ET = 0x8000_0000
const NVAL = 0x020
/** What `poll(2)` is asked about; ERR and HUP are always reported. */
const ASKABLE = IN | PRI | OUT | RDHUP

/** `poll(2)` with a zero timeout on a source's descriptor (Unix; the hot path). */
const pollNow = fast.sourcePollNow ?? ((): number => 0)

/** Whether the selector is mio's poll(2) one, which reports a `SourceFd` once per registration. */
const REARM = backend().selector === 'poll'

/** Whether `handle`'s descriptor is closed (`POLLNVAL`: a number no file has). */
const isClosedFd = (handle: number): boolean => (pollNow(handle, 0) & NVAL) !== 0

/** How many events one watch batch takes from the selector. */
const BATCH = 256

/** The callback of an {@link Epoll}: `err` is `null` and `events` a mask of `Epoll.EPOLL*` bits. */
export type EpollCallback = (err: Error | null, fd: number, events: number) => void

/** One descriptor registered with an `Epoll`. */
interface Entry {
  readonly fd: number
  readonly token: number
  readonly source: SourceFd
  /** The source's native handle. */
  readonly handle: number
  /** The `EPOLL*` mask of the last `add` or `modify`. */
  events: number
  /** mio's interest bits for `events`. */
  bits: number
  /** Registered with the selector (an `EPOLLONESHOT` entry is not after its event until `modify`). */
  armed: boolean
  /** Level-triggered and due for another look on the next turn of the loop. */
  queued: boolean
}

/** An error with a code, an errno and the system call, as node-mio's system errors. */
function systemError(message: string, code: string, syscall: string): Error {
  const errno = -((constants.errno as Record<string, number>)[code] ?? 0)
  return coded(new Error(message), code, errno, syscall)
}

/** `error` with `code` (and `errno`, `syscall`) defined, not assigned: no setter on Error.prototype runs. */
function coded(error: Error, code: string, errno?: number, syscall?: string): Error {
  defineValue(error, 'code', code)
  if (errno !== undefined) defineValue(error, 'errno', errno)
  if (syscall !== undefined) defineValue(error, 'syscall', syscall)
  return error
}

function closedError(method: string): Error {
  return coded(new Error(`${method} can't be called after calling close`), 'ERR_MIO_CLOSED')
}

function checkFdArg(fd: unknown): number {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fff_ffff) {
    throw invalidArgType('fd', 'a file descriptor (an integer from 0 to 2^31 - 1)', fd)
  }
  return fd
}

function checkEvents(events: unknown): number {
  if (typeof events !== 'number' || !Number.isInteger(events)) throw invalidArgType('events', 'an integer mask of Epoll.EPOLL* bits', events)
  // EPOLLET is 2^31: some builds of the original hand it out as a negative int32.
  return events >>> 0
}

/** mio's interest bits for an `EPOLL*` mask; throws for what this OS cannot watch. */
function interestBits(events: number): number {
  let bits = 0
  if ((events & (IN | RDHUP)) !== 0) bits |= binding.INTEREST_READABLE
  if ((events & OUT) !== 0) bits |= binding.INTEREST_WRITABLE
  if ((events & PRI) !== 0) {
    const priority = Interest.PRIORITY
    if (priority === undefined) {
      throw coded(new Error(`EPOLLPRI cannot be watched on ${process.platform}: its selector has no priority events (Linux and Android have them)`), 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM')
    }
    bits |= priority.bits
  }
  // Only EPOLLERR/EPOLLHUP (always reported) or flags: watch readable
  // readiness, whose events carry the hang-up and error conditions, and
  // report only those.
  if (bits === 0) bits = binding.INTEREST_READABLE
  return bits
}

/**
 * The `EPOLL*` bits of one mio event, limited to what `events` asked for
 * (plus ERR and HUP): what an edge reports when `poll(2)` no longer sees
 * its condition (it came and went before the callback).
 */
function epollBits(mio: Event, events: number): number {
  let out = 0
  if (mio.isPriority()) out |= PRI
  else if (mio.isReadable()) out |= IN
  if (mio.isWritable()) out |= OUT
  if (mio.isError()) out |= ERR
  if (mio.isReadClosed()) {
    out |= RDHUP
    if (mio.isWriteClosed()) out |= HUP
  }
  return out & (events | ERR | HUP)
}

/**
 * Watches file descriptors for readiness, with the API and semantics of the
 * `epoll` npm package's `Epoll`: `callback(err, fd, events)` runs on the
 * event loop for each ready descriptor.
 *
 * Level-triggered by default, as epoll: a descriptor whose data is not read
 * keeps reporting, once per turn of the event loop. `EPOLLET` makes it
 * edge-triggered (one event per change), `EPOLLONESHOT` disarms it after one
 * event until `modify()`. `events` holds the conditions as `poll(2)` reports
 * them when the callback is called, limited to those asked for plus
 * `EPOLLERR` and `EPOLLHUP`. The process stays alive while a descriptor is
 * registered on an open instance.
 *
 * Beyond the original: each instance has its own selector (node-mio's
 * `Poll`, watched on the event loop without a thread), so it also runs on
 * macOS and the BSDs (kqueue, where `EPOLLPRI`, which only Linux's selector
 * has, is an `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM` error), on Bun and Deno,
 * and in worker threads.
 *
 * @example
 * ```ts
 * const poller = new Epoll((err, fd, events) => {
 *   if (events & Epoll.EPOLLIN) console.log('readable', fs.readSync(fd, buf))
 * })
 * poller.add(fd, Epoll.EPOLLIN)
 * ```
 */
export class Epoll {
  /** Readable (`0x001`). */
  static readonly EPOLLIN = IN
  /** Writable (`0x004`). */
  static readonly EPOLLOUT = OUT
  /** The peer shut down its writing half (`0x2000`). */
  static readonly EPOLLRDHUP = RDHUP
  /** Priority data, GPIO interrupts on sysfs (`0x002`). */
  static readonly EPOLLPRI = PRI
  /** An error condition; always reported (`0x008`). */
  static readonly EPOLLERR = ERR
  /** Hang-up; always reported (`0x010`). */
  static readonly EPOLLHUP = HUP
  /** Edge-triggered: one event per change of readiness (`0x80000000`). */
  static readonly EPOLLET = ET
  /** Disarmed after one event until `modify()` (`0x40000000`). */
  static readonly EPOLLONESHOT = ONESHOT

  #poll: Poll | undefined
  #registryHandle = 0
  readonly #events = new Events(BATCH)
  #watch: Watch | undefined
  readonly #callback: EpollCallback
  readonly #byFd = new Map<number, Entry>()
  readonly #byToken = new Map<number, Entry>()
  #nextToken = 1
  #closed = false
  /** Level-triggered entries to look at on the next turn, and the array the turn after uses. */
  #pending: Entry[] = []
  #spare: Entry[] = []
  #immediate: NodeJS.Immediate | undefined

  /** `callback(err, fd, events)` runs for every event of every descriptor added to this instance. */
  constructor(callback: EpollCallback) {
    if (typeof callback !== 'function') throw invalidArgType('callback', 'a function', callback)
    this.#callback = callback
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed
  }

  /**
   * Watches `fd` for `events` (`Epoll.EPOLLIN | Epoll.EPOLLET`, ...). Adding
   * a descriptor this instance watches already throws `EEXIST`; one the OS
   * cannot watch throws its error (`EPERM` for a regular file on Linux,
   * `EBADF` for a closed descriptor).
   */
  add(fd: number, events: number): this {
    if (this.#closed) throw closedError('add')
    checkFdArg(fd)
    const mask = checkEvents(events)
    if (this.#byFd.has(fd)) throw systemError('File exists', 'EEXIST', 'epoll_ctl')
    const bits = interestBits(mask)
    const source = new SourceFd(fd)
    const handle = handleOf(source)
    const token = this.#nextToken++
    try {
      // epoll refuses a closed descriptor; the poll(2) selector would take it.
      if (isClosedFd(handle)) throw systemError('Bad file descriptor', 'EBADF', 'epoll_ctl')
      binding.registryRegister(this.#registry(), handle, token, bits)
    } catch (error) {
      source.close()
      throw error
    }
    const entry: Entry = { fd, token, source, handle, events: mask, bits, armed: true, queued: false }
    this.#byFd.set(fd, entry)
    this.#byToken.set(token, entry)
    if (this.#byFd.size === 1) this.#startWatch()
    return this
  }

  /** Replaces the events `fd` is watched for; re-arms an `EPOLLONESHOT` descriptor. Unknown `fd`: `ENOENT`. */
  modify(fd: number, events: number): this {
    if (this.#closed) throw closedError('modify')
    checkFdArg(fd)
    const mask = checkEvents(events)
    const entry = this.#byFd.get(fd)
    if (entry === undefined) throw systemError('No such file or directory', 'ENOENT', 'epoll_ctl')
    const bits = interestBits(mask)
    const registry = this.#registry()
    if (!entry.armed) binding.registryRegister(registry, entry.handle, entry.token, bits)
    else {
      try {
        binding.registryReregister(registry, entry.handle, entry.token, bits)
      } catch (error) {
        // Dropped by the poll(2) selector after a hang-up or error: register afresh.
        if (!hasErrorCode(error, 'ENOENT')) throw error
        binding.registryRegister(registry, entry.handle, entry.token, bits)
      }
    }
    entry.events = mask
    entry.bits = bits
    entry.armed = true
    return this
  }

  /**
   * Stops watching `fd`. Unknown `fd`: `ENOENT`. A descriptor closed while
   * registered is forgotten and the call throws `EBADF`, as epoll's.
   */
  remove(fd: number): this {
    if (this.#closed) throw closedError('remove')
    checkFdArg(fd)
    const entry = this.#byFd.get(fd)
    if (entry === undefined) throw systemError('No such file or directory', 'ENOENT', 'epoll_ctl')
    this.#forget(entry)
    try {
      // A descriptor closed since add() is EBADF, as epoll says (the poll(2)
      // selector cannot tell).
      if (isClosedFd(entry.handle)) throw systemError('Bad file descriptor', 'EBADF', 'epoll_ctl')
      if (entry.armed) this.#deregister(entry)
    } finally {
      entry.source.close()
    }
    return this
  }

  /**
   * Stops watching every descriptor and releases the selector; the process
   * no longer stays alive for this instance. Closing twice throws, as the
   * original's.
   */
  close(): this {
    if (this.#closed) throw coded(new Error("close can't be called more than once"), 'ERR_MIO_CLOSED')
    this.#closed = true
    for (const entry of Array.from(this.#byFd.values())) {
      this.#forget(entry)
      entry.source.close()
    }
    this.#watch?.stop()
    this.#watch = undefined
    if (this.#immediate !== undefined) clearImmediate(this.#immediate)
    this.#immediate = undefined
    this.#poll?.close()
    this.#poll = undefined
    return this
  }

  /** The selector's registry handle (the `Poll` made on first use). */
  #registry(): number {
    if (this.#poll === undefined) {
      this.#poll = new Poll()
      this.#registryHandle = registryHandle(this.#poll.registry)
    }
    return this.#registryHandle
  }

  /**
   * Takes `entry` off the selector. The poll(2) selector (a build with mio's
   * poll backend) forgets a descriptor by itself once it reported a hang-up
   * or an error: `ENOENT` then means it is off already.
   */
  #deregister(entry: Entry): void {
    try {
      binding.registryDeregister(this.#registry(), entry.handle)
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw error
    }
  }

  /**
   * Registers `entry` again with what it asked for: mio's poll(2) selector
   * reports a `SourceFd` once until then (it has no would-block to tell it
   * the descriptor was drained). One it dropped after a hang-up or error
   * stays off: its conditions hold for good, and the level-triggered turns
   * (`poll(2)` each turn) report them.
   */
  #rearm(entry: Entry): void {
    try {
      binding.registryReregister(this.#registry(), entry.handle, entry.token, entry.bits)
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw error
    }
  }

  #forget(entry: Entry): void {
    this.#byFd.delete(entry.fd)
    this.#byToken.delete(entry.token)
    // The watch holds this instance (and so keeps the process alive) only
    // while a descriptor is registered.
    if (this.#byFd.size === 0) {
      this.#watch?.stop()
      this.#watch = undefined
    }
  }

  #startWatch(): void {
    const poll = this.#poll
    if (poll === undefined || this.#watch !== undefined) return
    const byToken = this.#byToken
    this.#watch = poll.watch(this.#events, (batch) => {
      for (let i = 0; i < batch.length; i++) {
        const event = batch.get(i)!
        const entry = byToken.get(event.token)
        // A descriptor removed (or re-added) since the selector saw it.
        if (entry === undefined || !entry.armed) continue
        if (REARM && (entry.events & ONESHOT) === 0) this.#rearm(entry)
        this.#fromSelector(entry, event)
      }
    })
  }

  /** Whether `entry` is still registered here, armed. */
  #current(entry: Entry): boolean {
    return entry.armed && this.#byToken.get(entry.token) === entry
  }

  /** The `EPOLL*` conditions of `entry` now (`poll(2)`), limited to what it asked for; `0` if none or closed. */
  #now(entry: Entry): number {
    const revents = pollNow(entry.handle, entry.events & ASKABLE)
    if ((revents & NVAL) !== 0) return 0
    return revents & (entry.events | ERR | HUP)
  }

  /** An event from the (edge-triggered) selector; `mio` is read before this entry's callback runs. */
  #fromSelector(entry: Entry, mio: Event): void {
    const mask = entry.events
    if ((mask & (ET | ONESHOT)) === 0) {
      // Level-triggered and already due for a look on the next turn.
      if (entry.queued) return
      const events = this.#now(entry)
      if (events !== 0) this.#level(entry, events)
      return
    }
    // Edge-triggered or one-shot: report the edge, with the conditions as
    // they are now when the descriptor still has them.
    const events = this.#now(entry) || epollBits(mio, mask)
    if (events === 0) return
    if ((mask & ONESHOT) !== 0) {
      // Disarmed until modify(), as EPOLLONESHOT.
      entry.armed = false
      this.#deregister(entry)
    }
    this.#callback.call(undefined, null, entry.fd, events)
  }

  /**
   * Reports a level-triggered descriptor and looks at it again on the next
   * turn of the event loop: as epoll's level-triggered mode, a descriptor
   * whose conditions still hold reports once per turn until they clear.
   * One that cleared is left to the selector, which reports its next change.
   */
  #level(entry: Entry, events: number): void {
    try {
      this.#callback.call(undefined, null, entry.fd, events)
    } finally {
      if (!entry.queued && (entry.events & (ET | ONESHOT)) === 0 && this.#current(entry)) {
        entry.queued = true
        this.#pending.push(entry)
        this.#immediate ??= setImmediate(this.#turn)
      }
    }
  }

  /** The next turn: level-triggered descriptors still ready report again. */
  readonly #turn = (): void => {
    this.#immediate = undefined
    const due = this.#pending
    this.#pending = this.#spare
    this.#spare = due
    for (let i = 0; i < due.length; i++) {
      const entry = due[i]!
      entry.queued = false
      if (this.#closed || !this.#current(entry) || (entry.events & (ET | ONESHOT)) !== 0) continue
      const events = this.#now(entry)
      if (events !== 0) this.#level(entry, events)
    }
    due.length = 0
  }
}
