// Waiting in tests: bounded waits, deferred promises, turns of the event loop.
import { setTimeout as delay } from 'node:timers/promises'
import { underQemu, underWine } from './platform.ts'

/**
 * How long a test waits for what it expects before failing (a guard against
 * a hang, not a measurement). Wine runs every socket call through its server
 * process, and qemu-user emulates every instruction: longer there.
 */
export const PATIENCE = underWine || underQemu ? 90_000 : 20_000

/** Rejects after `patience` ms, naming what did not happen (`what` is read then). */
export function guard<T>(promise: Promise<T>, what: string | (() => string), patience = PATIENCE): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`)), patience)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A promise with its resolve function, for waiting on a callback. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A few turns of the event loop: long enough for a pending callback to run if it were going to. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    await delay(20)
  }
}
