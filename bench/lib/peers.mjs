// Packages the benchmarks compare against but node-mio does not depend on,
// installed on demand into bench/peers (its own package.json) and built with
// node-gyp against the Node headers on this machine, never downloaded ones.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PEERS, ROOT } from './paths.mjs'
import { tail } from './processes.mjs'

/** The telling lines of npm's error output: its code and the error message. */
function npmReason(text) {
  const lines = String(text ?? '')
    .split('\n')
    .map((l) => l.replace(/^npm (error|ERR!)\s*/, '').trim())
  const code = lines.find((l) => /^code \S+$/.test(l))
  const message = lines.find((l) => /Error\b|ERR!|failed|not found/i.test(l) && !/^at |complete log/.test(l))
  const picked = [code, message].filter(Boolean)
  return picked.length > 0 ? picked.join(': ') : tail(text)
}

/**
 * Node's own headers for node-gyp (`--nodedir`), so that it never downloads
 * them: a folder holding include/node/node_version.h of this Node version.
 */
function findNodeHeaders() {
  const version = process.versions.node
  const candidates = [
    process.env.npm_config_nodedir,
    process.config?.variables?.node_prefix,
    path.resolve(path.dirname(process.execPath), '..'),
    '/usr/local',
    '/usr',
    path.join(os.homedir(), '.cache', 'node-gyp', version),
  ].filter((d) => typeof d === 'string' && d !== '')
  const seen = []
  for (const dir of new Set(candidates.map((d) => path.resolve(d)))) {
    const header = path.join(dir, 'include', 'node', 'node_version.h')
    if (!existsSync(header)) continue
    const h = readFileSync(header, 'utf8')
    const part = (name) => new RegExp(`^#define NODE_${name}_VERSION (\\d+)`, 'm').exec(h)?.[1]
    const found = `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`
    if (found === version) return { nodedir: dir }
    seen.push(`${header} is ${found}`)
  }
  return {
    nodedir: null,
    reason:
      `no headers of Node ${version} on this machine (looked for include/node/node_version.h under ${[...new Set(candidates)].join(', ')}` +
      `${seen.length > 0 ? `; ${seen.join('; ')}` : ''}); node-gyp would download them, which this harness does not do: ` +
      'install the headers of this Node (they ship with Node\'s own tarballs and most distribution packages) or point npm_config_nodedir at them',
  }
}

/**
 * Installs the `epoll` npm package into bench/peers on demand and builds it
 * with node-gyp against the local Node headers. Returns { ok, version, reason, ... }.
 */
export function ensureEpollPackage(log) {
  if (process.platform !== 'linux') return { ok: false, package: 'epoll', version: null, reason: 'the epoll package is Linux only' }
  return ensurePeerPackage('epoll', 'epoll.node', 'Epoll', log)
}

/**
 * Installs the `unix-dgram` npm package into bench/peers on demand and builds
 * it with node-gyp against the local Node headers, as `ensureEpollPackage`.
 */
export function ensureUnixDgramPackage(log) {
  return ensurePeerPackage('unix-dgram', 'unix_dgram.node', 'createSocket', log)
}

/**
 * Installs bench/peers' packages (`npm install --ignore-scripts`) when
 * `name`'s addon is not built, builds `name` (`npm rebuild`, its node-gyp
 * install script, approved in bench/peers/package.json), and checks that it
 * loads and exports `member`.
 */
function ensurePeerPackage(name, addonFile, member, log) {
  const pkgDir = path.join(PEERS, 'node_modules', name)
  const addon = path.join(pkgDir, 'build', 'Release', addonFile)
  const out = { ok: false, package: name, version: null, built: path.relative(ROOT, addon), installed_now: false, nodedir: null, reason: null }
  const fail = (reason) => ({ ...out, reason })
  if (!existsSync(addon)) {
    const headers = findNodeHeaders()
    if (headers.nodedir === null) return fail(headers.reason)
    out.nodedir = headers.nodedir
    log(`installing the ${name} npm package into bench/peers (npm install --ignore-scripts, then npm rebuild ${name} with nodedir ${headers.nodedir})`)
    const npmOpts = { cwd: PEERS, encoding: 'utf8', timeout: 300_000, env: { ...process.env, npm_config_nodedir: headers.nodedir } }
    const install = spawnSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], npmOpts)
    if (install.error || install.status !== 0) {
      return fail(`npm install in bench/peers failed (${install.error?.message ?? `exit ${install.status}`}): ${npmReason(install.stderr || install.stdout)}`)
    }
    // `npm rebuild` runs the package's install script (node-gyp rebuild, the
    // node-gyp bundled with npm); bench/peers/package.json approves it
    // (allowScripts), and npm_config_nodedir keeps node-gyp off the network.
    const build = spawnSync('npm', ['rebuild', name, '--foreground-scripts'], npmOpts)
    if (build.error || build.status !== 0 || !existsSync(addon)) {
      const lines = `${build.stdout ?? ''}\n${build.stderr ?? ''}`
        .split('\n')
        .filter((l) => /error|not found|ERR!/i.test(l))
        .slice(-4)
        .join(' | ')
      return fail(`building ${name} with node-gyp failed (${build.error?.message ?? `exit ${build.status}`}): ${lines || tail(build.stderr || build.stdout)}`)
    }
    out.installed_now = true
  }
  out.version = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version
  const probe = spawnSync(process.execPath, ['-e', `if (typeof require(process.argv[1])[${JSON.stringify(member)}] !== "function") process.exit(3)`, pkgDir], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (probe.error || probe.status !== 0) {
    return fail(`${name} ${out.version} is built but does not load in Node ${process.version} (delete bench/peers/node_modules to rebuild it): ${tail(probe.stderr)}`)
  }
  out.ok = true
  return out
}
