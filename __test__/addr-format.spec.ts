// IPv6 address text as node:net gives it (RFC 5952): lower-case hex, the
// longest run of two or more zero groups as '::' (the first one on a tie),
// a single zero group left as '0', IPv4-mapped addresses in dotted form.
// The wrapper formats addresses from the binding's numbers itself (and
// caches them), so it is checked here against the WHATWG URL parser, which
// follows the same rules, on random addresses.
import test from 'ava'
import fc from 'fast-check'
import { addressOfParts, addressText } from '../lib/net/addr.ts'

/** The binding's parts for an IPv6 address: [6, port, four 32-bit words, scope]. */
function parts(groups: number[], scope = 0): Float64Array {
  const words = [0, 1, 2, 3].map((i) => ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0)
  return new Float64Array([6, 0, ...words, scope])
}

const oracle = (groups: number[]): string => new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1)

test('RFC 5952 by example: the longest zero run, the first on a tie, never a single zero group', (t) => {
  const cases: Array<[number[], string]> = [
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'],
    [[0x2001, 0xdb8, 0, 0, 0, 1, 0, 0], '2001:db8::1:0:0'],
    [[0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], '2001:db8:0:1::1'],
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0xfe80, 0, 0, 0, 0, 0, 0, 0], 'fe80::'],
    [[0, 0, 0, 0, 0, 0xffff, 0x7f00, 1], '::ffff:127.0.0.1'],
    [[0xABCD, 0, 0, 0xEF, 0, 0, 0, 0], 'abcd:0:0:ef::'],
  ]
  for (const [groups, text] of cases) t.is(addressOfParts(parts(groups)), text, groups.join(','))
  t.is(addressOfParts(parts([0xfe80, 0, 0, 0, 0, 0, 0, 1], 3)), 'fe80::1%3', 'a scope id')
})

test('the cache never answers for an address with another scope in the same slot', (t) => {
  const groups = [0xfe80, 0, 0, 0, 0, 0, 0, 1]
  // Scopes 3 and 1027 agree in the low ten bits: the same cache slot.
  t.is(addressOfParts(parts(groups, 3)), 'fe80::1%3')
  t.is(addressOfParts(parts(groups, 1027)), 'fe80::1%1027')
  t.is(addressOfParts(parts(groups, 3)), 'fe80::1%3')
})

test('ports 0 and 65535 are in range in the object form; 65536 is not', (t) => {
  t.is(addressText({ address: '127.0.0.1', port: 65535 }), '127.0.0.1:65535')
  t.is(addressText({ address: '::1', port: 0 }), '[::1]:0')
  t.throws(() => addressText({ address: '127.0.0.1', port: 65536 }), { code: 'ERR_SOCKET_BAD_PORT' })
})

test('random IPv6 addresses format as the URL parser does (twice: fresh and cached)', (t) => {
  let checked = 0
  const group = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }) })
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return // IPv4-mapped: checked above
      const expected = oracle(groups)
      checked++
      return addressOfParts(parts(groups)) === expected && addressOfParts(parts(groups)) === expected
    }),
    { numRuns: 2000 },
  )
  t.true(checked > 1900, `${checked} addresses compared`)
})
