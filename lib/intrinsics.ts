/**
 * The built-ins the wrapper constructs its native-facing objects with,
 * captured once when node-mio loads: a program that later replaces
 * `globalThis.Float64Array` or `ArrayBuffer` (to hand the binding a buffer
 * it can shrink or transfer) does not change what node-mio creates. The
 * binding re-checks every buffer on every use anyway (see `src-rs/events.rs`
 * and `src-rs/napi_raw.rs`); this keeps the wrapper's own objects plain.
 * @internal
 * @packageDocumentation
 */

export const Float64ArrayCtor: Float64ArrayConstructor = Float64Array
export const ArrayBufferCtor: ArrayBufferConstructor = ArrayBuffer
export const isArray: (value: unknown) => value is unknown[] = Array.isArray

const { apply: ReflectApply, defineProperty: ReflectDefineProperty } = Reflect
const { register: finalizationRegister, unregister: finalizationUnregister } = FinalizationRegistry.prototype
const { slice: arraySlice } = Array.prototype
const ArrayCtor = Array
const { from: arrayFrom } = Array
const { create: ObjectCreate } = Object

/**
 * `registry.register(target, held, token)` with the method captured at
 * load: a program that replaces `FinalizationRegistry.prototype.register`
 * runs no code while a new wrapper takes ownership of its handle.
 */
export function finalizeWith<T>(registry: FinalizationRegistry<T>, target: object, held: T, token?: object): void {
  ReflectApply(finalizationRegister, registry, token === undefined ? [target, held] : [target, held, token])
}

/** `registry.unregister(token)`, with the method captured at load. */
export function unfinalize(registry: FinalizationRegistry<unknown>, token: object): void {
  ReflectApply(finalizationUnregister, registry, [token])
}

/**
 * A plain array of `source[start..end]`: built by `Array.prototype.slice`
 * (captured at load) on a non-array, which defines every element: no
 * setter on `Array.prototype` runs, and no iterator a program replaced.
 */
export function arrayOf(source: ArrayLike<number>, start: number, end: number): number[] {
  return ReflectApply(arraySlice, source, [start, end]) as number[]
}

/** Defines `key` on `target` as a plain data property (no setter runs). */
export function defineValue(target: object, key: PropertyKey, value: unknown): void {
  ReflectDefineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
}

/**
 * An array of `length` elements, each an own `undefined`: defined by
 * `Array.from` (captured at load) over an array-like with no prototype, so
 * no setter or iterator a program put on a prototype runs, and no later
 * read of an element falls through to `Array.prototype`.
 */
export function filledArray<T>(length: number): Array<T | undefined> {
  const like = ObjectCreate(null) as { length: number }
  like.length = length
  return ReflectApply(arrayFrom, ArrayCtor, [like]) as Array<T | undefined>
}
