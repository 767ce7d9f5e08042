// What a child process run by a spec must have done when all went well.
import type { ExecutionContext } from 'ava'
import { linesOf, type ChildResult } from './processes.ts'

/**
 * The child ended by itself (no signal) with exit code `code` (0 unless
 * given), printed exactly `lines` on stdout and nothing on stderr. A wrong
 * exit code shows the child's stderr; `what` names the case in every message
 * where one test runs several children.
 *
 * @example
 * const result = await runNode(`console.log('hi')`)
 * expectCleanRun(t, result, ['hi'])
 */
export function expectCleanRun(t: ExecutionContext, result: ChildResult, lines: string[], options: { code?: number; what?: string } = {}): void {
  const { code = 0, what } = options
  t.is(result.signal, null, what)
  t.is(result.code, code, what === undefined ? result.stderr : `${what}: ${result.stderr}`)
  t.deepEqual(linesOf(result.stdout), lines, what)
  t.is(result.stderr, '', what)
}
