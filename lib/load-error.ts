/**
 * What a user is told when the native binary does not load: the generated
 * loader (`index.js`, from `napi build --platform`) only says "Cannot find
 * native binding". {@link explainLoadFailure} turns that into an error that
 * names the cause and the command that fixes it:
 *
 * - `ERR_NODE_MIO_UNSUPPORTED_PLATFORM`: no prebuilt binary for this
 *   platform; lists the ones there are and how to build from source.
 * - `ERR_NODE_MIO_LIBC_MISMATCH`: Linux with musl and a glibc binary
 *   installed, or the other way round.
 * - `ERR_NODE_MIO_BINARY_MISSING`: the platform package is not installed
 *   (npm's optional-dependencies bug); the install command that fixes it.
 * - `ERR_NODE_MIO_LOAD_FAILED`: the binary is there and did not load; the
 *   loader's own errors are kept as `cause`.
 * @internal
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs'

/** What {@link explainLoadFailure} needs to know about the machine and the install. */
export interface LoadContext {
  /** `process.platform` */
  readonly platform: string
  /** `process.arch` */
  readonly arch: string
  /** Linux: whether the C library is musl; `false` elsewhere. */
  readonly musl: boolean
  /** `process.version` */
  readonly nodeVersion: string
  /** The package's version (the platform packages have the same). */
  readonly version: string
  /** `napi.targets` of the package: the Rust target of every prebuilt binary. */
  readonly targets: readonly string[]
  /** Whether the binary for a platform key (`linux-x64-gnu`) is installed: its package or a local `mio.<key>.node`. */
  installed(key: string): boolean
}

export const REPOSITORY = 'https://github.com/node-mio/node-mio'

/** The napi-rs platform key of a Rust target: `x86_64-unknown-linux-gnu` -> `linux-x64-gnu`. */
export function platformKeyOfTarget(target: string): string {
  const [cpu = '', , os, abi] = target.split('-')
  const arch = ({ x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm', riscv64gc: 'riscv64' } as Record<string, string>)[cpu] ?? cpu
  if (target.includes('apple-darwin')) return `darwin-${arch}`
  if (target.includes('windows-msvc')) return `win32-${arch}-msvc`
  if (target.includes('freebsd')) return `freebsd-${arch}`
  if (target.endsWith('-androideabi')) return 'android-arm-eabi'
  if (target.endsWith('-android')) return `android-${arch}`
  if (os === 'linux') return `linux-${arch}-${abi}`
  return target
}

/** The platform key napi-rs's loader looks for here (`linux-x64-musl`, `darwin-arm64`, `win32-x64-msvc`). */
export function platformKey(platform: string, arch: string, musl: boolean): string {
  if (platform === 'linux') return `linux-${arch}-${musl ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

/** The npm package that holds the binary for a platform key. */
export const packageOf = (key: string): string => `node-mio-${key}`

/** Linux: musl or glibc, the way napi-rs's loader tells (the text of `/usr/bin/ldd`, then the process report). */
export function detectMusl(platform: string = process.platform): boolean {
  if (platform !== 'linux') return false
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    // no ldd: ask the process report
  }
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string }; sharedObjects?: string[] } | undefined
  if (report?.header?.glibcVersionRuntime) return false
  return (report?.sharedObjects ?? []).some((f) => f.includes('libc.musl-') || f.includes('ld-musl-'))
}

/** Every message in an error and its `cause` chain (the generated loader chains one error per candidate). */
function messages(error: unknown): string[] {
  const out: string[] = []
  const seen = new Set<unknown>()
  let current = error
  while (current != null && !seen.has(current) && out.length < 50) {
    seen.add(current)
    const e = current as { message?: unknown; cause?: unknown }
    if (typeof e.message === 'string') out.push(e.message)
    current = e.cause
  }
  return out
}

/** Signs in a dlopen error that a binary was built for the other C library. */
const LIBC_SIGNS = /ld-linux|GLIBC_|GLIBCXX_|libc\.musl|ld-musl|__[a-z0-9_]+_chk|fcntl64|gnu_get_libc_version/

function loadError(code: string, message: string, cause: unknown): Error {
  const error = new Error(message) as Error & { code: string }
  error.code = code
  error.cause = cause
  return error
}

/** The error to throw when `index.js` did not load (`cause`: the loader's error). */
export function explainLoadFailure(cause: unknown, ctx: LoadContext): Error {
  const key = platformKey(ctx.platform, ctx.arch, ctx.musl)
  const supported = ctx.targets.map(platformKeyOfTarget)
  const here = `${key} (Node ${ctx.nodeVersion})`
  const fromSource = [
    'To build it from source (Rust 1.88 or newer, https://rustup.rs):',
    `  git clone ${REPOSITORY}.git && cd node-mio && npm ci && npm run build:native`,
    `then run your program with NAPI_RS_NATIVE_LIBRARY_PATH=<that folder>/mio.${key}.node.`,
  ].join('\n')
  const why = messages(cause)

  if (!supported.includes(key)) {
    return loadError(
      'ERR_NODE_MIO_UNSUPPORTED_PLATFORM',
      `node-mio has no prebuilt binary for ${here}.\n` +
        `Prebuilt binaries exist for: ${supported.join(', ')}.\n` +
        fromSource,
      cause,
    )
  }

  if (ctx.platform === 'linux') {
    const otherKey = platformKey(ctx.platform, ctx.arch, !ctx.musl)
    const libc = (musl: boolean) => (musl ? 'musl (Alpine and the like)' : 'glibc')
    const wrongInstalled = !ctx.installed(key) && ctx.installed(otherKey)
    const wrongLoaded = why.some((m) => LIBC_SIGNS.test(m))
    if (wrongInstalled || wrongLoaded) {
      return loadError(
        'ERR_NODE_MIO_LIBC_MISMATCH',
        `node-mio: this system's C library is ${libc(ctx.musl)}, but the binary ` +
          (wrongInstalled ? `installed is the one for ${otherKey}, built for ${libc(!ctx.musl)}.\n` : `that was loaded is built for the other one:\n  ${why.find((m) => LIBC_SIGNS.test(m))}\n`) +
          `The binary for this system is ${packageOf(key)}. Install it:\n` +
          `  npm install ${packageOf(key)}@${ctx.version}\n` +
          'A lockfile or node_modules made on a machine with the other C library (a glibc host for an Alpine\n' +
          'container, or the other way round) has the wrong one: install inside the container, or remove\n' +
          'node_modules and package-lock.json there and run npm install again.',
        cause,
      )
    }
  }

  if (!ctx.installed(key)) {
    return loadError(
      'ERR_NODE_MIO_BINARY_MISSING',
      `node-mio: the binary for ${here} is in the package ${packageOf(key)}, which is not installed.\n` +
        'npm installs it as an optional dependency of node-mio; it skips it when the lockfile was written on\n' +
        'another platform (npm bug https://github.com/npm/cli/issues/4828), or with --omit=optional or --no-optional.\n' +
        'Fix it with:\n' +
        `  npm install ${packageOf(key)}@${ctx.version}\n` +
        'or remove node_modules and package-lock.json and run npm install again.',
      cause,
    )
  }

  return loadError(
    'ERR_NODE_MIO_LOAD_FAILED',
    `node-mio: the binary for ${here} is installed but did not load: ${why.find((m) => !m.startsWith('Cannot find native binding')) ?? why[0] ?? String(cause)}\n` +
      `Reinstall it (npm install ${packageOf(key)}@${ctx.version}); node-mio needs Node-API 8 (Node 12.22+, 14.17+, 16+).`,
    cause,
  )
}
