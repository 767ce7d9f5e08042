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
