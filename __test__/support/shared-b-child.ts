// A child process whose stdin and stdout are node-mio pipes, as mio's
// unix_pipe.rs spawns `cat` with piped stdio.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { pipe, type PipeReceiver, type PipeSender } from 'node-mio'

/** A child on two pipes, and this process's ends of them. */
export interface PipedChild {
  /** Writes to the child's stdin. */
  readonly toChild: PipeSender
  /** Reads the child's stdout. */
  readonly fromChild: PipeReceiver
  readonly child: ChildProcess
  /** Resolves with `[code, signal]` when the child exits. */
  readonly exited: Promise<unknown[]>
}

/**
 * Spawns `command` (stderr inherited) with its stdin and stdout on two
 * node-mio pipes, then closes this process's copies of the child's ends, so
 * the child's exit ends `fromChild`. The caller owns `toChild` and
 * `fromChild` (non-blocking, close-on-exec: the child gets neither).
 *
 * ```ts
 * const { toChild, fromChild, exited } = spawnPiped('cat')
 * ```
 */
export function spawnPiped(command: string, args: readonly string[] = []): PipedChild {
  const [toChild, childStdin] = pipe()
  const [childStdout, fromChild] = pipe()
  try {
    const child = spawn(command, args, { stdio: [childStdin.fd, childStdout.fd, 'inherit'] })
    return { toChild, fromChild, child, exited: once(child, 'exit') }
  } catch (error) {
    toChild.close()
    fromChild.close()
    throw error
  } finally {
    childStdin.close()
    childStdout.close()
  }
}
