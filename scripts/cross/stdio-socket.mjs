// Does a child process get the parent's TCP socket as its descriptor 3?
// node:net and node:child_process alone, no node-mio: a connected net.Socket
// is passed as stdio[3] and the child looks its fd 3 up in /proc/net.
// Node.js and Bun: the TCP socket itself (/proc/net/tcp). Deno 2.9.6: a Unix
// socket (/proc/net/unix), a stand-in it copies the stream through; and a
// net.Server has no descriptor to pass (no _handle.fd). fd-handoff.spec
// skips its two inherit-as-fd-3 tests there; `npm run cross` runs it under
// Deno. Linux only.
//
//   node scripts/cross/stdio-socket.mjs
import { spawn } from 'node:child_process'
import net from 'node:net'

const CHILD = String.raw`
const fs = require('node:fs')
const inode = /(\d+)/.exec(fs.readlinkSync('/proc/self/fd/3'))[1]
const table = ['tcp', 'tcp6', 'unix'].find((t) => fs.readFileSync('/proc/net/' + t, 'utf8').split(/\s+/).includes(inode))
console.log(table)
`

const server = net.createServer()
server.listen(0, '127.0.0.1', () => {
  console.log(`a listening net.Server's descriptor (_handle.fd): ${server._handle?.fd}`)
  const socket = net.connect(server.address().port, '127.0.0.1', () => {
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit', socket] })
    let table = ''
    child.stdout.on('data', (chunk) => (table += chunk))
    child.on('close', () => {
      table = table.trim()
      console.log(`a connected net.Socket as stdio[3]: the child's descriptor 3 is in /proc/net/${table || '?'}`)
      socket.destroy()
      server.close()
      process.exitCode = table === 'tcp' ? 0 : 1
    })
  })
})
