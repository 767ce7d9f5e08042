// The TypeScript blocks of the documentation, as docs-snippets.spec.ts
// compiles and runs them. A block is fenced ```ts (or ```typescript); words
// after the language mark it:
//
//   runnable   also run (node --import tsx); it must exit 0 by itself
//   unix       run only where Unix sockets and descriptors exist (not Windows)
//   continued  appended to the previous block of the same file: one program
//              told in several blocks (flags come from its first block)
//
// Every block is a module of its own (or with its continuations): it imports
// what it uses from 'node-mio' as a user's program does.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/** Words a block's info string may carry after `ts`. */
export const FLAGS = ['runnable', 'unix', 'continued'] as const
type Flag = (typeof FLAGS)[number]

/** Where a run of lines of a snippet came from. */
export interface Segment {
  /** The Markdown file, relative to the project root. */
  file: string
  /** The Markdown line (1-based) of the block's first code line. */
  line: number
  /** The snippet line (0-based) this segment starts at. */
  at: number
  /** How many lines. */
  length: number
}

/** One program: a block and its continuations. */
export interface Snippet {
  /** `README.md:42`: the first block's first code line. */
  name: string
  code: string
  runnable: boolean
  unix: boolean
  segments: Segment[]
}

/** A block whose info string has a word not in {@link FLAGS}. */
export interface BadFence {
  where: string
  word: string
}

/** README.md, CONTRIBUTING.md and every Markdown file under docs/ (not docs/api, which typedoc writes). */
export function documentationFiles(root: string): string[] {
  const files = ['README.md', 'CONTRIBUTING.md'].map((name) => join(root, name))
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (relative(root, path) !== join('docs', 'api')) walk(path)
      } else if (entry.name.endsWith('.md')) files.push(path)
    }
  }
  walk(join(root, 'docs'))
  return files.sort()
}

/** The snippets of the Markdown files, and any fence with a word this does not know. */
export function extractSnippets(root: string, files: string[]): { snippets: Snippet[]; bad: BadFence[] } {
  const snippets: Snippet[] = []
  const bad: BadFence[] = []
  for (const path of files) {
    const file = relative(root, path).split('\\').join('/')
    const lines = readFileSync(path, 'utf8').split(/\r?\n/)
    let last: Snippet | undefined
    for (let i = 0; i < lines.length; i++) {
      const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)\s*(.*)$/.exec(lines[i]!)
      if (open === null) continue
      const [, indent, fence, lang, rest] = open as unknown as [string, string, string, string, string]
      let end = i + 1
      while (end < lines.length && !(lines[end]!.trim().startsWith(fence) && lines[end]!.trim().replace(/[`~]/g, '') === '')) end++
      const body = lines.slice(i + 1, end).map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      const line = i + 2
      i = end
      if (lang !== 'ts' && lang !== 'typescript') continue
      const words = rest.split(/\s+/).filter(Boolean)
      for (const word of words) if (!(FLAGS as readonly string[]).includes(word)) bad.push({ where: `${file}:${line - 1}`, word })
      const has = (flag: Flag): boolean => words.includes(flag)
      if (has('continued') && last !== undefined) {
        const at = last.code.split('\n').length
        last.code += `\n${body.join('\n')}`
        last.segments.push({ file, line, at, length: body.length })
        continue
      }
      if (has('continued')) bad.push({ where: `${file}:${line - 1}`, word: 'continued (no block before it)' })
      last = {
        name: `${file}:${line}`,
        code: body.join('\n'),
        runnable: has('runnable'),
        unix: has('unix'),
        segments: [{ file, line, at: 0, length: body.length }],
      }
      snippets.push(last)
    }
  }
  return { snippets, bad }
}

/** The Markdown `file:line` of line `at` (0-based) of a snippet. */
export function markdownLine(snippet: Snippet, at: number): string {
  const segment = [...snippet.segments].reverse().find((s) => s.at <= at) ?? snippet.segments[0]!
  return `${segment.file}:${segment.line + (at - segment.at)}`
}
