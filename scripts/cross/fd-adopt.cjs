// Does node:net adopt a connected TCP descriptor (`new net.Socket({ fd })`)?
// node:net alone, no node-mio: a client connects, its descriptor is given
// to a second net.Socket, which reports its ports and sends a line. Node.js:
// both ports, and the line arrives. Bun 1.4.5: no ports (undefined), the
// socket errs with "Socket is closed", and the line never arrives.
// fd-handoff.spec skips its node:net adoption test where this fails;
// `npm run cross` runs it under Bun.
//
//   node scripts/cross/fd-adopt.cjs
const net = require('node:net')

const server = net.createServer((socket) => {
  socket.on('data', (data) => {
    console.log(`the line arrived: ${String(data).trim()}`)
    process.exit(0)
  })
})
server.listen(0, '127.0.0.1', () => {
  const client = net.connect(server.address().port, '127.0.0.1', () => {
    const fd = client._handle?.fd
    if (typeof fd !== 'number' || fd < 0) {
      console.log('no descriptor to adopt')
      process.exit(2)
    }
    const adopted = new net.Socket({ fd })
    adopted.on('error', (error) => console.log(`the adopted socket: ${error.message}`))
    console.log(`adopted: remotePort ${adopted.remotePort}, localPort ${adopted.localPort}`)
    adopted.write('sent through the adopted socket\n')
    setTimeout(() => {
      console.log('the line never arrived')
      process.exit(1)
    }, 2000)
  })
})
