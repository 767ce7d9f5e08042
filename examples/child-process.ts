// Talking to a child process through pipes on a Poll: `cat` gets lines on
// its stdin (a pipe() whose sending end we keep) and echoes them on its
// stdout (a pipe() whose receiving end we keep). Both ends are registered on
// one Poll: we write while the pipe takes data, wait for writable when it is
// full, read whatever comes back, and stop when the child's stdout closes.
//
//   node --import tsx examples/child-process.ts [lines]
//
// With enough lines (the default, 10000 lines, ~500 KB, is more than the
// pipes and cat's buffer hold) the writer finds the pipe full and has to wait.
// LINES works as well as the argument; CHILD_COMMAND replaces `cat` with any
// command that copies stdin to stdout.
import { spawn } from 'node:child_process'
import { Events, Interest, pipe, Poll, Token } from 'node-mio'

const TO_CHILD = Token(0)
const FROM_CHILD = Token(1)

const lineCount = Number(process.argv[2] ?? process.env.LINES ?? 10_000)
if (!Number.isSafeInteger(lineCount) || lineCount < 1) throw new RangeError(`line count must be a positive integer, got ${lineCount}`)
const command = (process.env.CHILD_COMMAND ?? 'cat').split(' ')
const [program = 'cat', ...programArgs] = command

// The lines to send, as one buffer; `offset` is how much went out.
const lines = Array.from({ length: lineCount }, (_, i) => `line ${i + 1} of ${lineCount}: the quick brown fox\n`)
const output = Buffer.from(lines.join(''))
let offset = 0

// Two non-blocking, close-on-exec pipes. The child gets one end of each as
// its stdin and stdout (spawn dup2()s them, which clears close-on-exec); we
// keep the other ends and must close our copies of the child's ends, or the
// child's stdout would never report its end.
const [toChild, childStdin] = pipe()
const [childStdout, fromChild] = pipe()
const child = spawn(program, programArgs, { stdio: [childStdin.fd, childStdout.fd, 'inherit'] })
childStdin.close()
childStdout.close()
const childExit = new Promise<number | null>((resolve) => {
  child.once('exit', (code) => resolve(code))
  child.once('error', (error) => {
    console.error(`could not run \`${command.join(' ')}\`: ${error.message}`)
    resolve(null)
  })
})
console.log(`spawned \`${command.join(' ')}\` (pid ${child.pid}); sending ${lineCount} lines, ${output.length} bytes`)

const poll = new Poll()
const events = new Events(16)
poll.registry.register(toChild, TO_CHILD, Interest.WRITABLE)
poll.registry.register(fromChild, FROM_CHILD, Interest.READABLE)

const buf = Buffer.alloc(64 * 1024)
let partial = '' // a line cut in two by a read
let received = 0
let writes = 0
let waits = 0
let sending = true
let open = true

/** Writes until everything went out (then closes stdin: cat's end of input) or the pipe is full. */
function writeSome(): void {
  while (offset < output.length) {
    let n: number | null
    try {
      n = toChild.write(output.subarray(offset))
    } catch (error) {
      // EPIPE: the child closed its stdin (or never started).
      console.log(`the child stopped reading: ${(error as NodeJS.ErrnoException).code}`)
      toChild.close()
      sending = false
      return
    }
    if (n === null) {
      // The pipe is full: the writable event says when it has room again.
      waits++
      return
    }
    writes++
    offset += n
  }
  toChild.close() // deregisters it, and the child reads end of file
  sending = false
  console.log(`sent everything in ${writes} writes, waited for writable ${waits} times`)
}

while (open) {
  poll.poll(events, null)
  for (const event of events) {
    if (event.token === TO_CHILD && sending && event.isWritable()) writeSome()
    if (event.token === FROM_CHILD) {
      // Drain until null; 0 means the child closed its stdout.
      for (let n; (n = fromChild.read(buf)) !== null; ) {
        if (n === 0) {
          open = false
          break
        }
        const text = partial + buf.toString('utf8', 0, n)
        const end = text.lastIndexOf('\n') + 1
        partial = text.slice(end)
        for (const line of text.slice(0, end).split('\n').slice(0, -1)) {
          received++
          console.log(`< ${line}`)
        }
      }
    }
  }
}
if (partial !== '') {
  received++
  console.log(`< ${partial}`)
}
if (sending) toChild.close()
fromChild.close()
poll.close()

// The child's exit arrives through Node's event loop, free again now.
void childExit.then((code) => {
  console.log(`received ${received} of ${lineCount} lines back; the child's stdout closed; \`${command[0]}\` exited with code ${code}`)
  process.exitCode = code === 0 && received === lineCount ? 0 : 1
})
