// Does node:dgram send datagrams in the order send() was called? node:dgram
// alone, no node-mio: one socket sends 0 to 7 in one go, another receives.
// Node.js and Bun: 0 to 7. Deno 2.9.6: 7 to 0, the calls of one tick sent
// last first. The watch contract's datagram test sends one datagram per
// call there (__test__/support/watch-contract.ts); `npm run cross` runs it
// under Deno.
//
//   node scripts/cross/dgram-order.mjs
import dgram from 'node:dgram'
import { once } from 'node:events'

const receiver = dgram.createSocket('udp4')
const sender = dgram.createSocket('udp4')
receiver.bind(0, '127.0.0.1')
sender.bind(0, '127.0.0.1')
await Promise.all([once(receiver, 'listening'), once(sender, 'listening')])
const got = []
receiver.on('message', (message) => {
  got.push(message[0])
  if (got.length < 8) return
  console.log(`sent 0 to 7, received ${got.join(' ')}`)
  receiver.close()
  sender.close()
  process.exitCode = got.every((n, i) => n === i) ? 0 : 1
})
for (let i = 0; i < 8; i++) sender.send(Buffer.from([i]), receiver.address().port, '127.0.0.1')
