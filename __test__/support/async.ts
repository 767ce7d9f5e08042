// Waiting in tests: bounded waits, deferred promises, turns of the event loop.
import { setTimeout as delay } from 'node:timers/promises'
import { underQemu, underWine } from './platform.ts'

/**
 * How long a test waits for what it expects before failing (a guard against
 * a hang, not a measurement). Wine runs every socket call through its server
 * process, and qemu-user emulates every instruction: longer there.
 */
export const PATIENCE = underWine || underQemu ? 90_000 : 20_000

/**
 * Rejects when `patience` ms pass without `promise` settling, naming what did
 * not happen (`what` is read then). A guard against a hang, not a deadline:
 *
 * - `progress`, when given, is read at each deadline; while its value keeps
 *   changing (a count of what has arrived), the wait goes on for another
 *   `patience`, so a slow machine that is getting there is not failed.
 * - At a deadline the event loop first takes one more turn through its I/O:
 *   timers run before I/O in each turn, so a loop held up past the deadline
 *   (a busy or emulated machine) would otherwise fail a wait whose event is
 *   already queued.
 */
export function guard<T>(promise: Promise<T>, what: string | (() => string), patience = PATIENCE, progress?: () => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  let last = progress?.()
  const timeout = new Promise<never>((_, reject) => {
    const deadline = (): void => {
      setImmediate(() => {
        const now = progress?.()
        if (progress !== undefined && !Object.is(now, last)) {
          last = now
          timer = setTimeout(deadline, patience)
          return
        }
        reject(new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`))
      })
    }
    timer = setTimeout(deadline, patience)
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
