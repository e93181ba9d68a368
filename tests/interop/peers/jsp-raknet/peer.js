'use strict'
// Interop helper for npm `jsp-raknet` 2.2.0 (independent JavaScript RakNet, protocol 10).
// Same command line, event lines, payload and scenarios as the other helpers
// (tests/interop/README.md). What the library cannot do is refused with exit
// status 3: protocol other than 10, passwords, connection limits, refusal
// scenarios and UNRELIABLE_SEQUENCED (it writes sequence index 0 on every frame).
//
// Two workarounds, both in the server only, so that one server process can serve
// several connections in a test run:
//  - jsp-raknet's Connection.disconnect() closes the whole Server (on a 0x15 or a
//    10 s silence); here it only ends that connection and prints the event.
//  - a malformed offline packet throws inside the socket handler and would kill
//    the process; here it is printed as `EVENT error` instead.

const path = require('path')
const C = require(path.join(__dirname, '..', 'common', 'peer-common.js'))
const { Client, Server, EncapsulatedPacket } = require('jsp-raknet')

const PROTOCOL = 10 // hard-coded in jsp-raknet's Client.js and Server.js

function packet (buf, reliability, channel) {
  const pk = new EncapsulatedPacket()
  pk.reliability = reliability
  pk.orderChannel = channel
  pk.buffer = buf
  return pk
}

function checkCommon (o) {
  if (o.protocol != null && o.protocol !== PROTOCOL) C.unsupported(`protocol ${o.protocol} (jsp-raknet speaks only ${PROTOCOL})`)
  if (o.password != null) C.unsupported('password (jsp-raknet never sends or checks one)')
}

async function server (o) {
  if (o.maxConn != null) C.unsupported('max-conn (jsp-raknet accepts every connection)')
  process.on('uncaughtException', e => C.event('error', { error: JSON.stringify(String(e.message || e)) }))
  // listen() assigns a property on the advertisement, so it must be an object, not a string.
  const ad = { toString: () => o.offlineData ?? '' }
  const srv = new Server(o.host, o.port, ad)
  const received = new Map()
  const origOpen2 = srv.handleOpenConnectionRequest2.bind(srv)
  srv.handleOpenConnectionRequest2 = (buffer, address) => {
    const reply = origOpen2(buffer, address)
    const conn = srv.connections.get(address.hash)
    if (conn) {
      conn.disconnect = reason => {
        if (srv.connections.get(address.hash) !== conn) return
        srv.connections.delete(address.hash)
        conn.state = 3
        C.event('disconnected', {
          peer: `${address.address}:${address.port}`,
          reason: reason === 'timeout' ? 'lost' : 'notification',
          received: received.get(address.hash) || 0
        })
      }
    }
    return reply
  }
  srv.on('openConnection', conn => {
    C.event('incoming', { peer: `${conn.address.address}:${conn.address.port}` })
  })
  srv.on('encapsulated', (pk, address) => {
    const buf = pk.buffer
    received.set(address.hash, (received.get(address.hash) || 0) + 1)
    C.event('message', { peer: `${address.address}:${address.port}`, ...C.describe(buf) })
    const conn = srv.connections.get(address.hash)
    if (!conn) return
    const { reliability, channel } = C.echoParams(o, buf)
    conn.addEncapsulatedToQueue(packet(Buffer.from(buf), reliability, channel))
  })
  await srv.listen()
  C.event('listening', { port: o.port, protocol: PROTOCOL })
  const stop = () => {
    C.event('shutdown', {})
    srv.close()
    setTimeout(() => process.exit(0), 300)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

async function ping (o) {
  const cl = new Client(o.host, o.port)
  let pong = null
  cl.on('unconnectedPong', (name, guid) => { pong = { name, guid } })
  const deadline = Date.now() + o.timeout * 1000
  while (!pong && Date.now() < deadline) {
    try { cl.sendUnconnectedPing() } catch (e) {}
    for (let i = 0; i < 20 && !pong; i++) await C.sleep(25)
  }
  if (!pong) { C.result(false, { mode: 'ping', error: 'no_pong' }); process.exit(C.EXIT.FAIL) }
  // jsp-raknet reads the pong data as u16be length + string (Bedrock style).
  C.event('pong', { from: `${o.host}:${o.port}`, data: JSON.stringify(pong.name), data_hex: Buffer.from(pong.name).toString('hex') || '-', guid: pong.guid })
  C.result(true, { mode: 'ping' })
  process.exit(C.EXIT.PASS)
}

async function client (o) {
  if (['wrong-password', 'server-full', 'incompatible'].includes(o.scenario)) {
    // It emits 'error' for an offline 0x14 but ignores 0x19 and 0x18 and keeps retrying.
    if (o.scenario !== 'server-full') C.unsupported(`${o.scenario} (jsp-raknet ignores that refusal)`)
  }
  const cl = new Client(o.host, o.port)
  let state = 'connecting'
  let refusal = null
  const inbox = []
  cl.on('connected', () => {
    state = 'connected'
    C.event('connected', { peer: `${o.host}:${o.port}`, mtu: cl.mtuSize })
  })
  cl.on('encapsulated', pk => inbox.push(Buffer.from(pk.buffer)))
  cl.on('disconnect', reason => {
    if (state === 'closing') return
    state = reason === 'timeout' ? 'lost' : 'closed'
    C.event('disconnected', { reason: state === 'lost' ? 'lost' : 'notification', detail: JSON.stringify(String(reason)) })
  })
  cl.on('error', msg => {
    if (msg === 'Server is full') { state = 'refused'; refusal = 'server_full' }
    C.event('refused', { reason: refusal || 'error', detail: JSON.stringify(String(msg)) })
  })
  const finish = (ok, fields) => {
    C.result(ok, { scenario: o.scenario, ...fields })
    if (state === 'connected') { state = 'closing'; cl.close('done') }
    setTimeout(() => process.exit(ok ? C.EXIT.PASS : C.EXIT.FAIL), 300)
  }
  cl.connect() // 5 REQUEST_1 tries, 1.5 s apart, MTU 1400 then 100 less each time
  const deadline = Date.now() + o.timeout * 1000
  while (state === 'connecting' && Date.now() < deadline) await C.sleep(5)
  if (o.scenario === 'server-full') return finish(refusal === 'server_full', { expected: 'server_full', got: refusal ?? state })
  if (state !== 'connected') return finish(false, { error: `not_connected_${state}` })
  if (o.scenario === 'hold' || o.scenario === 'wait-close') {
    const end = Date.now() + o.hold * 1000
    while (state === 'connected' && Date.now() < end) await C.sleep(10)
    const ok = o.scenario === 'hold' ? (state === 'lost' || state === 'closed') : state === 'closed'
    return finish(ok, { end: state })
  }
  const conn = {
    inbox,
    state: () => state,
    send: (buf, rel, ch) => cl.connection.addEncapsulatedToQueue(packet(buf, rel, ch))
  }
  let res
  try {
    res = await C.runScenario(o.scenario, conn, o, {
      noSequenced: 'jsp-raknet_sends_sequence_index_0_on_every_UNRELIABLE_SEQUENCED_frame'
    })
  } catch (e) {
    res = { ok: false, detail: String(e.message || e) }
  }
  if (res.ok) C.event('closing', {})
  finish(res.ok, { detail: JSON.stringify(res.detail) })
}

async function main () {
  const o = C.parseArgs(process.argv.slice(2))
  checkCommon(o)
  if (o.mode === 'server') return server(o)
  if (o.mode === 'ping') return ping(o)
  return client(o)
}

main().catch(e => { console.error(e); process.exit(C.EXIT.FAIL) })
