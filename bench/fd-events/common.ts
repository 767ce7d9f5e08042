// Shared by the watchers of the descriptor-events scenario of `npm run bench`
// (bench/fd-events/node-mio.ts and bench/fd-events/epoll-npm.ts): arguments,
// opening the FIFOs that bench/native/src/bin/pipe-writer.rs makes readable,
// and the tally every watcher keeps and prints.
//
// The protocol: pipe-writer creates DIR/fifo-0 .. DIR/fifo-<N-1> and holds
// their write ends; a watcher opens the read ends (non-blocking), registers
// them, prints `ready`, and from then on counts readiness events and reads the
// bytes (one byte per event: pipe-writer sends a FIFO its next byte only when
// the last was read). When pipe-writer closes the FIFOs, every read end reads
// end of file; the watcher then prints its tally as one JSON line and exits.
import fs from 'node:fs'
import path from 'node:path'

export interface Args {
  dir: string
  pipes: number
  maxSeconds: number
  /** What follows the common arguments. */
  rest: string[]
}

/** `DIR PIPES MAX-SECONDS [...]` */
export function parseArgs(usage: string): Args {
  const [dir, pipesArg, maxArg = '3600', ...rest] = process.argv.slice(2)
  const pipes = Number(pipesArg)
  const maxSeconds = Number(maxArg)
  if (dir === undefined || !fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`usage: ${usage} (no directory ${dir})`)
  if (!Number.isInteger(pipes) || pipes < 1 || pipes > 1000) throw new Error(`usage: ${usage} (pipes must be 1..1000)`)
  if (!(maxSeconds > 0)) throw new Error(`usage: ${usage} (bad max-seconds ${maxArg})`)
  return { dir, pipes, maxSeconds, rest }
}

/** Opens the read ends of the FIFOs, non-blocking: descriptor i is fifo-i. */
export function openFifos(dir: string, pipes: number): number[] {
  const fds: number[] = []
  for (let i = 0; i < pipes; i++) fds.push(fs.openSync(path.join(dir, `fifo-${i}`), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK))
  return fds
}

/** False once the parent (the harness) is gone or max-seconds have passed. */
export function lifetime(maxSeconds: number): () => boolean {
  const parent = process.ppid
  const deadline = Date.now() + maxSeconds * 1000
  return () => process.ppid === parent && Date.now() < deadline
}

/** Read buffer: pipe-writer sends one byte per event; a short read means the FIFO is empty. */
export const READ_SIZE = 64

/** What a watcher saw. */
export class Tally {
  /** Readiness events delivered for the FIFOs. */
  events = 0
  /** Events whose reads returned bytes. */
  dataEvents = 0
  /** Events whose first read would block (spurious or already drained). */
  emptyEvents = 0
  /** FIFOs that reached end of file. */
  eofs = 0
  bytes = 0
  /** Bytes out of sequence (each FIFO carries 0, 1, .. 255, 0, ..). */
  badBytes = 0
  readonly #next: Uint8Array
  #open: number

  constructor(pipes: number) {
    this.#next = new Uint8Array(pipes)
    this.#open = pipes
  }

  /** Checks and counts `n` bytes read from FIFO `i`. */
  got(i: number, buf: Uint8Array, n: number): void {
    let next = this.#next[i]!
    for (let k = 0; k < n; k++) {
      if (buf[k] !== next) this.badBytes++
      next = (next + 1) & 255
    }
    this.#next[i] = next
    this.bytes += n
  }

  /** FIFO `i` reached end of file; true when it was the last one open. */
  closed(): boolean {
    this.eofs++
    return --this.#open === 0
  }

  /** Prints the tally (one JSON line) with this process's CPU time. */
  report(extra: Record<string, unknown> = {}): void {
    const cpu = process.cpuUsage()
    console.log(
      JSON.stringify({
        events: this.events,
        data_events: this.dataEvents,
        empty_events: this.emptyEvents,
        eofs: this.eofs,
        bytes: this.bytes,
        bad_bytes: this.badBytes,
        cpu_s: (cpu.user + cpu.system) / 1e6,
        ...extra,
      }),
    )
  }
}
