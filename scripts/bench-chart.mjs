#!/usr/bin/env node
// Draws the results of `npm run bench -- --json FILE` as an SVG chart with
// vega-lite (compiled to vega, rendered headless by vega's View.toSVG(): no
// canvas, no browser).
//
//   node scripts/bench-chart.mjs [results.json] [chart.svg]
//   (defaults: bench/results/latest.json -> bench/results/chart.svg)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as vega from 'vega'
import * as vl from 'vega-lite'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const input = path.resolve(process.argv[2] ?? path.join(ROOT, 'bench', 'results', 'latest.json'))
const output = path.resolve(process.argv[3] ?? path.join(path.dirname(input), 'chart.svg'))

const results = JSON.parse(readFileSync(input, 'utf8'))
const m = results.machine
const SERVER_ORDER = ['mio-native', 'node-mio-blocking', 'node-mio-watch', 'node-net']
const COLORS = ['#4c78a8', '#f58518', '#b279a2', '#54a24b']
const SCENARIO_TITLES = {
  'tcp-echo-64B-x50': 'TCP 64 B x 50',
  'tcp-echo-4KiB-x50': 'TCP 4 KiB x 50',
  'tcp-echo-64B-x1': 'TCP 64 B x 1',
  'tcp-bulk': 'TCP bulk (op = 64 KiB)',
  'udp-echo-64B-x50': 'UDP 64 B x 50',
}
const scenarioOrder = Object.keys(SCENARIO_TITLES).map((k) => SCENARIO_TITLES[k])

const serverRows = results.scenarios.filter((r) => r.scenario in SCENARIO_TITLES)
const echo = serverRows.map((r) => ({
  scenario: SCENARIO_TITLES[r.scenario],
  server: r.server,
  cpu: r.cpu_us_per_op,
  ops: r.ops_per_s,
  p50: r.p50_us,
  p99: r.p99_us,
  pending: r.status === 'pending' ? 'pending' : null,
  // Pending rows get a label, drawn at the bottom of the panel.
  zero: 0,
}))

const serverScale = { domain: SERVER_ORDER, range: COLORS }
const facetCol = { field: 'scenario', type: 'nominal', sort: scenarioOrder, title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } }

/** One faceted bar chart: `field` per server, one panel per scenario. */
function panel(field, title, format, skip = []) {
  return {
    title: { text: title, anchor: 'start', fontSize: 14 },
    data: { values: echo.filter((r) => !skip.includes(r.scenario)) },
    facet: { column: facetCol },
    spec: {
      width: 150,
      height: 150,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'server', type: 'nominal', sort: SERVER_ORDER, axis: { labelAngle: -40, title: null }, scale: { domain: SERVER_ORDER } },
            y: { field, type: 'quantitative', title: null, axis: { format } },
            color: { field: 'server', type: 'nominal', scale: serverScale, legend: null },
          },
        },
        {
          mark: { type: 'text', dy: -6, fontSize: 9 },
          encoding: {
            x: { field: 'server', type: 'nominal', sort: SERVER_ORDER },
            y: { field, type: 'quantitative' },
            text: { field, type: 'quantitative', format: format === 's' ? '.3s' : '.3~r' },
          },
        },
        {
          transform: [{ filter: 'datum.pending' }],
          mark: { type: 'text', angle: 270, align: 'left', dx: 0, fontSize: 10, color: '#888' },
          encoding: {
            x: { field: 'server', type: 'nominal', sort: SERVER_ORDER },
            y: { field: 'zero', type: 'quantitative' },
            text: { field: 'pending' },
          },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  }
}

const sections = [
  panel('cpu', 'Server CPU time per round trip, µs (utime+stime of the server over the window; lower is better)', '.3~r'),
  panel('ops', 'Throughput, round trips per second (higher is better)', 's'),
  // Bulk latency is the time a 64 KiB write spends in the socket buffers: left out.
  panel('p50', 'Round-trip latency p50, µs (lower is better; bulk left out: buffer-bound)', '.3~r', [SCENARIO_TITLES['tcp-bulk']]),
]

const ep = results.empty_poll
if (ep) {
  const values = [
    { what: 'node-mio poll(events, 0)', ns: ep.node_mio_ns },
    { what: 'node-mio raw binding', ns: ep.node_mio_raw_binding_ns },
    { what: 'mio Poll::poll (Rust)', ns: ep.mio_native_ns },
    { what: 'epoll_wait (Rust, libc)', ns: ep.epoll_wait_ns },
  ]
  sections.push({
    title: { text: `Empty poll, nothing ready: CPU ns per call (node-mio is ${Math.round(ep.node_mio_minus_epoll_wait_ns)} ns above the bare syscall; target <= 100)`, anchor: 'start', fontSize: 14 },
    data: { values },
    width: 500,
    height: 110,
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'what', type: 'nominal', sort: null, title: null, axis: { labelLimit: 320 } },
          x: { field: 'ns', type: 'quantitative', title: 'CPU ns per call' },
          color: { value: '#72b7b2' },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: {
          y: { field: 'what', type: 'nominal', sort: null },
          x: { field: 'ns', type: 'quantitative' },
          text: { field: 'ns', type: 'quantitative', format: '.0f' },
        },
      },
    ],
  })
}

const alloc = results.allocation
if (alloc) {
  const names = { tcp: 'TCP poll + read + write', udp: 'UDP poll + recvFrom + sendTo', 'poll-empty': 'poll(events, 0)' }
  const values = Object.entries(alloc).map(([k, v]) => ({
    what: names[k] ?? k,
    // log scale: show at least 1 byte
    bytes: Math.max(1, v.bytes_per_million_events),
    label: `${Math.round(v.bytes_per_million_events).toLocaleString('en-US')} B, ${Number(v.gc_per_million_events).toFixed(0)} GC`,
  }))
  sections.push({
    title: { text: 'node-mio heap allocation per million events, steady state (log scale; under 1 MB = under 1 byte per event)', anchor: 'start', fontSize: 14 },
    data: { values },
    width: 500,
    height: 90,
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'what', type: 'nominal', sort: null, title: null, axis: { labelLimit: 320 } },
          x: { field: 'bytes', type: 'quantitative', scale: { type: 'log', domainMin: 1 }, title: 'heap bytes per million events' },
          x2: { datum: 1 },
          color: { value: '#e45756' },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4 },
        encoding: {
          y: { field: 'what', type: 'nominal', sort: null },
          x: { field: 'bytes', type: 'quantitative' },
          text: { field: 'label' },
        },
      },
    ],
  })
}

const FD_TITLES = {
  'descriptor-events-16-fifos': '16 FIFOs kept readable',
  'descriptor-events-one-fifo': '1 FIFO, one event at a time',
}
const FD_ORDER = ['node-mio-blocking', 'node-mio-watch', 'epoll-npm']
const FD_COLORS = { 'node-mio-blocking': '#f58518', 'node-mio-watch': '#b279a2', 'epoll-npm': '#9d755d' }
const fdRows = results.scenarios.filter((r) => r.scenario in FD_TITLES)
if (fdRows.length > 0) {
  const values = fdRows.map((r) => ({
    scenario: FD_TITLES[r.scenario],
    watcher: r.server,
    color: FD_COLORS[r.server] ?? '#888',
    rate: r.status === 'ok' ? r.events_per_cpu_s : 0,
    label: r.status === 'ok' ? `${Math.round(r.events_per_cpu_s).toLocaleString('en-US')} (${Math.round(r.ns_per_event)} ns/event)` : r.note,
  }))
  const ratioOf = (id) => results.ratios.find((x) => x.scenario === id && x.ratio === 'node-mio-watch / epoll-npm')?.events_per_cpu_s
  const main = ratioOf('descriptor-events-16-fifos')
  const one = ratioOf('descriptor-events-one-fifo')
  const summary =
    main === undefined ? 'epoll package not measured' : `node-mio watch mode: ${main.toFixed(1)}x the epoll package (16 FIFOs)${one === undefined ? '' : `, ${one.toFixed(1)}x (1 FIFO)`}; target >= 3x`
  sections.push({
    title: {
      text: `Descriptor events per CPU second of the watching process (higher is better; ${summary})`,
      anchor: 'start',
      fontSize: 14,
    },
    data: { values },
    facet: { row: { field: 'scenario', type: 'nominal', sort: Object.values(FD_TITLES), title: null, header: { labelFontSize: 12, labelFontWeight: 'bold', labelAngle: 0, labelOrient: 'top', labelAnchor: 'start' } } },
    spec: {
      width: 500,
      height: 66,
      layer: [
        {
          mark: 'bar',
          encoding: {
            y: { field: 'watcher', type: 'nominal', sort: FD_ORDER, title: null, scale: { domain: FD_ORDER }, axis: { labelLimit: 320 } },
            x: { field: 'rate', type: 'quantitative', title: 'events per CPU second', axis: { format: 's' } },
            color: { field: 'color', type: 'nominal', scale: null },
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
          encoding: {
            y: { field: 'watcher', type: 'nominal', sort: FD_ORDER },
            x: { field: 'rate', type: 'quantitative' },
            text: { field: 'label' },
          },
        },
      ],
    },
    resolve: { scale: { x: 'shared' } },
  })
}

// One line per pending item, not per row ("pending: X (issue N)").
const pending = [...new Set(results.scenarios.filter((r) => r.status === 'pending' || r.status === 'skipped').map((r) => `${r.server}, ${r.note}`))]
const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: {
    text: `node-mio benchmarks (${m.profile}, median of ${m.rounds} rounds)`,
    subtitle: [
      `${m.cpu_model}, ${m.cpus} CPUs, ${m.kernel}, Node ${m.node}, mio ${m.mio}; ${m.pinning}`,
      `servers: single-threaded, loopback; load: native mio load generator, 1 message in flight per connection, TCP_NODELAY; ${m.date.slice(0, 10)}`,
      'node-mio-blocking: a blocking poll() loop; node-mio-watch: poll.watch on Node\'s event loop; descriptor events: FIFOs fed one byte at a time by a native writer on the other CPU',
      ...(pending.length > 0 ? [`not measured yet: ${pending.join('; ')}`] : []),
    ],
    anchor: 'start',
    fontSize: 18,
    subtitleFontSize: 11,
  },
  vconcat: sections,
  spacing: 28,
  config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', view: { stroke: '#ddd' }, background: 'white' },
}

const compiled = vl.compile(spec).spec
const view = new vega.View(vega.parse(compiled), { renderer: 'none' })
const svg = await view.toSVG()
view.finalize()
mkdirSync(path.dirname(output), { recursive: true })
writeFileSync(output, svg)
console.error(`wrote ${path.relative(process.cwd(), output)} (${svg.length} bytes)`)
