'use strict'
// rak_bench's send/recv contract (benches/bench_util.h) on original C++ RakNet 4.081,
// through npm raknet-native (built by tests/interop/setup.sh raknet-native into
// ~/.cache/libraknet-interop; run with NODE_PATH pointing at its node_modules).
// Only what T6 needs: one client sending COUNT messages of SIZE bytes reliable ordered.
//
//   node raknet4_bench.js recv --port P [--host H]      prints "listening port=P"
//   node raknet4_bench.js send --host H --port P --count N --size S [--test LABEL]
//
// Messages: 'S' start, 'D' data (u32 seq, u64 sent_ns), 'E' end, 'R' report, all
// little-endian, byte 0 = 134. Times are process.hrtime (CLOCK_MONOTONIC on Linux).

const dgram = require('dgram')
const { RakClient, RakServer } = require('raknet-native')

const BENCH_ID = 134
const RELIABLE_ORDERED = 3
const HIGH_PRIORITY = 1
const ACCEPTED = 0x10
const FAILED_IDS = new Set([0x11, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a])

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const nowNs = () => process.hrtime.bigint()
const ab = buf => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)

function parseArgs (argv) {
  const o = { mode: argv[0], host: '127.0.0.1', port: 0, count: 1, size: 1024, test: 'T6' }
  for (let i = 1; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '')
    const v = argv[i + 1]
    if (v === undefined) throw new Error(`${argv[i]} needs a value`)
    o[k] = ['port', 'count', 'size'].includes(k) ? Number(v) : v
  }
  return o
}

// RakNet takes a port, not a socket: find a free one (a short race, harmless here).
function freePort (host) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4')
    s.on('error', reject)
    s.bind(0, host, () => { const p = s.address().port; s.close(() => resolve(p)) })
  })
}

async function recv (o) {
  const port = o.port || await freePort(o.host)
  const srv = new RakServer(o.host, port, { maxConnections: 8 })
  let st = null
  const report = (h, p) => {
    const lat = st.lat.sort((a, b) => a - b)
    const pick = q => lat.length ? BigInt(lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]) : 0n
    const mean = lat.length ? BigInt(Math.round(lat.reduce((a, b) => a + b, 0) / lat.length)) : 0n
    const r = Buffer.alloc(2 + 9 * 8)
    r[0] = BENCH_ID; r[1] = 'R'.charCodeAt(0)
    const vals = [BigInt(st.received), BigInt(st.bytes), st.first, st.last, BigInt(st.errors),
      mean, pick(0.5), pick(0.99), lat.length ? BigInt(lat[lat.length - 1]) : 0n]
    vals.forEach((v, i) => r.writeBigUInt64LE(v, 2 + 8 * i))
    srv.send(h, p, ab(r), HIGH_PRIORITY, RELIABLE_ORDERED, 0, false)
    st.reported = true
  }
  const done = srv.listen(packets => {
    const t = nowNs()
    for (const [data, address] of packets) {
      const b = Buffer.from(data)
      if (b[0] !== BENCH_ID || b.length < 2) continue
      const [h, p] = address.split('/')
      const kind = String.fromCharCode(b[1])
      if (kind === 'S') {
        st = { expect: null, received: 0, bytes: 0, first: 0n, last: 0n, errors: 0, lat: [], next: 0 }
      } else if (kind === 'D' && st) {
        const seq = b.readUInt32LE(2)
        if (seq !== st.next) st.errors++
        st.next = seq + 1
        if (st.received === 0) st.first = t
        st.received++
        st.bytes += b.length
        st.last = t
        st.lat.push(Number(t - b.readBigUInt64LE(6)))
      } else if (kind === 'E' && st) {
        st.expect = Number(b.readBigUInt64LE(2))
        st.h = h; st.p = parseInt(p, 10)
      }
      if (st && st.expect !== null && !st.reported && st.received >= st.expect) report(st.h, st.p)
    }
  })
  console.log(`listening port=${port}`)
  const stop = () => { try { srv.close() } catch (e) {} ; setTimeout(() => process.exit(0), 100) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  await done
}

async function send (o) {
  let state = 'connecting'
  let rep = null
  const cl = new RakClient(o.host, o.port, {})
  cl.listen(buffers => {
    for (const data of buffers) {
      const b = Buffer.from(data)
      if (b[0] === ACCEPTED) state = 'connected'
      else if (FAILED_IDS.has(b[0])) state = 'failed'
      else if (b[0] === BENCH_ID && b[1] === 'R'.charCodeAt(0)) rep = b
    }
  })
  cl.connect()
  const t0 = Date.now()
  while (state === 'connecting' && Date.now() - t0 < 15000) await sleep(2)
  if (state !== 'connected') { console.error(`raknet4: not connected (${state})`); process.exit(1) }
  const put = b => { if (cl.send(ab(b), HIGH_PRIORITY, RELIABLE_ORDERED, 0, false) <= 0) throw new Error('send failed') }
  const s = Buffer.alloc(14); s[0] = BENCH_ID; s[1] = 'S'.charCodeAt(0)
  s.writeBigUInt64LE(BigInt(o.count), 2); s.writeUInt32LE(o.size, 10)
  put(s)
  const first = nowNs()
  const d = Buffer.alloc(o.size); d[0] = BENCH_ID; d[1] = 'D'.charCodeAt(0)
  for (let i = 0; i < o.count; i++) {
    d.writeUInt32LE(i, 2); d.writeBigUInt64LE(nowNs(), 6)
    put(d)
  }
  const e = Buffer.alloc(10); e[0] = BENCH_ID; e[1] = 'E'.charCodeAt(0)
  e.writeBigUInt64LE(BigInt(o.count), 2)
  put(e)
  const t1 = Date.now()
  while (!rep && state === 'connected' && Date.now() - t1 < 600000) await sleep(2)
  if (!rep) { console.error(`raknet4: no report (${state})`); process.exit(1) }
  const g = i => rep.readBigUInt64LE(2 + 8 * i)
  const received = Number(g(0)); const bytes = Number(g(1)); const last = g(3)
  const secs = Number(last - first) / 1e9
  const us = i => (Number(g(i)) / 1e3).toFixed(1)
  if (g(4) !== 0n) console.error(`receiver saw ${g(4)} out-of-order messages`)
  console.log(`BENCH lib=raknet4 test=${o.test} size=${o.size} count=${o.count} delivered=${received}` +
    ` clients=- loss_pct=- seconds=${secs.toFixed(4)} msgs_per_s=${(received / secs).toFixed(0)}` +
    ` mb_per_s=${(bytes / secs / 1e6).toFixed(2)} mean_us=${us(5)} p50_us=${us(6)} p99_us=${us(7)}` +
    ` max_us=${us(8)} connect_s=- rss_kb_per_conn=- cpu_us_per_msg=-`)
  try { cl.close() } catch (err) {}
  setTimeout(() => process.exit(0), 100)
}

const o = parseArgs(process.argv.slice(2))
const run = o.mode === 'recv' ? recv : o.mode === 'send' ? send : null
if (!run) { console.error('usage: raknet4_bench.js recv|send ...'); process.exit(2) }
run(o).catch(err => { console.error(err); process.exit(1) })
