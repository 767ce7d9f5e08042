// Port of mio's tests/interest.rs.
import test from 'ava'
import { Interest } from 'node-mio'

test('is_tests', (t) => {
  t.true(Interest.READABLE.isReadable())
  t.false(Interest.READABLE.isWritable())
  t.false(Interest.WRITABLE.isReadable())
  t.true(Interest.WRITABLE.isWritable())
  t.false(Interest.WRITABLE.isAio())
  t.false(Interest.WRITABLE.isLio())
})

test('bit_or and add', (t) => {
  const interests = Interest.READABLE.add(Interest.WRITABLE)
  t.true(interests.isReadable())
  t.true(interests.isWritable())
  t.is(interests, Interest.WRITABLE.add(Interest.READABLE), 'interned: the same object either way')
})

test('remove never leaves an empty interest', (t) => {
  const both = Interest.READABLE.add(Interest.WRITABLE)
  t.is(both.remove(Interest.WRITABLE), Interest.READABLE)
  t.is(Interest.READABLE.remove(Interest.READABLE), null)
  t.is(Interest.READABLE.remove(Interest.WRITABLE), Interest.READABLE)
})

test('fmt_debug', (t) => {
  t.is(String(Interest.READABLE), 'READABLE')
  t.is(String(Interest.WRITABLE), 'WRITABLE')
  t.is(String(Interest.READABLE.add(Interest.WRITABLE)), 'READABLE | WRITABLE')
  if (Interest.AIO) t.is(String(Interest.AIO), 'AIO')
  if (Interest.LIO) t.is(String(Interest.LIO), 'LIO')
})

test('platform interests exist where the OS has them', (t) => {
  if (process.platform === 'linux') {
    t.truthy(Interest.PRIORITY)
    t.true(Interest.PRIORITY!.isPriority())
    t.is(Interest.AIO, undefined)
    t.is(Interest.LIO, undefined)
  } else if (process.platform === 'freebsd') {
    t.truthy(Interest.AIO && Interest.LIO)
    t.is(Interest.PRIORITY, undefined)
  } else if (process.platform === 'darwin') {
    t.truthy(Interest.AIO)
    t.is(Interest.LIO, undefined)
  } else {
    t.is(Interest.PRIORITY, undefined)
  }
})

test('no public constructor', (t) => {
  const Ctor = Interest as unknown as new (bits: number) => Interest
  t.throws(() => new Ctor(1), { instanceOf: TypeError })
})
