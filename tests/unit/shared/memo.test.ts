import { describe, expect, it } from 'vitest'
import { parseDuration } from '../../../shared/duration.ts'
import { memoize } from '../../../shared/memo.ts'

describe('memoize', () => {
  it('computes an answer once per argument', () => {
    const calls: string[] = []
    const upper = memoize((s: string) => {
      calls.push(s)
      return s.toUpperCase()
    })
    expect([upper('a'), upper('b'), upper('a')]).toEqual(['A', 'B', 'A'])
    expect(calls).toEqual(['a', 'b'])
  })

  it('starts over past its bound instead of growing', () => {
    const calls: number[] = []
    const twice = memoize((n: number) => {
      calls.push(n)
      return 2 * n
    }, 2)
    twice(1)
    twice(2)
    twice(3) // full: the store starts over with 3
    twice(1)
    expect(calls).toEqual([1, 2, 3, 1])
  })

  it('keeps nothing from a call that throws', () => {
    expect(() => parseDuration('6 hours')).toThrow(/not a duration/)
    expect(() => parseDuration('6 hours')).toThrow(/not a duration/)
    expect(parseDuration('1d6h')).toBe(30 * 3_600_000)
  })
})
