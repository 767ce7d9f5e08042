import binding from './binding'
import { invalidArgType, outOfRange } from './errors'
import { ArrayBufferCtor, Float64ArrayCtor, filledArray, finalizeWith } from './intrinsics'
import type { Token } from './token'

const STRIDE = binding.EVENT_STRIDE
const READABLE = binding.EVENT_READABLE
const WRITABLE = binding.EVENT_WRITABLE
const ERROR = binding.EVENT_ERROR
const READ_CLOSED = binding.EVENT_READ_CLOSED
const WRITE_CLOSED = binding.EVENT_WRITE_CLOSED
const PRIORITY = binding.EVENT_PRIORITY
const AIO = binding.EVENT_AIO
const LIO = binding.EVENT_LIO

/**
 * One readiness event, as mio's `Event`.
 *
 * An `Event` is a view into its {@link Events}: it is valid until the next
 * `poll()` with the same `Events` (or `clear()`), which reuses it for another
 * event. Copy what you need (`event.token`, `event.isReadable()`) if you keep
 * it longer. The closed and error flags are hints: `read()` returning `0` or
 * throwing is the authority.
 */
export class Event {
  readonly #data: Float64Array
  readonly #at: number

  private constructor(data: Float64Array, index: number) {
    this.#data = data
    this.#at = index * STRIDE
  }

  /** The view of event `index` in `data`. @internal */
  static of(data: Float64Array, index: number): Event {
    return new Event(data, index)
  }

  /** The token the source was registered with. */
  get token(): Token {
    return this.#data[this.#at]!
  }

  /** The raw readiness bits (`EVENT_*` of the binding). @internal */
  get bits(): number {
    return this.#data[this.#at + 1]!
  }

  /** The source is readable (or the peer closed, or an error is pending). */
  isReadable(): boolean {
    return (this.#data[this.#at + 1]! & READABLE) !== 0
  }

  /** The source is writable. */
  isWritable(): boolean {
    return (this.#data[this.#at + 1]! & WRITABLE) !== 0
  }

  /** An error is pending on the source (see `takeError()`). */
  isError(): boolean {
    return (this.#data[this.#at + 1]! & ERROR) !== 0
  }

  /** The read half is closed (best effort). */
  isReadClosed(): boolean {
    return (this.#data[this.#at + 1]! & READ_CLOSED) !== 0
  }

  /** The write half is closed (best effort). */
  isWriteClosed(): boolean {
    return (this.#data[this.#at + 1]! & WRITE_CLOSED) !== 0
  }

  /** Priority (out-of-band) data is readable: Linux and Android (with epoll or `poll(2)`). */
  isPriority(): boolean {
    return (this.#data[this.#at + 1]! & PRIORITY) !== 0
  }

  /** An AIO operation completed: FreeBSD, DragonFly BSD and macOS, with kqueue. */
  isAio(): boolean {
    return (this.#data[this.#at + 1]! & AIO) !== 0
  }

  /** An LIO operation completed: FreeBSD, with kqueue. */
  isLio(): boolean {
    return (this.#data[this.#at + 1]! & LIO) !== 0
  }

  /** A plain-object copy, for logging or keeping past the next poll. */
  toJSON(): {
    /** {@link Event.token} */
    token: Token
    /** {@link Event.isReadable} */
    readable: boolean
    /** {@link Event.isWritable} */
    writable: boolean
    /** {@link Event.isError} */
    error: boolean
    /** {@link Event.isReadClosed} */
    readClosed: boolean
    /** {@link Event.isWriteClosed} */
    writeClosed: boolean
    /** {@link Event.isPriority} */
    priority: boolean
    /** {@link Event.isAio} */
    aio: boolean
    /** {@link Event.isLio} */
    lio: boolean
  } {
    return {
      token: this.token,
      readable: this.isReadable(),
      writable: this.isWritable(),
      error: this.isError(),
      readClosed: this.isReadClosed(),
      writeClosed: this.isWriteClosed(),
      priority: this.isPriority(),
      aio: this.isAio(),
      lio: this.isLio(),
    }
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const json = this.toJSON()
    const flags = Object.entries(json)
      .filter(([key, on]) => key !== 'token' && on === true)
      .map(([key]) => key)
    return `Event { token: ${json.token}, ${flags.join(', ') || 'no readiness'} }`
  }
}

/** The iterator an `Events` hands out; reused, so iterating allocates nothing. */
class EventsIterator implements IterableIterator<Event> {
  #events: Events
  #next = 0
  active = false
  readonly #result: { done: boolean; value: Event | undefined } = { done: false, value: undefined }

  constructor(events: Events) {
    this.#events = events
  }

  reset(): this {
    this.#next = 0
    this.active = true
    return this
  }

  next(): IteratorResult<Event> {
    const result = this.#result
    if (this.#next < this.#events.length) {
      result.done = false
      result.value = this.#events.get(this.#next++)
    } else {
      result.done = true
      result.value = undefined
      this.active = false
    }
    return result as IteratorResult<Event>
  }

  return(): IteratorResult<Event> {
    this.active = false
    const result = this.#result
    result.done = true
    result.value = undefined
    return result as IteratorResult<Event>
  }

  [Symbol.iterator](): this {
    return this
  }
}

let isEventsImpl!: (value: unknown) => value is Events
let eventsStorageHandle!: (events: Events) => number

/** Releases the binding's reference to a collected `Events`' storage. */
const finalizer = new FinalizationRegistry<number>((storage) => {
  binding.eventsRelease(storage)
})
let setEventsLength!: (events: Events, length: number) => void

/**
 * A reusable buffer of readiness events, as mio's `Events`.
 *
 * `poll()` clears it and fills it with up to `capacity` events; the rest come
 * with the next poll. The storage is one preallocated `Float64Array` that the
 * native side writes directly, and the {@link Event} views over it are
 * created once per slot and reused, so polling and iterating allocate nothing
 * in steady state. Events are valid until the next `poll()` with this object.
 *
 * @example
 * ```ts
 * const events = new Events(128)
 * poll.poll(events, null)
 * for (const event of events) {
 *   if (event.token === SERVER && event.isReadable()) acceptAll()
 * }
 * ```
 */
export class Events implements Iterable<Event> {
  static {
    isEventsImpl = (value): value is Events => typeof value === 'object' && value !== null && #data in value
    eventsStorageHandle = (events) => events.#storage
    setEventsLength = (events, length) => {
      events.#length = length
    }
  }

  readonly #data: Float64Array
  /** The binding's handle for `#data` (registered once; see src-rs/events.rs). */
  readonly #storage: number
  readonly #views: Array<Event | undefined>
  #length = 0
  #iterator: EventsIterator | undefined

  /**
   * @param capacity how many events one `poll()` may return: an integer from 1
   *   to 1,048,576. Zero would make `poll()` useless, so it is a `RangeError`.
   */
  constructor(capacity: number) {
    if (typeof capacity !== 'number') throw invalidArgType('capacity', 'of type number', capacity)
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > binding.EVENTS_MAX_CAPACITY) {
      throw outOfRange('capacity', `an integer >= 1 and <= ${binding.EVENTS_MAX_CAPACITY}`, capacity)
    }
    // Over a plain ArrayBuffer of its own, made with the built-ins captured
    // at load: the binding fills it on every poll (looking its memory up
    // each time, so nothing a program does to it can make a poll write
    // elsewhere).
    this.#data = new Float64ArrayCtor(new ArrayBufferCtor(capacity * STRIDE * Float64ArrayCtor.BYTES_PER_ELEMENT))
    this.#storage = binding.eventsRegister(this.#data)
    finalizeWith(finalizer, this, this.#storage)
    this.#views = filledArray<Event>(capacity)
  }

  /** How many events one poll can return. */
  get capacity(): number {
    return this.#views.length
  }

  /** How many events the last poll returned. */
  get length(): number {
    return this.#length
  }

  /** Whether the last poll returned no events (a timeout, or a wake-up with nothing ready). */
  isEmpty(): boolean {
    return this.#length === 0
  }

  /** Forgets the events of the last poll. */
  clear(): void {
    this.#length = 0
  }

  /** The event at `index` (`0 <= index < length`), or `undefined`. */
  get(index: number): Event | undefined {
    if (!(index >= 0 && index < this.#length)) return undefined
    return this.#views[index] ?? this.#view(index)
  }

  #view(index: number): Event | undefined {
    if (!Number.isInteger(index)) return undefined
    const view = Event.of(this.#data, index)
    this.#views[index] = view
    return view
  }

  /**
   * Iterates the events of the last poll. The iterator is reused: one pass at
   * a time is allocation-free, and a nested pass over the same `Events` gets
   * its own iterator.
   */
  [Symbol.iterator](): IterableIterator<Event> {
    let iterator = this.#iterator
    if (iterator === undefined) {
      iterator = this.#iterator = new EventsIterator(this)
    } else if (iterator.active) {
      return new EventsIterator(this).reset()
    }
    return iterator.reset()
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Events { capacity: ${this.capacity}, length: ${this.#length} }`
  }
}

/** The binding's handle for the storage `poll()` fills. @internal */
export function eventsStorage(events: Events): number {
  return eventsStorageHandle(events)
}

/** Records how many events `poll()` wrote. @internal */
export function setLength(events: Events, length: number): void {
  setEventsLength(events, length)
}

/** Whether `value` is a real `Events` (a brand check: a borrowed prototype is not). @internal */
export function isEvents(value: unknown): value is Events {
  return isEventsImpl(value)
}
