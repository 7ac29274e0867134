import { describe, expect, it } from 'vitest'
import { quietUntil } from '../../../services/notifier/quiet-hours.ts'

const HCM = 'Asia/Ho_Chi_Minh' // UTC+7, no daylight saving
const at = (iso: string) => Date.parse(iso)

describe('quiet hours', () => {
  const night = { start: '22:00', end: '05:30' }

  it('holds an alert at 23:10 local until 05:30 the next morning', () => {
    expect(quietUntil(at('2026-11-23T16:10:00Z'), night, HCM)).toBe(at('2026-11-23T22:30:00Z'))
  })

  it('holds an alert at 02:00 local until 05:30 the same morning', () => {
    expect(quietUntil(at('2026-11-23T19:00:00Z'), night, HCM)).toBe(at('2026-11-23T22:30:00Z'))
  })

  it('lets alerts through outside the window, and at its end exactly', () => {
    expect(quietUntil(at('2026-11-23T05:00:00Z'), night, HCM)).toBeNull() // 12:00 local
    expect(quietUntil(at('2026-11-23T22:30:00Z'), night, HCM)).toBeNull() // 05:30 local
  })

  it('handles a window within one day (a siesta)', () => {
    const siesta = { start: '12:00', end: '13:30' }
    expect(quietUntil(at('2026-11-23T05:15:00Z'), siesta, HCM)).toBe(at('2026-11-23T06:30:00Z'))
    expect(quietUntil(at('2026-11-23T07:00:00Z'), siesta, HCM)).toBeNull()
  })

  it('reads the clock in the given zone', () => {
    // 23:10 in Jakarta (UTC+7) is 00:10 in Makassar (UTC+8): both quiet, ends differ by 1 h.
    const t = at('2026-11-23T16:10:00Z')
    expect(quietUntil(t, night, 'Asia/Jakarta')).toBe(at('2026-11-23T22:30:00Z'))
    expect(quietUntil(t, night, 'Asia/Makassar')).toBe(at('2026-11-23T21:30:00Z'))
  })
})
