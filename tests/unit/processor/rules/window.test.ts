import { describe, expect, it } from 'vitest'
import { createSeriesWindow } from '../../../../services/processor/rules/window.ts'

const MIN = 60_000
const HOUR = 3_600_000
const T0 = Date.parse('2026-06-10T15:00:00Z')

describe('createSeriesWindow', () => {
  it('starts empty', () => {
    const w = createSeriesWindow({ spanMs: HOUR })
    expect(w.size).toBe(0)
    expect(w.latest()).toBeNull()
    expect(w.points()).toEqual([])
  })

  it('keeps out-of-order adds sorted by ts', () => {
    const w = createSeriesWindow({ spanMs: HOUR })
    for (const m of [30, 10, 50, 20, 40]) {
      expect(w.add({ ts: T0 + m * MIN, value: m })).toBe('added')
    }
    expect(w.points().map((p) => p.value)).toEqual([10, 20, 30, 40, 50])
    expect(w.latest()).toEqual({ ts: T0 + 50 * MIN, value: 50 })
    expect(w.size).toBe(5)
  })

  it('rejects a duplicate ts and keeps the first value', () => {
    const w = createSeriesWindow({ spanMs: HOUR })
    expect(w.add({ ts: T0, value: 6.1 })).toBe('added')
    expect(w.add({ ts: T0, value: 9.9 })).toBe('duplicate')
    expect(w.points()).toEqual([{ ts: T0, value: 6.1 }])
  })

  it('keeps a point that differs only in time: a rebooted device counts from 1 again', () => {
    // The engine adds a rebooted device's seq 7 at its new time; only the ts decides.
    const w = createSeriesWindow({ spanMs: HOUR })
    expect(w.addPoint(T0, 6.1)).toBe('added')
    expect(w.addPoint(T0 + MIN, 6.1)).toBe('added')
    expect(w.addPoint(T0 + MIN, 6.0)).toBe('duplicate')
    expect(w.size).toBe(2)
    expect(w.points()).toEqual([
      { ts: T0, value: 6.1 },
      { ts: T0 + MIN, value: 6.1 },
    ])
  })

  it('rejects points older than newest - spanMs; the boundary itself is kept', () => {
    const w = createSeriesWindow({ spanMs: HOUR })
    w.add({ ts: T0 + 2 * HOUR, value: 1 })
    expect(w.add({ ts: T0 + HOUR - 1, value: 2 })).toBe('too_old')
    expect(w.add({ ts: T0 + HOUR, value: 3 })).toBe('added')
    expect(w.size).toBe(2)
  })

  it('evicts relative to the newest point when a newer one arrives', () => {
    const w = createSeriesWindow({ spanMs: HOUR })
    for (let m = 0; m <= 60; m += 10) w.add({ ts: T0 + m * MIN, value: m })
    expect(w.size).toBe(7)
    // Newest becomes T0+85 min: cutoff T0+25 min drops 0, 10, 20.
    expect(w.add({ ts: T0 + 85 * MIN, value: 85 })).toBe('added')
    expect(w.points().map((p) => p.value)).toEqual([30, 40, 50, 60, 85])
    // A late point in the window is still accepted after eviction.
    expect(w.add({ ts: T0 + 26 * MIN, value: 26 })).toBe('added')
    expect(w.points()[0]?.value).toBe(26)
  })

  it('a jump far ahead evicts everything before it', () => {
    const w = createSeriesWindow({ spanMs: HOUR })
    for (let m = 0; m < 50; m++) w.add({ ts: T0 + m * MIN, value: m })
    w.add({ ts: T0 + 10 * HOUR, value: -1 })
    expect(w.points()).toEqual([{ ts: T0 + 10 * HOUR, value: -1 }])
  })

  it('is bounded by maxPoints, dropping the oldest', () => {
    const w = createSeriesWindow({ spanMs: 10 * HOUR, maxPoints: 4 })
    for (let m = 1; m <= 6; m++) expect(w.add({ ts: T0 + m * MIN, value: m })).toBe('added')
    expect(w.points().map((p) => p.value)).toEqual([3, 4, 5, 6])
    // Older than everything held while full: it would be the one evicted.
    expect(w.add({ ts: T0, value: 0 })).toBe('too_old')
    // A late point inside the held range displaces the oldest.
    expect(w.add({ ts: T0 + 3.5 * MIN, value: 3.5 })).toBe('added')
    expect(w.points().map((p) => p.value)).toEqual([3.5, 4, 5, 6])
  })

  it('defaults maxPoints to 512', () => {
    const w = createSeriesWindow({ spanMs: 10 * HOUR })
    for (let i = 0; i < 600; i++) w.addPoint(T0 + i * 1000, i)
    expect(w.size).toBe(512)
    expect(w.points()[0]).toEqual({ ts: T0 + 88_000, value: 88 })
    expect(w.latest()).toEqual({ ts: T0 + 599_000, value: 599 })
  })

  it('filters points by an inclusive range', () => {
    const w = createSeriesWindow({ spanMs: HOUR })
    for (let m = 0; m <= 50; m += 10) w.add({ ts: T0 + m * MIN, value: m })
    expect(w.points(T0 + 10 * MIN, T0 + 30 * MIN).map((p) => p.value)).toEqual([10, 20, 30])
    expect(w.points(T0 + 15 * MIN).map((p) => p.value)).toEqual([20, 30, 40, 50])
    expect(w.points(undefined, T0 + 5 * MIN).map((p) => p.value)).toEqual([0])
    expect(w.points(T0 + 51 * MIN)).toEqual([])
  })

  it('returns copies, not views of its storage', () => {
    const w = createSeriesWindow({ spanMs: HOUR })
    w.add({ ts: T0, value: 1 })
    const [p] = w.points()
    if (p) p.value = 99
    expect(w.latest()?.value).toBe(1)
  })

  it('survives growth and shrinking across a replayed backlog', () => {
    const w = createSeriesWindow({ spanMs: HOUR })
    // 300 one-second points arriving newest first, then a point an hour later.
    for (let i = 299; i >= 0; i--) expect(w.add({ ts: T0 + i * 1000, value: i })).toBe('added')
    const pts = w.points()
    expect(pts).toHaveLength(300)
    expect(pts.every((p, i) => p.value === i)).toBe(true)
    w.add({ ts: T0 + HOUR + 298_000, value: 1000 })
    expect(w.points().map((p) => p.value)).toEqual([298, 299, 1000])
  })

  it('rejects bad options and non-finite points', () => {
    expect(() => createSeriesWindow({ spanMs: 0 })).toThrow(RangeError)
    expect(() => createSeriesWindow({ spanMs: HOUR, maxPoints: 0 })).toThrow(RangeError)
    const w = createSeriesWindow({ spanMs: HOUR })
    expect(() => w.add({ ts: Number.NaN, value: 1 })).toThrow(RangeError)
    expect(() => w.add({ ts: T0, value: Number.POSITIVE_INFINITY })).toThrow(RangeError)
  })
})
