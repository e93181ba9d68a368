'use strict'
// Interop helper for npm `raknet-native` (original C++ RakNet 4.081 built from
// the package's bundled source, with tests/interop's small password patch).
// Uses the native RakClient/RakServer classes directly, because the package's
// JS wrappers drop refusal messages (invalid password, server full, ...).
// Command line and output: tests/interop/README.md.

const path = require('path')
const C = require(path.join(__dirname, '..', 'common', 'peer-common.js'))
const { RakClient, RakServer } = require('raknet-native')

const ID = {
  CONNECTION_REQUEST_ACCEPTED: 0x10,
  CONNECTION_ATTEMPT_FAILED: 0x11,
  ALREADY_CONNECTED: 0x12,
  NEW_INCOMING_CONNECTION: 0x13,
  NO_FREE_INCOMING_CONNECTIONS: 0x14,
  DISCONNECTION_NOTIFICATION: 0x15,
  CONNECTION_LOST: 0x16,
  CONNECTION_BANNED: 0x17,
  INVALID_PASSWORD: 0x18,
  INCOMPATIBLE_PROTOCOL_VERSION: 0x19,
  IP_RECENTLY_CONNECTED: 0x1a,
  UNCONNECTED_PONG: 0x1c,
  USER: 0x86
}
const REFUSAL = {
  [ID.CONNECTION_ATTEMPT_FAILED]: 'attempt_failed',
  [ID.ALREADY_CONNECTED]: 'already_connected',
  [ID.NO_FREE_INCOMING_CONNECTIONS]: 'server_full',
  [ID.CONNECTION_BANNED]: 'banned',
  [ID.INVALID_PASSWORD]: 'invalid_password',
  [ID.INCOMPATIBLE_PROTOCOL_VERSION]: 'incompatible_protocol',
  [ID.IP_RECENTLY_CONNECTED]: 'ip_recently_connected'
}
const HIGH_PRIORITY = 1

function toArrayBuffer (buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
}

// RakNet's own internal messages are < ID_USER_PACKET_ENUM; anything else is user data.
// rust-raknet sends 0xFE, so user data is "byte 0 >= 0x86" rather than "== 0x86".
function isUser (id) { return id >= ID.USER }

async function server (o) {
  const options = { maxConnections: o.maxConn ?? 8 }
  if (o.protocol != null) options.protocolVersion = o.protocol
  if (o.password != null) options.password = o.password
  const srv = new RakServer(o.host, o.port, options)
  srv.setPongResponse(Buffer.from(o.offlineData ?? ''))
  const received = new Map() // peer -> user messages received
  // peer -> echoes held back. RakNet delivers user messages that overtake the peer's
  // NEW_INCOMING_CONNECTION (under loss or reordering), but Send() to that peer fails until
  // it arrives; so the echoes wait for it, in order (README.md, quirk 18).
  const held = new Map()
  const echo = (address, peer, args) => {
    const [h, p] = address.split('/')
    const r = srv.send(h, parseInt(p, 10), ...args)
    if (r <= 0) C.event('echo-failed', { peer, code: r })
  }
  const onPackets = packets => {
    for (const [ab, address, guid] of packets) {
      const buf = Buffer.from(ab)
      const id = buf[0]
      const peer = address.replace('/', ':')
      if (isUser(id)) {
        received.set(peer, (received.get(peer) || 0) + 1)
        C.event('message', { peer, ...C.describe(buf) })
        const { reliability, channel } = C.echoParams(o, buf)
        const args = [toArrayBuffer(buf), HIGH_PRIORITY, reliability, channel, false]
        const [h, p] = address.split('/')
        if (held.has(peer)) {
          held.get(peer).push(args)
        } else if (srv.send(h, parseInt(p, 10), ...args) <= 0) {
          C.event('echo-held', { peer, why: 'not yet connected' })
          held.set(peer, [args])
        }
      } else if (id === ID.NEW_INCOMING_CONNECTION) {
        C.event('incoming', { peer, guid })
        for (const args of held.get(peer) || []) echo(address, peer, args)
        held.delete(peer)
      } else if (id === ID.DISCONNECTION_NOTIFICATION) {
        held.delete(peer)
        C.event('disconnected', { peer, reason: 'notification', received: received.get(peer) || 0 })
      } else if (id === ID.CONNECTION_LOST) {
        held.delete(peer)
        C.event('disconnected', { peer, reason: 'lost', received: received.get(peer) || 0 })
      } else if (id === 0x01 || id === 0x02) {
        C.event('ping-seen', { peer })
      } else {
        C.event('internal', { peer, id: '0x' + id.toString(16), len: buf.length })
      }
    }
  }
  const done = srv.listen(onPackets)
  C.event('listening', { port: o.port, protocol: o.protocol ?? 6, max_conn: options.maxConnections })
  const stop = () => {
    C.event('shutdown', {})
    try { srv.close() } catch (e) {}
    setTimeout(() => process.exit(0), 200)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  await done
}

function makeClient (o, onPacket) {
  const options = {}
  if (o.protocol != null) options.protocolVersion = o.protocol
  if (o.password != null) options.password = o.password
  const cl = new RakClient(o.host, o.port, options)
  cl.listen(buffers => { for (const ab of buffers) onPacket(Buffer.from(ab)) })
  return cl
}

async function ping (o) {
  let pong = null
  const cl = makeClient(o, buf => {
    if (buf[0] === ID.UNCONNECTED_PONG) pong = buf
  })
  const deadline = Date.now() + o.timeout * 1000
  while (!pong && Date.now() < deadline) {
    cl.ping()
    for (let i = 0; i < 20 && !pong; i++) await C.sleep(25)
  }
  if (!pong) { C.result(false, { mode: 'ping', error: 'no_pong' }); cl.close(); process.exit(C.EXIT.FAIL) }
  // The application view of a 4.081 pong is [1C][u32 time][offline data].
  const data = pong.slice(5)
  C.event('pong', { from: `${o.host}:${o.port}`, data: JSON.stringify(data.toString('latin1')), data_hex: data.toString('hex') || '-' })
  C.result(true, { mode: 'ping' })
  cl.close()
  process.exit(C.EXIT.PASS)
}

async function client (o) {
  let state = 'connecting'
  let refusal = null
  const inbox = []
  const cl = makeClient(o, buf => {
    const id = buf[0]
    if (isUser(id)) { inbox.push(buf); return }
    if (id === ID.CONNECTION_REQUEST_ACCEPTED) {
      state = 'connected'
      C.event('connected', { peer: `${o.host}:${o.port}` })
    } else if (id === ID.DISCONNECTION_NOTIFICATION) {
      state = 'closed'
      C.event('disconnected', { reason: 'notification' })
    } else if (id === ID.CONNECTION_LOST) {
      state = 'lost'
      C.event('disconnected', { reason: 'lost' })
    } else if (REFUSAL[id]) {
      state = 'refused'
      refusal = REFUSAL[id]
      C.event('refused', { reason: refusal, id: '0x' + id.toString(16) })
    } else {
      C.event('internal', { id: '0x' + id.toString(16), len: buf.length })
    }
  })
  const finish = (ok, fields) => {
    C.result(ok, { scenario: o.scenario, ...fields })
    try { cl.close() } catch (e) {}
    setTimeout(() => process.exit(ok ? C.EXIT.PASS : C.EXIT.FAIL), 100)
  }
  cl.connect()
  const deadline = Date.now() + o.timeout * 1000
  while (state === 'connecting' && Date.now() < deadline) await C.sleep(5)

  const expectRefusal = { 'wrong-password': 'invalid_password', 'server-full': 'server_full', incompatible: 'incompatible_protocol' }[o.scenario]
  if (expectRefusal) {
    return finish(refusal === expectRefusal, { expected: expectRefusal, got: refusal ?? state })
  }
  if (state !== 'connected') return finish(false, { error: refusal ? `refused_${refusal}` : `not_connected_${state}` })

  if (o.scenario === 'hold') {
    // Wait for the other side to vanish (or disconnect): pass when the connection ends.
    const end = Date.now() + o.hold * 1000
    while (state === 'connected' && Date.now() < end) await C.sleep(10)
    return finish(state === 'lost' || state === 'closed', { end: state })
  }
  if (o.scenario === 'wait-close') {
    const end = Date.now() + o.hold * 1000
    while (state === 'connected' && Date.now() < end) await C.sleep(10)
    return finish(state === 'closed', { end: state })
  }

  const conn = {
    inbox,
    state: () => state,
    send: (buf, rel, ch) => {
      const r = cl.send(toArrayBuffer(buf), HIGH_PRIORITY, rel, ch, false)
      if (r <= 0) throw new Error(`send failed ${r}`)
    }
  }
  let res
  try {
    res = await C.runScenario(o.scenario, conn, o)
  } catch (e) {
    res = { ok: false, detail: String(e.message || e) }
  }
  if (res.ok) {
    // RakNet's Shutdown(300) sends ID_DISCONNECTION_NOTIFICATION and waits up to 300 ms.
    C.event('closing', {})
  }
  finish(res.ok, { detail: JSON.stringify(res.detail) })
}

async function main () {
  const o = C.parseArgs(process.argv.slice(2))
  if (o.mode === 'server') return server(o)
  if (o.mode === 'ping') return ping(o)
  return client(o)
}

main().catch(e => { console.error(e); process.exit(C.EXIT.FAIL) })
