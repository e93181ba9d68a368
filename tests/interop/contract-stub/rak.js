'use strict'
// Stand-in for libraknet's rak_server / rak_client / rak_ping, built on raknet-native
// (C++ RakNet 4.081), so that run.sh can be exercised before libraknet's programs exist:
//   tests/interop/run.sh tests/interop/contract-stub
// It follows the command-line contract in run.sh's header; its output lines are only a
// guess at libraknet's. Not a test of anything by itself.

const path = require('path')
const C = require(path.join(__dirname, '..', 'peers', 'common', 'peer-common.js'))
const { RakClient, RakServer } = require('raknet-native')

const REL = { unreliable: 0, unreliable_sequenced: 1, reliable: 2, reliable_ordered: 3, reliable_sequenced: 4 }
const tool = process.env.RAK_TOOL || 'rak_client'
const argv = process.argv.slice(2)
const opt = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt }
const flag = name => argv.includes(name)
const ab = b => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)

if (flag('--help')) {
  console.log(`${tool} (contract stub): rak_client --host H --port P [--protocol V] [--count N] [--size S]` +
    ' [--reliability NAME] [--channel C] [--password PW] [--expect-echo] [--first-byte B] [--hold S]')
  process.exit(0)
}
const host = opt('--host', '127.0.0.1')
const port = parseInt(opt('--port', '19132'), 10)
const protocol = opt('--protocol') ? parseInt(opt('--protocol'), 10) : undefined

function server () {
  const o = { maxConnections: parseInt(opt('--max-connections', '8'), 10) }
  if (protocol !== undefined) o.protocolVersion = protocol
  if (opt('--password') !== undefined) o.password = opt('--password')
  const srv = new RakServer('127.0.0.1', port, o)
  srv.setPongResponse(Buffer.from(opt('--offline-data', '')))
  srv.listen(packets => {
    for (const [a, address] of packets) {
      const b = Buffer.from(a)
      if (b[0] >= 0x86) {
        console.log(`message from ${address} len=${b.length}`)
        if (flag('--echo')) {
          const { reliability, channel } = C.echoParams({ echoReliability: 'auto' }, b)
          const [h, p] = address.split('/')
          srv.send(h, parseInt(p, 10), ab(b), 1, reliability, channel, false)
        }
      } else if (b[0] === 0x13) console.log(`connected ${address}`)
      else if (b[0] === 0x15) console.log(`disconnected ${address} (notification)`)
      else if (b[0] === 0x16) console.log(`connection lost ${address}`)
    }
  })
  console.log(`listening on ${port}`)
  process.on('SIGTERM', () => { srv.close(); setTimeout(() => process.exit(0), 200) })
}

function ping () {
  const o = {}
  const cl = new RakClient(host, port, o)
  cl.listen((bufs, address, guid) => {
    for (const a of bufs) {
      const b = Buffer.from(a)
      if (b[0] === 0x1c) { console.log(`guid ${guid} offline data: ${b.slice(5).toString('latin1')}`); process.exit(0) }
    }
  })
  cl.ping()
  setInterval(() => cl.ping(), 500)
  setTimeout(() => { console.log('no pong'); process.exit(1) }, 5000)
}

function client () {
  const count = parseInt(opt('--count', '10'), 10)
  const size = Math.max(5, parseInt(opt('--size', '64'), 10))
  const rel = REL[opt('--reliability', 'reliable_ordered')]
  const ch = parseInt(opt('--channel', '0'), 10)
  const first = parseInt(opt('--first-byte', '134'), 0)
  const o = {}
  if (protocol !== undefined) o.protocolVersion = protocol
  if (opt('--password') !== undefined) o.password = opt('--password')
  const cl = new RakClient(host, port, o)
  const sent = []
  let got = 0
  let last = -1
  const done = (code, msg) => { console.log(msg); try { cl.close() } catch (e) {} setTimeout(() => process.exit(code), 100) }
  cl.listen(bufs => {
    for (const a of bufs) {
      const b = Buffer.from(a)
      if (b[0] === 0x10) {
        console.log('connected')
        for (let s = 0; s < count; s++) {
          const p = Buffer.alloc(size)
          p[0] = first; p.writeUInt32BE(s, 1)
          for (let i = 5; i < size; i++) p[i] = (s + i) & 0xff
          sent.push(p)
          cl.send(ab(p), 1, rel, ch, false)
        }
        if (flag('--hold')) continue
        if (!flag('--expect-echo')) done(0, `sent ${count}`)
      } else if (b[0] >= 0x86) {
        const s = b.readUInt32BE(1)
        if (!sent[s] || !sent[s].equals(b)) return done(1, `echo ${s} not intact`)
        if ((rel === 3) && s !== last + 1) return done(1, `echo ${s} out of order`)
        last = s; got++
        if (got === count && !flag('--hold')) done(0, `all ${count} echoes intact`)
      } else if (b[0] === 0x18) done(1, 'connection refused: invalid password')
      else if (b[0] === 0x14) done(1, 'connection refused: server full')
      else if (b[0] === 0x19) done(1, 'connection refused: incompatible protocol')
      else if (b[0] === 0x11) done(1, 'connection attempt failed')
      else if (b[0] === 0x16) done(flag('--hold') ? 0 : 1, 'connection lost')
      else if (b[0] === 0x15) done(1, 'disconnected by server')
    }
  })
  cl.connect()
  const t = flag('--hold') ? parseFloat(opt('--hold')) : 60
  setTimeout(() => done(1, `timeout: ${got}/${count} echoes`), t * 1000)
}

if (tool === 'rak_server') server()
else if (tool === 'rak_ping') ping()
else client()
