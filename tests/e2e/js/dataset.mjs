// Shared helpers for the node end-to-end scripts: deterministic dataset (same spec as
// tests/e2e/e2e_util.py, not the same bytes), verification, argument parsing, dumps.

import { writeFileSync } from 'node:fs'

export const MAX_MESSAGE_BYTES = 1048588
export const LARGE_MIN = 900_000
export const LARGE_MAX = 1_000_000
export const HEADER_KEYS = ['trace-id', 'h1', 'h2', 'dup', 'content-type', 'ünïcode-ключ']
// Partitions of auto-created topics (--partitions N, default 3 = the broker's --default-partitions).
export const PARTITIONS = Number(parseArgs(process.argv.slice(2)).partitions ?? 3)

// ---------------------------------------------------------------------------------------
// PRNG: splitmix32-seeded xoshiro128**

export function prng (seed) {
  let s = seed >>> 0
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = split(); let b = split(); let c = split(); let d = split()
  const u32 = () => {
    const r = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0
    const t = (b << 9) >>> 0
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t
    d = rotl(d, 11)
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0
    return r
  }
  const float = () => u32() / 4294967296
  const int = n => Math.floor(float() * n)
  const range = (lo, hi) => lo + int(hi - lo + 1) // inclusive
  const bytes = n => {
    const buf = Buffer.allocUnsafe(n)
    let i = 0
    for (; i + 4 <= n; i += 4) buf.writeUInt32LE(u32(), i)
    if (i < n) {
      const last = u32()
      for (let j = 0; i < n; i++, j++) buf[i] = (last >>> (8 * j)) & 0xff
    }
    return buf
  }
  const choice = arr => arr[int(arr.length)]
  return { u32, float, int, range, bytes, choice }
}

function rotl (x, k) {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

// ---------------------------------------------------------------------------------------
// Dataset

/**
 * Records: { index, partition, key: Buffer|null, value: Buffer|null,
 *            headers: [[string, Buffer|null]], timestamp: number (ms) }
 * groupHeadersByKey: reorder each record's headers so that equal keys are adjacent, in
 * first-appearance order (kafkajs takes headers as an object, so that is the wire order).
 */
export function makeDataset ({
  seed, n, partitions = PARTITIONS, nLarge = 5, baseTs,
  nullKeys = true, nullValues = true, nullHeaderValues = true, allowBothNull = true,
  headerKeys = HEADER_KEYS, groupHeadersByKey = false
}) {
  const rng = prng(seed)
  const largeAt = new Set()
  for (let k = 0; k < nLarge; k++) largeAt.add(Math.floor((k + 0.5) * n / nLarge))
  const recs = []
  for (let i = 0; i < n; i++) {
    const partition = rng.int(partitions)
    let r = rng.float()
    let key
    if (nullKeys && r < 0.07) key = null
    else if (r < 0.10) key = Buffer.alloc(0)
    else key = rng.bytes(rng.range(1, 64))
    let value
    if (largeAt.has(i)) {
      value = rng.bytes(rng.range(LARGE_MIN, LARGE_MAX))
    } else {
      r = rng.float()
      if (nullValues && r < 0.04 && (allowBothNull || key !== null)) value = null
      else if (r < 0.09) value = Buffer.alloc(0)
      else value = rng.bytes(rng.range(1, 200))
    }
    let headers = []
    const nh = rng.int(4)
    for (let h = 0; h < nh; h++) {
      const hk = rng.choice(headerKeys)
      const hv = nullHeaderValues && rng.float() < 0.15 ? null : rng.bytes(rng.range(0, 32))
      headers.push([hk, hv])
    }
    if (groupHeadersByKey) {
      const order = []
      const byKey = new Map()
      for (const [k, v] of headers) {
        if (!byKey.has(k)) { byKey.set(k, []); order.push(k) }
        byKey.get(k).push(v)
      }
      headers = order.flatMap(k => byKey.get(k).map(v => [k, v]))
    }
    const timestamp = baseTs - rng.int(3_600_000)
    recs.push({ index: i, partition, key, value, headers, timestamp })
  }
  return recs
}

export function recordSize (r) {
  let s = 32 + (r.key?.length ?? 0) + (r.value?.length ?? 0)
  for (const [k, v] of r.headers) s += Buffer.byteLength(k) + (v?.length ?? 0) + 4
  return s
}

/** Contiguous send chunks of at most maxBytes; a large record always travels alone. */
export function sendChunks (recs, maxBytes = 256 * 1024) {
  const out = []
  let cur = []
  let size = 0
  for (const r of recs) {
    const s = recordSize(r)
    if (cur.length && (size + s > maxBytes || s > maxBytes)) {
      out.push(cur); cur = []; size = 0
    }
    cur.push(r); size += s
    if (s > maxBytes) { out.push(cur); cur = []; size = 0 }
  }
  if (cur.length) out.push(cur)
  return out
}

/** Split into k contiguous parts (one per codec). */
export function split (recs, k) {
  const n = recs.length
  const out = []
  for (let i = 0; i < k; i++) out.push(recs.slice(Math.floor(i * n / k), Math.floor((i + 1) * n / k)))
  return out
}

export function byPartition (recs, partitions = PARTITIONS) {
  const out = new Map()
  for (let p = 0; p < partitions; p++) out.set(p, [])
  for (const r of recs) out.get(r.partition).push(r)
  return out
}

/** index -> expected offset for an empty topic and in-order production. */
export function expectedOffsets (recs) {
  const next = new Map()
  const out = new Map()
  for (const r of recs) {
    const o = next.get(r.partition) ?? 0
    out.set(r.index, o)
    next.set(r.partition, o + 1)
  }
  return out
}

// ---------------------------------------------------------------------------------------
// Verification. got: [{ offset: number, key, value, headers: [[string, Buffer|null]],
//                       timestamp: number, tsType: 'create'|'append'|undefined }]

function descr (b) {
  if (b === null || b === undefined) return String(b)
  if (b.length <= 16) return `<${b.toString('hex')}>`
  return `<${b.length} bytes ${b.subarray(0, 8).toString('hex')}...>`
}

function diffBytes (what, exp, got) {
  if (exp === null || got === null || exp === undefined || got === undefined) {
    if ((exp ?? null) === null && (got ?? null) === null) return null
    return `${what}: expected ${descr(exp)}, got ${descr(got)}`
  }
  if (Buffer.compare(exp, got) === 0) return null
  if (exp.length !== got.length) return `${what}: expected ${exp.length} bytes, got ${got.length} (${descr(exp)} vs ${descr(got)})`
  let i = 0
  while (exp[i] === got[i]) i++
  return `${what}: ${exp.length} bytes differ first at byte ${i}`
}

function headersEqual (a, b) {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (a[i][0] !== b[i][0]) return false
    if (diffBytes('h', a[i][1], b[i][1])) return false
  }
  return true
}

const fmtHeaders = hs => JSON.stringify(hs.map(([k, v]) => [k, descr(v)]))

export function verifyPartition (label, expected, got, start = 0, { checkTs = true } = {}) {
  const problems = []
  const want = expected.length - start
  if (got.length !== want) problems.push(`record count: expected ${want} (offsets ${start}..${expected.length - 1}), got ${got.length}`)
  for (let i = 0; i < got.length && problems.length < 15; i++) {
    const g = got[i]
    let off = start + i
    if (g.offset !== off) {
      problems.push(`${label} offset ${off}: got offset ${g.offset} (must be dense from ${start})`)
      if (!(g.offset >= 0 && g.offset < expected.length)) continue
      off = g.offset
    }
    if (off >= expected.length) { problems.push(`${label}: unexpected extra record at ${off}`); continue }
    const e = expected[off]
    const where = `${label} offset ${off} (index ${e.index})`
    for (const d of [diffBytes('key', e.key, g.key), diffBytes('value', e.value, g.value)]) {
      if (d) problems.push(`${where}: ${d}`)
    }
    if (!headersEqual(e.headers, g.headers)) problems.push(`${where}: headers expected ${fmtHeaders(e.headers)}, got ${fmtHeaders(g.headers)}`)
    if (checkTs && g.timestamp !== e.timestamp) problems.push(`${where}: timestamp expected ${e.timestamp}, got ${g.timestamp}`)
    if (g.tsType !== undefined && g.tsType !== 'create') problems.push(`${where}: timestamp type ${g.tsType}, expected CreateTime`)
  }
  if (problems.length) throw new Error(`${label}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`)
}

/** consume(partition, start, count) -> got[]; reads each partition from 0 and the middle. */
export async function verifyTopic (label, recs, consume, partitions = PARTITIONS) {
  for (const [p, exp] of byPartition(recs, partitions)) {
    verifyPartition(`${label} p${p} from 0`, exp, await consume(p, 0, exp.length), 0)
    const mid = Math.floor(exp.length / 2)
    verifyPartition(`${label} p${p} from ${mid}`, exp, await consume(p, mid, exp.length - mid), mid)
  }
}

// ---------------------------------------------------------------------------------------
// Plumbing

export function parseArgs (argv = process.argv.slice(2)) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`)
    const k = argv[i].slice(2)
    if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[k] = argv[++i]
    else out[k] = true
  }
  return out
}

export function need (args, name) {
  if (args[name] === undefined) throw new Error(`missing --${name}`)
  return args[name]
}

/** JSON lines (bytes as base64) for tests/e2e/e2e_util.py load_dump(). */
export function dump (path, recs) {
  const b64 = b => (b === null ? null : b.toString('base64'))
  const lines = recs.map(r => JSON.stringify({
    index: r.index,
    partition: r.partition,
    key: b64(r.key),
    value: b64(r.value),
    headers: r.headers.map(([k, v]) => [k, b64(v)]),
    timestamp: r.timestamp
  }))
  writeFileSync(path, lines.join('\n') + '\n')
}

export function log (...a) {
  process.stderr.write(`[${new Date().toISOString()}] ${a.join(' ')}\n`)
}

export function result (obj) {
  process.stdout.write(`RESULT ${JSON.stringify(obj)}\n`)
}

/** Run main; any error exits 1 with its message (and stack) on stderr. */
export function run (main, timeoutMs = 200_000) {
  const timer = setTimeout(() => {
    process.stderr.write(`timed out after ${timeoutMs} ms\n`)
    process.exit(3)
  }, timeoutMs)
  timer.unref()
  main().then(() => process.exit(0), err => {
    process.stderr.write(`FAILED: ${err?.stack ?? err}\n`)
    if (err?.errors) process.stderr.write(`errors: ${JSON.stringify(err.errors, null, 1)?.slice(0, 4000)}\n`)
    if (err?.cause) process.stderr.write(`cause: ${err.cause?.stack ?? err.cause}\n`)
    process.exit(1)
  })
}

export function assert (cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`)
}

export function assertEq (got, want, msg) {
  const g = JSON.stringify(got, (k, v) => (typeof v === 'bigint' ? v.toString() : v))
  const w = JSON.stringify(want, (k, v) => (typeof v === 'bigint' ? v.toString() : v))
  if (g !== w) throw new Error(`${msg}: got ${g}, want ${w}`)
}
