// UnixStream.peerCred(): the peer's pid (where the OS reports it), uid and
// gid, from SO_PEERCRED (Linux) or getpeereid/LOCAL_PEERPID elsewhere.
import test from 'ava'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UdpSocket, UnixListener, UnixStream } from 'node-mio'
import * as binding from '../index.js'

const utest = process.platform === 'win32' ? test.skip : test
const reportsPid = process.platform === 'linux' || process.platform === 'darwin'

utest('a pair: the peer is this process', (t) => {
  const [a, b] = UnixStream.pair()
  const cred = a.peerCred()
  t.is(cred.uid, process.getuid!())
  t.is(cred.gid, process.getgid!())
  t.is(cred.pid, reportsPid ? process.pid : undefined)
  t.deepEqual(Object.keys(cred).sort(), ['gid', 'pid', 'uid'])
  a.close()
  b.close()
})

utest('an accepted connection from another process names that process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'node-mio-cred-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'sock')
  const listener = UnixListener.bind(path)
  const child = spawn(process.execPath, ['-e', `const s = require('node:net').connect(${JSON.stringify(path)}, () => console.log('up')); process.stdin.on('end', () => s.end()); process.stdin.resume()`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  t.teardown(() => child.kill())
  await once(child.stdout!, 'data')
  let accepted: [UnixStream, unknown] | null = null
  for (let i = 0; i < 100 && accepted === null; i++) {
    accepted = listener.accept()
    if (accepted === null) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const [conn] = accepted!
  const cred = conn.peerCred()
  t.is(cred.pid, reportsPid ? child.pid : undefined)
  t.is(cred.uid, process.getuid!())
  conn.close()
  listener.close()
  child.stdin!.end()
  await once(child, 'exit')
})

utest('wrong kinds and closed streams are refused', (t) => {
  const [a, b] = UnixStream.pair()
  b.close()
  t.throws(() => b.peerCred(), { code: 'ERR_SOCKET_CLOSED' })
  using udp = UdpSocket.bind('127.0.0.1:0')
  const handle = binding.udpBind('127.0.0.1:0')
  t.teardown(() => binding.sourceClose(handle))
  t.throws(() => binding.unixStreamPeerCred(handle), { instanceOf: TypeError })
  t.truthy(udp)
  a.close()
})
