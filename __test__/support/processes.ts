// Child processes: what must be seen from outside a process (an exit code,
// what it printed, whether it stays alive) runs in one, and the examples run
// as real programs.
import type { ExecutionContext } from 'ava'
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { PATIENCE, guard } from './async.ts'

/** How a child process ended, and what it printed. */
export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs `code` (CommonJS JavaScript, where `require('node-mio')` is this
 * package) in a fresh `node` process whose working directory is the project
 * directory, and resolves with its exit status and output. A child that
 * prints nothing for `patience` ms is killed and the promise rejects: a
 * guard against a hang, never a measurement (a child still printing is
 * getting somewhere, however slowly a busy or emulated machine runs it). By
 * default half as long again as the shared bound (30 s; 135 s under Wine or
 * qemu, where a child that starts workers can take longer than 30 s just to
 * start and end them). `env` is added to this process's.
 */
export function runNode(code: string, options: { env?: NodeJS.ProcessEnv; patience?: number } = {}): Promise<ChildResult> {
  const patience = options.patience ?? 1.5 * PATIENCE
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], {
      cwd: process.cwd(),
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`child process still running, silent for ${patience} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, patience)
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      timer.refresh()
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      timer.refresh()
    })
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** The non-empty lines of `text`. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((line) => line !== '')
}

/** Variables the examples read: a child gets only those a test passes, nothing from the test runner's environment. */
const EXAMPLE_VARIABLES = ['PORT', 'TICK_MS', 'WORKERS', 'LISTEN_FDS', 'LISTEN_PID', 'MAX_CONNECTIONS', 'UNIX_ECHO_PATH', 'LINES', 'CHILD_COMMAND']

/**
 * One of `examples/` running as a real program (`node --import tsx`), its
 * output collected as it arrives; killed when the test ends if still running.
 * `fd3` becomes the child's descriptor 3. Waits give up after `patience` ms.
 */
export class Example {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  /** How the child ended, once it exited and its output is all read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly #patience: number
  #waiters: Array<() => void> = []

  constructor(
    t: ExecutionContext,
    readonly file: string,
    options: { args?: string[]; env?: NodeJS.ProcessEnv; fd3?: number | 'pipe'; patience?: number } = {},
  ) {
    this.#patience = options.patience ?? PATIENCE
    const env = { ...process.env, ...options.env }
    for (const name of EXAMPLE_VARIABLES) {
      if (options.env?.[name] === undefined) delete env[name]
    }
    const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe']
    if (options.fd3 !== undefined) stdio.push(options.fd3)
    this.child = spawn(process.execPath, ['--import', 'tsx', join('examples', file), ...(options.args ?? [])], { cwd: process.cwd(), env, stdio })
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        resolve({ code, signal })
        this.#wake()
      })
    })
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk
      this.#wake()
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
    })
    t.teardown(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill()
    })
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  /** Lines of stdout that match `pattern`. */
  lines(pattern: RegExp): string[] {
    return this.stdout.split('\n').filter((line) => pattern.test(line))
  }

  /** Waits until stdout matches `pattern`; fails if the child exits first. */
  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    let match: RegExpMatchArray | null = null
    await this.waitUntil(() => (match = this.stdout.match(pattern)) !== null, `print ${pattern}`)
    return match!
  }

  /** How much the child has printed: while it grows, the child is getting somewhere. */
  #printed = (): number => this.stdout.length + this.stderr.length

  /** Waits until `done()` holds, checking as output arrives; fails after `patience` ms with no new output. */
  async waitUntil(done: () => boolean, what: string): Promise<void> {
    let deadline = Date.now() + this.#patience
    let printed = this.#printed()
    for (;;) {
      if (done()) return
      if (this.#printed() !== printed) {
        printed = this.#printed()
        deadline = Date.now() + this.#patience
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${this.file} exited before it did ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)
      }
      if (Date.now() > deadline) throw new Error(`${this.file} did not ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** The `Listening on HOST:PORT` line (maybe followed by ` (details)`) a server prints once it is ready. */
  async listening(): Promise<{ host: string; port: number }> {
    const [, host = '', port] = await this.waitFor(/^Listening on \[?([^\]\s]+?)\]?:(\d+)(?: \(.*\))?$/m)
    return { host, port: Number(port) }
  }

  /** Waits for the child to exit by itself (while it keeps printing, however long that takes). */
  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return guard(this.exited, () => `${this.file} to exit\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`, this.#patience, this.#printed)
  }
}

/**
 * A program's `require('node-mio')` that prints a load error's code and
 * message and exits 1: Node, Bun and Deno each report an uncaught error
 * their own way, and only Node's shows its code.
 */
export const REQUIRE_NODE_MIO = "try { require('node-mio') } catch (error) { console.error(error.code + ': ' + error.message); process.exit(1) }"
