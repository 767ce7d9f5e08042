// Does node:fs work on a descriptor it did not open? node:fs alone, no
// node-mio: the shell opens descriptor 3, the program reads, stats and
// closes it. Node.js and Bun: it reads 3 bytes, stats it, closes it.
// Deno 2.9.6: EBADF each time; its node:fs knows only the descriptors it
// opened. So under Deno the specs reach node-mio's descriptors through the
// C library (__test__/support/raw-fd.ts). `npm run cross` runs it under
// Deno.
//
//   node scripts/cross/fs-fd.mjs 3</etc/hostname
import fs from 'node:fs'

const buf = Buffer.alloc(64)
const ops = [
  ['readSync', () => fs.readSync(3, buf, 0, 3, 0)],
  ['fstatSync', () => fs.fstatSync(3).isFile()],
  ['closeSync', () => fs.closeSync(3)],
]
let failed = 0
for (const [name, op] of ops) {
  try {
    console.log(`${name}(3): ${op()}`)
  } catch (error) {
    failed++
    console.log(`${name}(3): ${error.code}`)
  }
}
process.exit(failed === 0 ? 0 : 1)
