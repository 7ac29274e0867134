import { attractantCodes, invert, kindCodes, speciesCodes } from './lorawan-codes.ts'
import type { DeviceKind, ReadingInput } from './readings.ts'

/**
 * Tani's binary LoRaWAN payload (FRMPayload), version 1: the byte layout is in README.md,
 * "LoRaWAN payload codec". Multi-byte integers are big-endian; values are scaled integers,
 * so a round trip is exact to the scale's resolution. The frame has no sequence number
 * (the network server's frame counter, fCnt, is used) and no RSSI (the gateway measures
 * it); it has a timestamp only when it was stored and forwarded later.
 */

export const CODEC_VERSION = 1

/** What a frame carries of a reading: `ts` (epoch ms or ISO) only in store-and-forward frames. */
export type FrameFields<K extends DeviceKind> = Omit<ReadingInput[K], 'ts' | 'seq' | 'rssi_dbm'> & {
  ts?: number | string
}
export type DecodedFrame = {
  [K in DeviceKind]: { kind: K; fields: Omit<FrameFields<K>, 'ts'> & { ts?: number } }
}[DeviceKind]

export class CodecError extends Error {
  override name = 'CodecError'
}

type Int = 'u8' | 'u16' | 'i16' | 'u32'
const sizes: Record<Int, number> = { u8: 1, u16: 2, i16: 2, u32: 4 }
const limits: Record<Int, [number, number]> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
}
type Field = { name: string; int: Int; scale: number }

const FLAG_TIMESTAMP = 0x80
const FLAG_BATTERY_V = 0x40
/** Per kind: flags bit i says field i is present (env, pond) — or, for irrigation, the valve. */
const optionalFields: Partial<Record<DeviceKind, readonly Field[]>> = {
  env_sensor: [
    { name: 'air_temp_c', int: 'i16', scale: 10 },
    { name: 'rel_humidity_pct', int: 'u16', scale: 10 },
    { name: 'leaf_wetness_pct', int: 'u16', scale: 10 },
    { name: 'rainfall_mm', int: 'u16', scale: 10 },
    { name: 'soil_moisture_pct', int: 'u16', scale: 10 },
  ],
  pond_sensor: [
    { name: 'dissolved_oxygen_mg_l', int: 'u16', scale: 100 },
    { name: 'ph', int: 'u16', scale: 100 },
    { name: 'water_temp_c', int: 'i16', scale: 10 },
    { name: 'salinity_ppt', int: 'u16', scale: 10 },
    { name: 'tan_mg_l', int: 'u16', scale: 100 },
    { name: 'turbidity_ntu', int: 'u16', scale: 1 },
  ],
}
const irrigationFields: readonly Field[] = [
  { name: 'flow_l_min', int: 'u16', scale: 10 },
  { name: 'pressure_bar', int: 'u16', scale: 100 },
  { name: 'volume_total_l', int: 'u32', scale: 1 },
]
const VALVE_OPEN = 0x01
const MAX_TRAP_ID_BYTES = 64

const kindByCode = invert(kindCodes)
const attractantByCode = invert(attractantCodes)
const speciesByCode = invert(speciesCodes)

class Writer {
  private readonly bytes: number[] = []
  int(int: Int, value: number) {
    const b = Buffer.alloc(sizes[int])
    if (int === 'u8') b.writeUInt8(value)
    else if (int === 'u16') b.writeUInt16BE(value)
    else if (int === 'i16') b.writeInt16BE(value)
    else b.writeUInt32BE(value)
    this.bytes.push(...b)
  }
  scaled(f: Field, value: unknown) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new CodecError(`${f.name} must be a finite number, got ${JSON.stringify(value)}`)
    const raw = Math.round(value * f.scale)
    const [min, max] = limits[f.int]
    if (raw < min || raw > max)
      throw new CodecError(
        `${f.name} = ${value} does not fit the frame: ${f.int} ×${f.scale} holds ${min / f.scale} to ${max / f.scale}`,
      )
    this.int(f.int, raw)
  }
  raw(b: Buffer) {
    this.bytes.push(...b)
  }
  buffer = () => Buffer.from(this.bytes)
}

class Reader {
  offset = 0
  private readonly b: Buffer
  constructor(b: Buffer) {
    this.b = b
  }
  int(int: Int, what: string): number {
    const n = sizes[int]
    if (this.offset + n > this.b.length)
      throw new CodecError(
        `byte ${this.offset}: expected ${what} (${int}, ${n} byte${n > 1 ? 's' : ''}) but the frame ends after ${this.b.length} bytes`,
      )
    const at = this.offset
    this.offset += n
    if (int === 'u8') return this.b.readUInt8(at)
    if (int === 'u16') return this.b.readUInt16BE(at)
    if (int === 'i16') return this.b.readInt16BE(at)
    return this.b.readUInt32BE(at)
  }
  scaled(f: Field): number {
    return this.int(f.int, f.name) / f.scale
  }
  bytes(n: number, what: string): Buffer {
    if (this.offset + n > this.b.length)
      throw new CodecError(
        `byte ${this.offset}: expected ${what} (${n} bytes) but the frame ends after ${this.b.length} bytes`,
      )
    const out = this.b.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }
  remaining = () => this.b.length - this.offset
}

const toEpochSeconds = (ts: number | string): number => {
  const ms = typeof ts === 'number' ? ts : Date.parse(ts)
  if (!Number.isFinite(ms)) throw new CodecError(`ts ${JSON.stringify(ts)} is not a time`)
  const s = Math.floor(ms / 1000)
  if (s < 0 || s > limits.u32[1])
    throw new CodecError(`ts ${JSON.stringify(ts)} does not fit a uint32 of epoch seconds`)
  return s
}

/** Encodes one reading of `kind` as a version 1 frame. Throws CodecError naming the field. */
export function encodeUplink<K extends DeviceKind>(kind: K, reading: FrameFields<K>): Buffer {
  const r = reading as Record<string, unknown>
  const w = new Writer()
  const opt = optionalFields[kind] ?? []
  let flags = 0
  if (r.ts !== undefined) flags |= FLAG_TIMESTAMP
  if (r.battery_v !== undefined) flags |= FLAG_BATTERY_V
  opt.forEach((f, i) => {
    if (r[f.name] !== undefined) flags |= 1 << i
  })
  if (kind === 'irrigation_controller') {
    if (r.valve !== 'open' && r.valve !== 'closed')
      throw new CodecError(`valve must be "open" or "closed", got ${JSON.stringify(r.valve)}`)
    if (r.valve === 'open') flags |= VALVE_OPEN
  }
  w.int('u8', (CODEC_VERSION << 4) | kindCodes[kind])
  w.int('u8', flags)
  if (r.ts !== undefined) w.int('u32', toEpochSeconds(r.ts as number | string))
  w.scaled({ name: 'battery_pct', int: 'u8', scale: 1 }, r.battery_pct)
  if (r.battery_v !== undefined)
    w.scaled({ name: 'battery_v', int: 'u16', scale: 1000 }, r.battery_v)
  for (const f of opt) if (r[f.name] !== undefined) w.scaled(f, r[f.name])
  if (kind === 'irrigation_controller') for (const f of irrigationFields) w.scaled(f, r[f.name])
  if (kind === 'pest_trap') encodeTrap(w, r)
  return w.buffer()
}

function encodeTrap(w: Writer, r: Record<string, unknown>) {
  const attractant = attractantCodes[r.attractant as keyof typeof attractantCodes]
  if (!attractant)
    throw new CodecError(
      `attractant ${JSON.stringify(r.attractant)} has no code; use one of ${Object.keys(attractantCodes).join(', ')}`,
    )
  w.int('u8', attractant)
  w.scaled({ name: 'interval_s', int: 'u32', scale: 1 }, r.interval_s)
  const trapId = Buffer.from(String(r.trap_id ?? ''), 'utf8')
  if (trapId.length < 1 || trapId.length > MAX_TRAP_ID_BYTES)
    throw new CodecError(`trap_id must be 1 to ${MAX_TRAP_ID_BYTES} bytes of UTF-8`)
  w.int('u8', trapId.length)
  w.raw(trapId)
  const counts = Object.entries((r.counts ?? {}) as Record<string, unknown>)
  if (counts.length < 1 || counts.length > 0xff)
    throw new CodecError(`counts must have 1 to 255 species, got ${counts.length}`)
  w.int('u8', counts.length)
  for (const [species, n] of counts) {
    const code = speciesCodes[species]
    if (!code)
      throw new CodecError(
        `species ${species} has no code in the codec's table (README, "LoRaWAN payload codec"); add it there or send its counts through the network server's payload formatter`,
      )
    w.int('u8', code)
    w.scaled({ name: `counts.${species}`, int: 'u16', scale: 1 }, n)
  }
}

/**
 * Decodes a version 1 frame into the kind and the reading's fields (`ts` in epoch ms when
 * the frame has one). Throws CodecError naming the byte offset and what was expected
 * there. Ranges are not checked here: the reading schemas do that.
 */
export function decodeUplink(bytes: Uint8Array): DecodedFrame {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  const header = r.int('u8', 'the header byte (codec version and device kind)')
  const version = header >> 4
  if (version !== CODEC_VERSION)
    throw new CodecError(
      `byte 0: codec version ${version} (header 0x${header.toString(16).padStart(2, '0')}) is not supported; expected ${CODEC_VERSION}: is this a Tani frame?`,
    )
  const kind = kindByCode.get(header & 0x0f)
  if (!kind)
    throw new CodecError(
      `byte 0: device kind code ${header & 0x0f} is unknown; expected one of ${[...kindByCode.keys()].join(', ')}`,
    )
  const flags = r.int('u8', 'the flags byte')
  const opt = optionalFields[kind] ?? []
  const kindBits = kind === 'irrigation_controller' ? VALVE_OPEN : (1 << opt.length) - 1
  const unknownBits = flags & ~(FLAG_TIMESTAMP | FLAG_BATTERY_V | kindBits) & 0xff
  if (unknownBits)
    throw new CodecError(
      `byte 1: flags 0x${flags.toString(16)} set bits a ${kind} frame does not have (0x${unknownBits.toString(16)})`,
    )
  const fields: Record<string, unknown> = {}
  if (flags & FLAG_TIMESTAMP) fields.ts = r.int('u32', 'the timestamp (epoch seconds)') * 1000
  fields.battery_pct = r.int('u8', 'battery_pct')
  if (flags & FLAG_BATTERY_V)
    fields.battery_v = r.scaled({ name: 'battery_v', int: 'u16', scale: 1000 })
  opt.forEach((f, i) => {
    if (flags & (1 << i)) fields[f.name] = r.scaled(f)
  })
  if (kind === 'irrigation_controller') {
    for (const f of irrigationFields) fields[f.name] = r.scaled(f)
    fields.valve = flags & VALVE_OPEN ? 'open' : 'closed'
  }
  if (kind === 'pest_trap') decodeTrap(r, fields)
  if (r.remaining() > 0)
    throw new CodecError(
      `byte ${r.offset}: expected the end of the ${kind} frame, found ${r.remaining()} more byte(s)`,
    )
  return { kind, fields } as DecodedFrame
}

function decodeTrap(r: Reader, fields: Record<string, unknown>) {
  const at = r.offset
  const code = r.int('u8', 'the attractant code')
  fields.attractant = attractantByCode.get(code)
  if (!fields.attractant)
    throw new CodecError(`byte ${at}: attractant code ${code} is unknown; expected 1 to 4`)
  fields.interval_s = r.int('u32', 'interval_s')
  const len = r.int('u8', 'the length of trap_id')
  fields.trap_id = r.bytes(len, 'trap_id').toString('utf8')
  const n = r.int('u8', 'the number of species')
  const counts: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const where = r.offset
    const c = r.int('u8', `the species code of count ${i + 1} of ${n}`)
    const species = speciesByCode.get(c)
    if (!species)
      throw new CodecError(`byte ${where}: species code ${c} is not in the codec's table`)
    counts[species] = r.int('u16', `the count of ${species}`)
  }
  fields.counts = counts
}
