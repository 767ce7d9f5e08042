// Child processes: what must be seen from outside a process (an exit code,
// what it printed, whether it stays alive) runs in one.
import { spawn } from 'node:child_process'

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
 * directory, and resolves with its exit status and output. A child still
 * running after `patience` ms is killed and the promise rejects: a guard
 * against a hang, never a measurement. `env` is added to this process's.
 */
export function runNode(code: string, options: { env?: NodeJS.ProcessEnv; patience?: number } = {}): Promise<ChildResult> {
  const patience = options.patience ?? 30_000
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], {
      cwd: process.cwd(),
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`child process still running after ${patience} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, patience)
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
