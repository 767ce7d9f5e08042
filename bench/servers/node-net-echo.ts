// `node-net`: the idiomatic Node.js echo server of `npm run bench`:
// `socket.on('data', d => socket.write(d))` (TCP) and
// `socket.on('message', (m, r) => socket.send(m, r.port, r.address))` (UDP).
//
// Usage: node --import tsx bench/servers/node-net-echo.ts tcp|udp [port] [max-seconds]
// Port 0 picks one; the bound port is printed on stdout (one line). Loopback
// only. The server exits on SIGTERM, when its parent goes away, or after
// max-seconds (default 3600).
import dgram from 'node:dgram'
import net from 'node:net'

const [mode = 'tcp', portArg = '0', maxArg = '3600'] = process.argv.slice(2)
const port = Number(portArg)
const maxSeconds = Number(maxArg)
if (mode !== 'tcp' && mode !== 'udp') throw new Error(`mode must be tcp or udp, not ${mode}`)
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${portArg}`)
if (!(maxSeconds > 0)) throw new Error(`bad max-seconds ${maxArg}`)

const parent = process.ppid
const deadline = Date.now() + maxSeconds * 1000
setInterval(() => {
  if (process.ppid !== parent || Date.now() >= deadline) process.exit(0)
}, 500).unref()

if (mode === 'tcp') {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    socket.on('data', (d) => socket.write(d))
    socket.on('error', () => socket.destroy())
  })
  server.listen(port, '127.0.0.1', () => {
    console.log((server.address() as net.AddressInfo).port)
  })
} else {
  const socket = dgram.createSocket('udp4')
  socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address))
  socket.on('error', () => {})
  socket.bind(port, '127.0.0.1', () => {
    console.log(socket.address().port)
  })
}
