// Panics: a bug in node-mio's Rust code must surface as a JavaScript error
// (code `ERR_MIO_PANIC`), never abort the process. A test-only build (the
// `testing` cargo feature) adds `testingPanicNext(n)`, which makes the next
// `n` calls into the binding panic; this spec builds it (cargo, debug
// profile, its own target folder) unless NODE_MIO_TESTING_ADDON names one,
// and drives it through the raw binding in a child process.
import test from 'ava'
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { runNode } from './support/processes.ts'

const root = join(import.meta.dirname, '..')

let testingAddonPath: string | undefined

/**
 * The testing build of the addon, built once: the tests run concurrently, and
 * a second copy over the file while the first test's child loads it fails
 * that load ("file too short").
 */
function testingAddon(): string {
  const given = process.env.NODE_MIO_TESTING_ADDON
  if (given) return given
  if (testingAddonPath !== undefined) return testingAddonPath
  const targetDir = join(root, 'target', 'testing')
  execFileSync('cargo', ['build', '--quiet', '--features', 'testing', '--target-dir', targetDir], { cwd: root, stdio: 'inherit' })
  const built = join(targetDir, 'debug', process.platform === 'win32' ? 'node_mio.dll' : process.platform === 'darwin' ? 'libnode_mio.dylib' : 'libnode_mio.so')
  const addon = join(targetDir, 'mio-testing.node')
  copyFileSync(built, addon)
  testingAddonPath = addon
  return addon
}

// `npm run test:artifact` (a downloaded binary, no Rust) cannot build the testing addon.
const noRust = process.env.NODE_MIO_NO_RUST === '1' && !process.env.NODE_MIO_TESTING_ADDON
;(noRust ? test.skip : test)('a panic in any kind of entry point is an ERR_MIO_PANIC error; the process and the binding carry on', async (t) => {
  t.timeout(10 * 60_000)
  const addon = testingAddon()
  t.true(existsSync(addon))
  const result = await runNode(
    `
    const dgram = require('node:dgram')
    const raw = require(${JSON.stringify(addon)})
    const fast = raw.fastCalls()
    const lines = []
    const report = (name, value) => lines.push(name + '=' + value)
    const codeOf = (fn) => { try { return 'ok:' + typeof fn() } catch (error) { return error.code + (error instanceof Error ? '' : ' (not an Error)') } }
    // A #[napi] function.
    raw.testingPanicNext(1)
    report('napi', codeOf(() => raw.pollNew()))
    // The hot-path callbacks.
    const poll = raw.pollNew()
    const storage = raw.eventsRegister(new Float64Array(64))
    raw.testingPanicNext(1)
    report('pollPoll', codeOf(() => fast.pollPoll(poll, storage, 0)))
    const socket = raw.udpBind('127.0.0.1:0')
    raw.testingPanicNext(1)
    report('streamRead', codeOf(() => fast.streamRead(socket, new Uint8Array(4))))
    // Everything still works afterwards.
    report('after', codeOf(() => fast.pollPoll(poll, storage, 0)))
    // The watch, with the best driver here: with 'uv' the panic comes in the
    // libuv callback before any JavaScript runs, with 'thread' in the first
    // guarded call of the JS callback (watchTake). Either way it is an
    // uncaught exception, and the watch keeps delivering.
    const port = raw.socketLocalAddr(socket).port
    raw.registryRegister(raw.pollRegistry(poll), socket, 7, 1)
    const sender = dgram.createSocket('udp4')
    let callbacks = 0
    const drain = () => { while (raw.udpRecv(socket, new Uint8Array(64)) !== null) {} }
    const watch = raw.watchStart(poll, raw.watchDrivers()[0], 64, () => {
      const n = fast.watchTake(watch, storage)
      drain()
      callbacks++
      if (callbacks === 1) {
        raw.watchStop(watch)
        sender.close()
        raw.sourceClose(socket)
        report('callbacks', callbacks)
        report('events', n)
      }
    })
    process.once('uncaughtException', (error) => {
      report('uncaught', error.code)
      // Drain to would-block as the contract says (the failed callback could
      // not): mio's Windows readiness re-arms only then.
      drain()
      sender.send('again', port, '127.0.0.1')
    })
    raw.testingPanicNext(1)
    sender.send('first', port, '127.0.0.1')
    process.on('exit', () => console.log(lines.join('\\n')))
    `,
    { patience: 60_000 },
  )
  t.is(result.signal, null, result.stderr)
  t.is(result.code, 0, result.stderr)
  const lines = Object.fromEntries(result.stdout.trim().split('\n').map((line) => line.split('=')))
  t.is(lines.napi, 'ERR_MIO_PANIC')
  t.is(lines.pollPoll, 'ERR_MIO_PANIC')
  t.is(lines.streamRead, 'ERR_MIO_PANIC')
  t.is(lines.after, 'ok:number')
  t.is(lines.uncaught, 'ERR_MIO_PANIC', 'a panic in the watch callback is an uncaught exception')
  t.is(lines.callbacks, '1', 'the watch delivered the next event')
  t.regex(result.stderr, /forced by testingPanicNext/, 'the panic message is printed, as Rust prints any panic')
})

// The events storage's environment teardown hook is a callback from outside
// JavaScript, like the watch's: a panic there is contained (reported on
// stderr, naming the hook), never an abort of the process.
;(noRust ? test.skip : test)('a panic in the events teardown hook of an ending worker is contained; the process carries on', async (t) => {
  t.timeout(10 * 60_000)
  const addon = testingAddon()
  const result = await runNode(
    `
    const { Worker } = require('node:worker_threads')
    const worker = new Worker(
      'const raw = require(' + ${JSON.stringify(JSON.stringify(addon))} + ');' +
        'raw.eventsRegister(new Float64Array(raw.EVENT_STRIDE * 4));' +
        'raw.testingPanicNext(1)',
      { eval: true },
    )
    worker.on('exit', (code) => {
      console.log('worker=' + code)
      setImmediate(() => console.log('alive=true'))
    })
    `,
    { patience: 60_000 },
  )
  t.is(result.signal, null, result.stderr)
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /worker=0/)
  t.regex(result.stdout, /alive=true/)
  t.regex(result.stderr, /\(in the events teardown hook\)/, 'the contained panic names the hook')
})
