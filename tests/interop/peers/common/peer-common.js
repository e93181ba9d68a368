'use strict'
// Shared by the two Node interop helpers (raknet-native, jsp-raknet): command
// line, event lines, the self-describing payload and the client scenarios.
// The payload and scenarios are described in tests/interop/README.md; the
// Python and Rust helpers implement the same rules.

const RELIABILITY = {
  unreliable: 0,
  unreliable_sequenced: 1,
  reliable: 2,
  reliable_ordered: 3,
  reliable_sequenced: 4
}
const RELIABILITY_NAME = Object.fromEntries(Object.entries(RELIABILITY).map(([k, v]) => [v, k]))

const EXIT = { PASS: 0, FAIL: 1, USAGE: 2, UNSUPPORTED: 3 }
const BIG_SIZE = 1024 * 1024
const HEADER_LEN = 7

function parseArgs (argv) {
  const mode = argv[0]
  const o = {
    mode,
    host: '127.0.0.1',
    port: 19132,
    protocol: null,
    password: null,
    maxConn: null,
    offlineData: null,
    scenario: 'all',
    count: 50,
    firstByte: 0x86,
    timeout: 30,
    hold: 30,
    echoReliability: 'auto',
    echoChannel: null
  }
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    const v = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${a}`)
      return argv[++i]
    }
    switch (a) {
      case '--host': o.host = v(); break
      case '--port': o.port = parseInt(v(), 10); break
      case '--protocol': o.protocol = parseInt(v(), 10); break
      case '--password': o.password = v(); break
      case '--max-conn': o.maxConn = parseInt(v(), 10); break
      case '--offline-data': o.offlineData = v(); break
      case '--scenario': o.scenario = v(); break
      case '--count': o.count = parseInt(v(), 10); break
      case '--first-byte': o.firstByte = parseInt(v(), 0); break
      case '--timeout': o.timeout = parseFloat(v()); break
      case '--hold': o.hold = parseFloat(v()); break
      case '--echo-reliability': o.echoReliability = v(); break
      case '--echo-channel': o.echoChannel = parseInt(v(), 10); break
      default: usage(`unknown argument ${a}`)
    }
  }
  if (!['server', 'client', 'ping'].includes(mode)) usage('mode must be server, client or ping')
  if (o.echoReliability !== 'auto' && !(o.echoReliability in RELIABILITY)) usage('bad --echo-reliability')
  return o
}

function usage (msg) {
  process.stderr.write(`error: ${msg}\n` +
    'usage: peer server --port P [--host H] [--protocol V] [--password PW] [--max-conn N] [--offline-data TEXT]\n' +
    '                   [--echo-reliability NAME|auto] [--echo-channel C]\n' +
    '       peer client --host H --port P [--protocol V] [--password PW] [--scenario NAME] [--count N]\n' +
    '                   [--first-byte B] [--timeout S] [--hold S]\n' +
    '       peer ping --host H --port P [--timeout S]\n')
  process.exit(EXIT.USAGE)
}

function event (kind, fields = {}) {
  const parts = ['EVENT', kind]
  for (const [k, v] of Object.entries(fields)) parts.push(`${k}=${v}`)
  process.stdout.write(parts.join(' ') + '\n')
}

function unsupported (what) {
  process.stdout.write(`UNSUPPORTED ${what}\n`)
  process.exit(EXIT.UNSUPPORTED)
}

// Aligned 4-byte word w of message seq's pattern (README.md, "Payload"; the same as
// ex_pattern_byte in examples-c/common.h): lowbias32 of a value keyed by seq, a
// bijection of w, so no two aligned words of one message repeat.
function patternWord (seq, w) {
  let x = (Math.imul(w, 0x9e3779b9) + Math.imul(seq, 0x85ebca6b) + 0x6c69626b) >>> 0
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d) >>> 0
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b) >>> 0
  x ^= x >>> 16
  return x >>> 0
}

function patternByte (seq, i) {
  return (patternWord(seq, i >>> 2) >>> (8 * (i & 3))) & 0xff
}

// byte 0 first byte, 1..4 u32be seq, 5 channel, 6 reliability, then patternByte(seq, i) at offset i.
function makePayload (firstByte, seq, channel, reliability, size) {
  const b = Buffer.alloc(Math.max(size, HEADER_LEN))
  b[0] = firstByte
  b.writeUInt32BE(seq >>> 0, 1)
  b[5] = channel
  b[6] = reliability
  for (let i = HEADER_LEN; i < b.length; i++) b[i] = patternByte(seq, i)
  return b
}

// Returns {seq, channel, reliability, valid} for anything at least HEADER_LEN long.
function parsePayload (buf) {
  if (buf.length < HEADER_LEN) return { valid: false }
  const seq = buf.readUInt32BE(1)
  let valid = buf[5] < 32 && buf[6] <= 4
  for (let i = HEADER_LEN; valid && i < buf.length; i++) {
    if (buf[i] !== patternByte(seq, i)) valid = false
  }
  return { seq, channel: buf[5], reliability: buf[6], valid }
}

// Decides how a server echoes `buf`: the reliability/channel the payload names
// (auto), or the fixed ones given on the command line.
function echoParams (opts, buf) {
  if (opts.echoReliability !== 'auto') {
    return { reliability: RELIABILITY[opts.echoReliability], channel: opts.echoChannel ?? 0 }
  }
  const p = parsePayload(buf)
  if (p.valid) return { reliability: p.reliability, channel: p.channel }
  return { reliability: RELIABILITY.reliable_ordered, channel: opts.echoChannel ?? 0 }
}

function describe (buf) {
  const p = parsePayload(buf)
  const f = { len: buf.length, first: '0x' + buf[0].toString(16) }
  if (buf.length >= 5) f.seq = buf.readUInt32BE(1)
  if (p.valid) { f.ch = p.channel; f.rel = RELIABILITY_NAME[p.reliability] }
  f.valid = p.valid ? 1 : 0
  return f
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// Runs a client scenario over `conn`:
//   conn.send(buf, reliabilityCode, channel)   queue one message
//   conn.inbox                                 array the helper pushes received user messages to
//   conn.state()                               'connected' | 'closed' | ...
//   conn.close()                               clean disconnect (may be async)
// Returns {ok, detail}. `caps` names what the peer cannot do, e.g.
// {maxUnsplit: n} (largest non-RELIABLE_ORDERED message) or {noSequenced: reason}.
async function runScenario (name, conn, opts, caps = {}) {
  const steps = {
    handshake: [],
    ordered: ['ordered'],
    reliable: ['reliable'],
    sequenced: ['sequenced'],
    big: ['big'],
    all: ['ordered', 'reliable', 'sequenced', 'big'],
    'all-reliable': ['ordered', 'reliable', 'big'],
    disconnect: ['ordered1']
  }[name]
  if (!steps) return { ok: false, detail: `unknown scenario ${name}` }
  let seq = 0
  const results = []
  const deadline = Date.now() + opts.timeout * 1000
  const take = () => conn.inbox.splice(0, conn.inbox.length)

  for (const step of steps) {
    if (step === 'sequenced' && caps.noSequenced) {
      event('skip', { step, reason: caps.noSequenced })
      continue
    }
    const sent = new Map() // seq -> payload
    const perChannel = new Map() // channel -> [seq...] in send order
    let reliability = RELIABILITY.reliable_ordered
    const send = (ch, rel, size) => {
      const s = seq++
      const buf = makePayload(opts.firstByte, s, ch, rel, size)
      sent.set(s, buf)
      if (!perChannel.has(ch)) perChannel.set(ch, [])
      perChannel.get(ch).push(s)
      conn.send(buf, rel, ch)
    }
    const small = i => 16 + (i * 37) % 480
    if (step === 'ordered' || step === 'ordered1') {
      const n = step === 'ordered1' ? 1 : opts.count
      for (let i = 0; i < n; i++) for (let ch = 0; ch < 4; ch++) send(ch, reliability, small(i + ch))
    } else if (step === 'reliable') {
      reliability = RELIABILITY.reliable
      for (let i = 0; i < opts.count; i++) send(0, reliability, small(i))
    } else if (step === 'sequenced') {
      reliability = RELIABILITY.unreliable_sequenced
      for (let i = 0; i < opts.count; i++) send(1, reliability, small(i))
    } else if (step === 'big') {
      send(0, reliability, BIG_SIZE)
    }
    if (conn.flush) await conn.flush()

    // Collect echoes.
    const got = new Map() // channel -> [seq...]
    const seen = new Set()
    let error = null
    const expectedCount = sent.size
    let lastArrival = Date.now()
    while (!error) {
      for (const buf of take()) {
        lastArrival = Date.now()
        const p = parsePayload(buf)
        const s = buf.length >= 5 ? buf.readUInt32BE(1) : -1
        const want = sent.get(s)
        if (!want) { error = `unexpected echo seq=${s} len=${buf.length}`; break }
        if (!want.equals(buf)) { error = `corrupt echo seq=${s} len=${buf.length} expected_len=${want.length}`; break }
        if (seen.has(s)) { error = `duplicate echo seq=${s}`; break }
        seen.add(s)
        if (!got.has(p.channel)) got.set(p.channel, [])
        got.get(p.channel).push(s)
      }
      if (error) break
      if (seen.size === expectedCount) break
      if (conn.state() !== 'connected') { error = `connection ${conn.state()} after ${seen.size}/${expectedCount} echoes`; break }
      if (reliability === RELIABILITY.unreliable_sequenced && seen.size > 0 && Date.now() - lastArrival > 2000) break
      if (Date.now() > deadline) { error = `timeout after ${seen.size}/${expectedCount} echoes`; break }
      await sleep(5)
    }
    if (!error) {
      for (const [ch, order] of got) {
        const want = perChannel.get(ch) || []
        if (reliability === RELIABILITY.unreliable_sequenced) {
          for (let i = 1; i < order.length; i++) {
            if (order[i] <= order[i - 1]) { error = `sequenced echo out of order on ch ${ch}: ${order[i - 1]} then ${order[i]}`; break }
          }
        } else if (reliability === RELIABILITY.reliable_ordered) {
          if (order.join(',') !== want.join(',')) error = `ordered echoes out of order on ch ${ch}`
        }
        if (error) break
      }
    }
    // Loopback loses next to nothing: fewer than half the sequenced echoes means something is wrong.
    if (!error && reliability === RELIABILITY.unreliable_sequenced && seen.size * 2 < expectedCount) error = `only ${seen.size}/${expectedCount} sequenced echoes arrived`
    const r = { step, sent: expectedCount, echoed: seen.size, ok: !error }
    if (error) r.error = error
    event('step', { step, sent: expectedCount, echoed: seen.size, result: error ? 'fail' : 'pass', ...(error ? { error: JSON.stringify(error) } : {}) })
    results.push(r)
    if (error) return { ok: false, detail: `${step}: ${error}` }
  }
  return { ok: true, detail: results.map(r => `${r.step}:${r.echoed}/${r.sent}`).join(',') || 'connected' }
}

function result (ok, fields) {
  process.stdout.write(`RESULT ${ok ? 'pass' : 'fail'}${Object.entries(fields).map(([k, v]) => ` ${k}=${v}`).join('')}\n`)
}

module.exports = {
  RELIABILITY,
  RELIABILITY_NAME,
  EXIT,
  BIG_SIZE,
  parseArgs,
  event,
  unsupported,
  makePayload,
  patternByte,
  parsePayload,
  echoParams,
  describe,
  runScenario,
  result,
  sleep
}
