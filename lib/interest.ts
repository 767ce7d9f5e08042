import binding from './binding'
import { invalidArgType } from './errors'

const NAMES: ReadonlyArray<readonly [number, string]> = [
  [binding.INTEREST_READABLE, 'READABLE'],
  [binding.INTEREST_WRITABLE, 'WRITABLE'],
  [binding.INTEREST_PRIORITY, 'PRIORITY'],
  [binding.INTEREST_AIO, 'AIO'],
  [binding.INTEREST_LIO, 'LIO'],
]

const KNOWN = NAMES.reduce((all, [bit]) => all | bit, 0)
const interned = new Map<number, Interest>()
let sealed = false

/**
 * The readiness a registration asks for, as mio's `Interest`. Never empty.
 *
 * `READABLE` and `WRITABLE` exist everywhere. The others exist where mio
 * has them, and are `undefined` elsewhere:
 *
 * | member | platforms |
 * | --- | --- |
 * | `PRIORITY` | Linux, Android (epoll's `EPOLLPRI`, `poll(2)`'s `POLLPRI`) |
 * | `AIO` | FreeBSD, DragonFly BSD, macOS (kqueue's `EVFILT_AIO`) |
 * | `LIO` | FreeBSD (kqueue's `EVFILT_LIO`) |
 *
 * None of them exists on NetBSD, OpenBSD, illumos or Windows. A build with
 * mio's `poll(2)` selector (`NODE_MIO_BACKEND=poll`) keeps the members but
 * cannot watch AIO or LIO: `poll(2)` has no such events, so a registration
 * asking only for them never fires. Values are interned: combining two interests never allocates,
 * and equal interests are the same object (`===` works).
 *
 * @example
 * ```ts
 * const both = Interest.READABLE.add(Interest.WRITABLE)
 * both.isWritable() // true
 * both.remove(Interest.WRITABLE) === Interest.READABLE // true
 * Interest.READABLE.remove(Interest.READABLE) // null: an interest is never empty
 * ```
 */
export class Interest {
  /** Readable readiness. */
  static readonly READABLE: Interest
  /** Writable readiness. */
  static readonly WRITABLE: Interest
  /** Priority (out-of-band) readiness: Linux and Android, `undefined` elsewhere. */
  static readonly PRIORITY: Interest | undefined
  /** AIO completion: FreeBSD, DragonFly BSD and macOS, `undefined` elsewhere. */
  static readonly AIO: Interest | undefined
  /** LIO completion: FreeBSD only, `undefined` elsewhere. */
  static readonly LIO: Interest | undefined

  /** The interest's bits as the native binding reads them. @internal */
  readonly bits: number
  // The brand `isInterest` tests with `#interned in value`.
  // oxlint-disable-next-line eslint/no-unused-private-class-members
  readonly #interned = true

  /** @internal */
  static isInterest(value: unknown): value is Interest {
    return typeof value === 'object' && value !== null && #interned in value
  }

  private constructor(bits: number) {
    if (sealed) throw new TypeError('Interest has no public constructor: use Interest.READABLE, Interest.WRITABLE, add() and remove()')
    this.bits = bits
    Object.freeze(this)
  }

  /** @internal */
  static fromBits(bits: number): Interest | null {
    if (bits === 0) return null
    let found = interned.get(bits)
    if (found === undefined) {
      sealed = false
      found = new Interest(bits)
      sealed = true
      interned.set(bits, found)
    }
    return found
  }

  /** This interest and `other` together (mio's `add`, `|`). */
  add(other: Interest): Interest {
    return Interest.fromBits(this.bits | checkInterest(other, 'other').bits) as Interest
  }

  /** This interest without `other`; `null` when nothing is left (mio's `remove`). */
  remove(other: Interest): Interest | null {
    return Interest.fromBits(this.bits & ~checkInterest(other, 'other').bits)
  }

  /** Whether this interest includes {@link Interest.READABLE}. */
  isReadable(): boolean {
    return (this.bits & binding.INTEREST_READABLE) !== 0
  }

  /** Whether this interest includes {@link Interest.WRITABLE}. */
  isWritable(): boolean {
    return (this.bits & binding.INTEREST_WRITABLE) !== 0
  }

  /** Always `false` where the OS has no priority interest. */
  isPriority(): boolean {
    return binding.INTEREST_PRIORITY !== 0 && (this.bits & binding.INTEREST_PRIORITY) !== 0
  }

  /** Always `false` where the OS has no AIO interest. */
  isAio(): boolean {
    return binding.INTEREST_AIO !== 0 && (this.bits & binding.INTEREST_AIO) !== 0
  }

  /** Always `false` where the OS has no LIO interest. */
  isLio(): boolean {
    return binding.INTEREST_LIO !== 0 && (this.bits & binding.INTEREST_LIO) !== 0
  }

  /** `'READABLE | WRITABLE'`, as mio's `Debug` prints it. */
  toString(): string {
    return NAMES.filter(([bit]) => bit !== 0 && (this.bits & bit) !== 0)
      .map(([, name]) => name)
      .join(' | ')
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Interest(${this.toString()})`
  }
}

/** Checks that `value` is an `Interest`. @internal */
export function checkInterest(value: unknown, name = 'interest'): Interest {
  if (!Interest.isInterest(value)) throw invalidArgType(name, 'an Interest (such as Interest.READABLE)', value)
  return value
}

function define(name: string, bit: number): void {
  Object.defineProperty(Interest, name, {
    value: bit !== 0 && (bit & KNOWN) === bit ? Interest.fromBits(bit) : undefined,
    enumerable: true,
  })
}

define('READABLE', binding.INTEREST_READABLE)
define('WRITABLE', binding.INTEREST_WRITABLE)
define('PRIORITY', binding.INTEREST_PRIORITY)
define('AIO', binding.INTEREST_AIO)
define('LIO', binding.INTEREST_LIO)
sealed = true
