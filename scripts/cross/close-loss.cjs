// Does a TCP peer that writes 16 MiB and then ends (`end()`) or ends and
// closes (`end(() => destroy())`) deliver every byte? node:net alone, no
// node-mio: a worker writes, the main thread reads after 500 ms (so the
// writer has ended first). Linux and Windows: every byte, both ways. Wine 8
// (node.exe 20 and 22): in most trials the reader gets the end of the stream
// after about 4 MiB, either way (13 of 20 trials on 2026-12-02, the others
// whole). `npm run cross` runs it under Wine (scripts/cross.mjs).
//
//   node scripts/cross/close-loss.cjs
const net = require('node:net')
const { Worker } = require('node:worker_threads')

const N = 16 * 1024 * 1024

function trial(how) {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      server.close()
      let got = 0
      socket.pause()
      setTimeout(() => socket.resume(), 500)
      socket.on('data', (chunk) => (got += chunk.length))
      socket.on('end', () => {
        socket.destroy()
        resolve(got)
      })
      socket.on('error', (error) => resolve(`${error.code} after ${got}`))
    })
    server.listen(0, '127.0.0.1', () => {
      const ending = how === 'end' ? 's.end()' : 's.end(() => s.destroy())'
      const worker = new Worker(
        `const net = require('node:net')
        const s = net.connect(${server.address().port}, '127.0.0.1', () => {
          const buf = Buffer.alloc(1024)
          for (let amt = 0; amt < ${N}; amt += buf.length) s.write(buf)
          ${ending}
        })
        s.on('error', () => {})`,
        { eval: true },
      )
      worker.unref()
    })
  })
}

;(async () => {
  let lost = 0
  for (const how of ['end', 'end+destroy']) {
    const got = await trial(how)
    if (got !== N) lost++
    console.log(`${how.padEnd(12)} the reader got ${got} of ${N} bytes${got === N ? '' : '  LOST'}`)
  }
  process.exit(lost === 0 ? 0 : 1)
})()
