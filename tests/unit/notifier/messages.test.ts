import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { metricCatalog } from '../../../services/notifier/message-catalog.ts'
import {
  ALERT_TTL_S,
  BODY_MAX,
  DIGEST_TTL_S,
  digestFor,
  digestPushOptions,
  escalationFor,
  type MessageContext,
  metricName,
  notificationFor,
  pushOptionsFor,
  TITLE_MAX,
  TOPIC_MAX_LENGTH,
} from '../../../services/notifier/messages.ts'
import {
  AlertEvent,
  derivedMetrics,
  envMetrics,
  irrigationMetrics,
  locales,
  NotificationPayload,
  pondMetrics,
  Rule,
} from '../../../shared/index.ts'

/** A real critical low-oxygen alert: 04:15 in the Mekong delta (UTC+7). */
const lowOxygen = AlertEvent.parse({
  v: 1,
  alert_id: 'al-3f9a0c1d2e4b5a6c7d8e',
  state: 'firing',
  rule_id: 'pond-do-critical',
  rule_version: 1,
  severity: 'critical',
  farm_id: 'farm-ut-hai',
  site_id: 'pond-1',
  device_id: 'do-probe-7',
  device_kind: 'pond_sensor',
  metric: 'dissolved_oxygen_mg_l',
  value: 2.4,
  threshold: 3,
  op: 'below',
  reading_ts: '2025-06-14T21:15:00.000Z',
  seq: 4812,
  emitted_at: '2025-06-14T21:15:04.000Z',
  late: false,
  reminder: 0,
  message: 'Oxygen in Ao số 1 is 2.4 mg/L (below 3). Start the aerators now.',
})

const event = (over: Partial<AlertEvent>): AlertEvent => AlertEvent.parse({ ...lowOxygen, ...over })

const sites = { vi: 'Ao số 1', id: 'Kolam 1', en: 'Pond 1' } as const
const ctxFor = (lang: MessageContext['lang'], over: Partial<MessageContext> = {}) => ({
  lang,
  siteName: sites[lang],
  baseUrl: 'https://tani.example',
  ...over,
})

/** Every payload goes through the contract the service worker relies on. */
const valid = (n: NotificationPayload) => NotificationPayload.parse(n)

describe('notificationFor', () => {
  it('says what crossed what, and what to do, in Vietnamese', () => {
    const n = valid(notificationFor(lowOxygen, ctxFor('vi')))
    expect(n.title).toBe('Khẩn cấp: Oxy hòa tan thấp ở Ao số 1')
    expect(n.body).toBe(
      'Oxy hòa tan ở Ao số 1 là 2,4 mg/L lúc 04:15, dưới ngưỡng 3 mg/L. Bật máy sục khí ngay.',
    )
  })

  it('says it in Indonesian', () => {
    const n = valid(notificationFor(lowOxygen, ctxFor('id')))
    expect(n.title).toBe('Kritis: Oksigen terlarut rendah di Kolam 1')
    expect(n.body).toBe(
      'Oksigen terlarut di Kolam 1 sebesar 2,4 mg/L pukul 04.15, di bawah ambang 3 mg/L. Nyalakan aerator sekarang.',
    )
  })

  it('says it in English', () => {
    const n = valid(notificationFor(lowOxygen, ctxFor('en')))
    expect(n.title).toBe('Critical: Low dissolved oxygen in Pond 1')
    expect(n.body).toBe(
      'Dissolved oxygen in Pond 1 was 2.4 mg/L at 04:15, below the 3 mg/L limit. Start the aerators now.',
    )
  })

  it('deep-links to the alert, tags by alert id and keeps a critical alarm on screen', () => {
    const n = valid(notificationFor(lowOxygen, ctxFor('vi', { baseUrl: 'https://tani.example/' })))
    expect(n).toMatchObject({
      v: 1,
      type: 'alert',
      lang: 'vi',
      url: 'https://tani.example/alerts/al-3f9a0c1d2e4b5a6c7d8e',
      tag: 'al-3f9a0c1d2e4b5a6c7d8e',
      silent: false,
      require_interaction: true,
      alert_id: lowOxygen.alert_id,
      state: 'firing',
      severity: 'critical',
      farm_id: 'farm-ut-hai',
      site_id: 'pond-1',
      device_id: 'do-probe-7',
      reading_ts: lowOxygen.reading_ts,
    })
  })

  it('writes a decimal comma and dotted thousands in vi and id, a decimal point in en', () => {
    const oxy = event({ value: 2.456 })
    expect(notificationFor(oxy, ctxFor('vi')).body).toContain('2,46 mg/L')
    expect(notificationFor(oxy, ctxFor('id')).body).toContain('2,46 mg/L')
    expect(notificationFor(oxy, ctxFor('en')).body).toContain('2.46 mg/L')
    const catch_ = event({ metric: 'counts.brown_planthopper', value: 1250, threshold: 1000 })
    expect(notificationFor(catch_, ctxFor('vi')).body).toContain('1.250 con')
    expect(notificationFor(catch_, ctxFor('en')).body).toContain('1,250')
  })

  it('keeps small values significant instead of rounding them to zero', () => {
    const nh3 = event({ metric: 'nh3_mg_l', value: 0.0042, threshold: 0.1, op: 'above' })
    expect(notificationFor(nh3, ctxFor('id')).body).toContain('0,0042 mg/L')
  })

  it.each([
    ['water_temp_c', 34.5, 'vi', '34,5°C'],
    ['salinity_ppt', 8, 'vi', '8‰'],
    ['salinity_ppt', 8, 'id', '8 ppt'],
    ['tan_mg_l', 2.5, 'en', '2.5 mg/L'],
    ['flow_l_min', 12, 'vi', '12 L/phút'],
    ['leak_flow_l_min', 0.8, 'id', '0,8 L/menit'],
    ['pressure_bar', 2.7, 'en', '2.7 bar'],
    ['soil_moisture_pct', 18, 'vi', '18%'],
    ['rainfall_mm', 42, 'en', '42 mm'],
    ['turbidity_ntu', 120, 'id', '120 NTU'],
  ] as const)('shows %s with its unit (%s in %s → %s)', (metric, value, lang, shown) => {
    const n = valid(notificationFor(event({ metric, value, op: 'above' }), ctxFor(lang)))
    expect(n.body).toContain(shown)
  })

  it('shows the reading in the farm time zone when given', () => {
    const n = notificationFor(lowOxygen, ctxFor('en', { timeZone: 'Asia/Makassar' }))
    expect(n.body).toContain('at 05:15')
  })

  it('prefixes reminders and keeps them loud', () => {
    const n = valid(notificationFor(event({ reminder: 2 }), ctxFor('vi')))
    expect(n.title).toBe('Nhắc lại – Khẩn cấp: Oxy hòa tan thấp ở Ao số 1')
    expect(n.silent).toBe(false)
    expect(n.require_interaction).toBe(true)
    expect(notificationFor(event({ reminder: 1 }), ctxFor('en')).title).toMatch(/^Reminder – /)
  })

  it('marks late data, with its date, and does not ring for it', () => {
    const late = event({ late: true, reading_ts: '2025-06-13T21:15:00.000Z' })
    const vi = valid(notificationFor(late, ctxFor('vi')))
    expect(vi.body).toBe(
      'Oxy hòa tan ở Ao số 1 là 2,4 mg/L lúc 04:15 ngày 14/06 (dữ liệu đến trễ), dưới ngưỡng 3 mg/L. Bật máy sục khí ngay.',
    )
    expect(vi).toMatchObject({ silent: true, require_interaction: false })
    expect(notificationFor(late, ctxFor('id')).body).toContain('(data terlambat)')
    expect(notificationFor(late, ctxFor('en')).body).toContain('(late data)')
  })

  it('says who acknowledged it, quietly', () => {
    const ack = event({ state: 'acknowledged', acknowledged_by: 'u-42' })
    const vi = valid(notificationFor(ack, ctxFor('vi', { acknowledgedByName: 'Anh Tư' })))
    expect(vi.title).toBe('Đã xác nhận: Oxy hòa tan thấp ở Ao số 1')
    expect(vi.body).toBe(
      'Đã xác nhận bởi Anh Tư. Oxy hòa tan ở Ao số 1 là 2,4 mg/L lúc 04:15, dưới ngưỡng 3 mg/L.',
    )
    expect(vi).toMatchObject({ silent: true, require_interaction: false })
    expect(notificationFor(ack, ctxFor('en')).body).toMatch(/^Acknowledged by u-42\. /)
  })

  it('says when it is back to normal, quietly', () => {
    const resolved = event({ state: 'resolved', value: 4.2, reading_ts: '2025-06-14T23:40:00Z' })
    const vi = valid(notificationFor(resolved, ctxFor('vi')))
    expect(vi.title).toBe('Đã bình thường: Oxy hòa tan ở Ao số 1')
    expect(vi.body).toBe('Oxy hòa tan ở Ao số 1 đã trở lại bình thường: 4,2 mg/L lúc 06:40.')
    expect(vi).toMatchObject({ silent: true, require_interaction: false, state: 'resolved' })
    const id = notificationFor(resolved, ctxFor('id'))
    expect(id.body).toBe('Oksigen terlarut di Kolam 1 kembali normal: 4,2 mg/L pukul 06.40.')
    const en = notificationFor(resolved, ctxFor('en'))
    expect(en.title).toBe('Back to normal: Dissolved oxygen in Pond 1')
  })

  it('still words a pending alert, silently', () => {
    const n = valid(notificationFor(event({ state: 'pending', severity: 'warning' }), ctxFor('en')))
    expect(n.title).toBe('Watching: Low dissolved oxygen in Pond 1')
    expect(n.body).toMatch(/It will alarm if this persists\.$/)
    expect(n.silent).toBe(true)
  })

  it('keeps a first info alert silent but lets its reminder ring', () => {
    const info = event({ severity: 'info', metric: 'battery_pct', value: 12, threshold: 15 })
    expect(notificationFor(info, ctxFor('en')).silent).toBe(true)
    expect(notificationFor({ ...info, reminder: 1 }, ctxFor('en')).silent).toBe(false)
    expect(notificationFor(info, ctxFor('en')).require_interaction).toBe(false)
  })

  it('names the trapped species in each language', () => {
    const bph = event({
      severity: 'warning',
      metric: 'counts.brown_planthopper',
      value: 1250,
      threshold: 1000,
      op: 'above',
    })
    const vi = valid(notificationFor(bph, ctxFor('vi', { siteName: 'Ruộng 3' })))
    expect(vi.title).toBe('Cảnh báo: Nhiều rầy nâu vào bẫy ở Ruộng 3')
    expect(vi.body).toBe(
      'Số rầy nâu vào bẫy ở Ruộng 3 là 1.250 con lúc 04:15, vượt ngưỡng 1.000 con. Thăm đồng quanh bẫy.',
    )
    expect(notificationFor(bph, ctxFor('id')).title).toBe(
      'Peringatan: Tangkapan wereng batang coklat tinggi di Kolam 1',
    )
    expect(notificationFor(bph, ctxFor('en')).title).toBe(
      'Warning: High brown planthopper catch in Pond 1',
    )
    const ysb = { ...bph, metric: 'counts.yellow_stem_borer' }
    expect(notificationFor(ysb, ctxFor('vi')).body).toContain('sâu đục thân bướm hai chấm')
    expect(notificationFor(ysb, ctxFor('id')).body).toContain('penggerek batang padi kuning')
    expect(metricName('counts.yellow_stem_borer', 'en')).toBe('Yellow stem borer catch')
    expect(metricName('counts.rice_bug', 'en')).toBe('Rice bug catch')
    expect(metricName('degree_days.brown_planthopper', 'vi')).toBe('Tổng tích ôn (rầy nâu)')
  })

  it('falls back to the raw name of a metric it does not know', () => {
    const odd = event({ metric: 'chlorophyll_ugl', value: 31.5, threshold: 30, op: 'above' })
    for (const lang of locales) {
      const n = valid(notificationFor(odd, ctxFor(lang)))
      expect(n.title).toContain('chlorophyll_ugl')
      expect(n.body).toContain('31')
    }
    expect(metricName('chlorophyll_ugl', 'vi')).toBe('chlorophyll_ugl')
  })

  it('reads rates, projections and sensor checks as their rule means them', () => {
    const falling = event({ severity: 'warning', value: -0.62, threshold: -0.5 })
    const rate = notificationFor(
      falling,
      ctxFor('vi', {
        condition: {
          type: 'rate_of_change',
          metric: 'dissolved_oxygen_mg_l',
          direction: 'falling',
          per_hour: 0.5,
          window: '2h',
        },
      }),
    )
    expect(rate.body).toBe(
      'Lúc 04:15, oxy hòa tan ở Ao số 1 đang giảm 0,62 mg/L mỗi giờ. Kiểm tra máy sục khí, giảm cho ăn.',
    )
    const dawn = notificationFor(
      event({ value: 2.1, reading_ts: '2025-06-14T15:00:00Z', emitted_at: '2025-06-14T15:00:02Z' }),
      ctxFor('en', {
        condition: {
          type: 'projection',
          metric: 'dissolved_oxygen_mg_l',
          fit: 'log-linear',
          op: 'below',
          bound: 3,
          by: '05:30',
          from: '20:00',
          window: '3h',
          min_points: 6,
        },
      }),
    )
    expect(dawn.body).toBe(
      'At 22:00, dissolved oxygen in Pond 1 was heading for 2.1 mg/L by 05:30, below the 3 mg/L limit. Start the aerators now.',
    )
    const silent = notificationFor(
      event({ metric: 'no_data', value: 1.5, threshold: 1, op: 'above', severity: 'warning' }),
      ctxFor('id', { deviceName: 'Probe Kolam 1' }),
    )
    expect(silent.title).toBe('Peringatan: Tidak ada data dari Probe Kolam 1')
    expect(silent.body).toBe(
      'Probe Kolam 1 tidak mengirim data selama 1,5 jam, terakhir pukul 04.15. Periksa baterai dan sinyalnya.',
    )
  })

  it('renders every rule of the default pack in every language, phone-sized', () => {
    const rules = (
      JSON.parse(readFileSync('deploy/rules/default-rules.json', 'utf8')) as unknown[]
    ).map((r) => Rule.parse(r))
    for (const rule of rules) {
      const c = rule.condition
      const e = event({
        rule_id: rule.id,
        severity: rule.severity,
        device_kind: rule.scope.kind,
        metric: 'metric' in c ? c.metric : 'no_data',
        op: 'op' in c ? c.op : 'above',
        value: 1.5,
        threshold: 1,
      })
      for (const lang of locales)
        for (const state of ['firing', 'pending', 'acknowledged', 'resolved'] as const) {
          const ctx = ctxFor(lang, { condition: c, siteName: 'Ao tôm số 12 (Bạc Liêu)' })
          const n = valid(notificationFor({ ...e, state, reminder: 3, late: true }, ctx))
          const text = `${n.title}\n${n.body}`
          expect(text, `${rule.id} ${lang} ${state}`).not.toMatch(/[{}]|undefined|NaN/)
          expect(n.title.length, `${rule.id} ${lang}: ${n.title}`).toBeLessThanOrEqual(TITLE_MAX)
          expect(n.body.length, `${rule.id} ${lang}: ${n.body}`).toBeLessThanOrEqual(BODY_MAX)
        }
    }
  })
})

describe('metric names', () => {
  const contractMetrics = [...envMetrics, ...pondMetrics, ...irrigationMetrics, ...derivedMetrics]
  it.each(contractMetrics)('%s has a name in vi, id and en', (metric) => {
    for (const lang of locales) {
      expect(metricCatalog[metric].name[lang].length).toBeGreaterThan(1)
      expect(metricName(metric, lang)).not.toBe(metric)
    }
  })
})

describe('escalationFor', () => {
  it('tells the technician nobody on the farm acknowledged it', () => {
    const n = valid(
      escalationFor(lowOxygen, { ...ctxFor('vi'), farmName: 'Trại Út Hai', minutes: 20 }),
    )
    expect(n.type).toBe('escalation')
    expect(n.title).toBe('Chưa xác nhận: Oxy hòa tan thấp ở Ao số 1')
    expect(n.body).toBe(
      'Chưa ai ở Trại Út Hai xác nhận sau 20 phút. Oxy hòa tan ở Ao số 1 là 2,4 mg/L lúc 04:15, dưới ngưỡng 3 mg/L. Bật máy sục khí ngay.',
    )
    expect(n).toMatchObject({ silent: false, require_interaction: true, tag: lowOxygen.alert_id })
    const en = escalationFor(lowOxygen, { ...ctxFor('en'), minutes: 15 })
    expect(en.body).toMatch(/^Nobody at farm-ut-hai has acknowledged it for 15 min\. /)
  })
})

describe('digestFor', () => {
  const night = [1, 2, 3, 4, 5].map((i) =>
    event({
      alert_id: `al-night-${i}`,
      severity: i === 4 ? 'critical' : 'warning',
      reading_ts: `2025-06-14T1${i}:00:00.000Z`,
    }),
  )

  it('lists the three most severe alerts and counts the rest', () => {
    const n = valid(digestFor(night, { lang: 'vi', baseUrl: 'https://tani.example' }))
    expect(n.title).toBe('5 cảnh báo trong đêm')
    const lines = n.body.split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toBe('21:00 Oxy hòa tan thấp ở pond-1')
    expect(lines[3]).toBe('+2 cảnh báo khác')
    expect(n).toMatchObject({
      type: 'digest',
      tag: 'digest',
      url: 'https://tani.example/alerts',
      silent: true,
      require_interaction: false,
      alert_id: null,
      severity: 'critical',
      farm_id: 'farm-ut-hai',
    })
    expect(n.alert_ids).toHaveLength(5)
    expect(n.alert_ids[0]).toBe('al-night-4')
    expect(digestFor(night, { lang: 'en', baseUrl: 'x' }).body).toMatch(/\n\+2 more$/)
    expect(digestFor(night, { lang: 'id', baseUrl: 'x' }).title).toBe('5 peringatan tadi malam')
  })

  it('counts each alert once, in its latest state', () => {
    const first = night[0] as AlertEvent
    const n = valid(
      digestFor([first, { ...first, state: 'resolved' }], {
        lang: 'en',
        baseUrl: 'https://tani.example',
        siteNames: { 'pond-1': 'Pond 1' },
      }),
    )
    expect(n.title).toBe('1 alert overnight')
    expect(n.body).toBe('18:00 Low dissolved oxygen in Pond 1 (back to normal)')
    expect(n.alert_ids).toEqual(['al-night-1'])
  })

  it('refuses an empty digest', () => {
    expect(() => digestFor([], { lang: 'en', baseUrl: 'x' })).toThrow(RangeError)
  })
})

describe('pushOptionsFor', () => {
  it('wakes the phone for a critical alarm and keeps it queued for hours', () => {
    expect(pushOptionsFor(lowOxygen)).toMatchObject({ urgency: 'high', ttlS: 6 * 3600 })
    expect(pushOptionsFor(event({ severity: 'warning' }))).toMatchObject({
      urgency: 'normal',
      ttlS: 3600,
    })
    expect(pushOptionsFor(event({ severity: 'info' }))).toMatchObject({
      urgency: 'low',
      ttlS: 30 * 60,
    })
    expect(ALERT_TTL_S).toMatchObject({ critical: 21_600, warning: 3600, info: 1800 })
  })

  it('sends settled and late news at low urgency', () => {
    for (const state of ['resolved', 'acknowledged'] as const)
      expect(pushOptionsFor(event({ state }))).toMatchObject({ urgency: 'low', ttlS: 3600 })
    expect(pushOptionsFor(event({ late: true })).urgency).toBe('low')
  })

  it('gives every state of one alert the same short URL-safe topic', () => {
    const topics = (['pending', 'firing', 'acknowledged', 'resolved'] as const).map(
      (state) => pushOptionsFor(event({ state })).topic,
    )
    expect(new Set(topics).size).toBe(1)
    const topic = topics[0] ?? ''
    expect(topic.length).toBeLessThanOrEqual(TOPIC_MAX_LENGTH)
    expect(topic).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(pushOptionsFor(event({ alert_id: 'al-other' })).topic).not.toBe(topic)
  })

  it('sends digests at very low urgency for up to 12 hours', () => {
    expect(digestPushOptions()).toEqual({
      urgency: 'very-low',
      ttlS: DIGEST_TTL_S,
      topic: 'digest',
    })
    expect(DIGEST_TTL_S).toBe(12 * 3600)
  })
})
