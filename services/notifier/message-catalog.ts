import type { NotificationLocale } from '../../shared/push.ts'
import type { envMetrics, irrigationMetrics, pondMetrics } from '../../shared/readings.ts'
import type { Condition, derivedMetrics } from '../../shared/rules.ts'

/**
 * What the notifier names in Vietnamese, Indonesian and English: metrics, their units,
 * trapped species, and advice. Sentences are in message-phrases.ts.
 */
export type Localized = Readonly<Record<NotificationLocale, string>>
export type ConditionKind = Condition['type']
export type Op = 'above' | 'below'

type MetricEntry = {
  name: Localized
  /** Overrides the unit read from the field's suffix (`_mg_l`, `_pct`, …). */
  unit?: Localized
  /** Headline of a threshold crossed upwards, where "high X" would read badly. */
  high?: Localized
}

type ContractMetric =
  | (typeof envMetrics)[number]
  | (typeof pondMetrics)[number]
  | (typeof irrigationMetrics)[number]
  | (typeof derivedMetrics)[number]

export const metricCatalog = {
  dissolved_oxygen_mg_l: {
    name: { vi: 'Oxy hòa tan', id: 'Oksigen terlarut', en: 'Dissolved oxygen' },
  },
  ph: { name: { vi: 'pH', id: 'pH', en: 'pH' } },
  water_temp_c: { name: { vi: 'Nhiệt độ nước', id: 'Suhu air', en: 'Water temperature' } },
  salinity_ppt: { name: { vi: 'Độ mặn', id: 'Salinitas', en: 'Salinity' } },
  tan_mg_l: {
    name: { vi: 'Tổng amoni (TAN)', id: 'Total amonia (TAN)', en: 'Total ammonia (TAN)' },
  },
  turbidity_ntu: { name: { vi: 'Độ đục', id: 'Kekeruhan', en: 'Turbidity' } },
  air_temp_c: { name: { vi: 'Nhiệt độ không khí', id: 'Suhu udara', en: 'Air temperature' } },
  rel_humidity_pct: { name: { vi: 'Độ ẩm không khí', id: 'Kelembapan udara', en: 'Humidity' } },
  leaf_wetness_pct: { name: { vi: 'Độ ướt lá', id: 'Kebasahan daun', en: 'Leaf wetness' } },
  rainfall_mm: { name: { vi: 'Lượng mưa', id: 'Curah hujan', en: 'Rainfall' } },
  soil_moisture_pct: { name: { vi: 'Độ ẩm đất', id: 'Kelembapan tanah', en: 'Soil moisture' } },
  flow_l_min: { name: { vi: 'Lưu lượng nước', id: 'Debit air', en: 'Water flow' } },
  pressure_bar: { name: { vi: 'Áp suất đường ống', id: 'Tekanan pipa', en: 'Line pressure' } },
  volume_total_l: {
    name: { vi: 'Tổng lượng nước tưới', id: 'Total air irigasi', en: 'Water delivered' },
  },
  nh3_mg_l: {
    name: { vi: 'Amoniac độc (NH3)', id: 'Amonia beracun (NH3)', en: 'Toxic ammonia (NH3)' },
  },
  leak_flow_l_min: {
    name: {
      vi: 'Nước chảy khi van đóng',
      id: 'Aliran saat katup tertutup',
      en: 'Flow with the valve closed',
    },
    high: {
      vi: 'Rò nước khi van đóng ở {place}',
      id: 'Air bocor saat katup tertutup di {place}',
      en: 'Leak past the closed valve in {place}',
    },
  },
  flow_per_bar: {
    name: { vi: 'Lưu lượng theo áp suất', id: 'Debit per bar', en: 'Flow per bar' },
    unit: { vi: ' L/phút/bar', id: ' L/menit/bar', en: ' L/min/bar' },
  },
  battery_pct: { name: { vi: 'Pin', id: 'Baterai', en: 'Battery' } },
  battery_v: { name: { vi: 'Điện áp pin', id: 'Tegangan baterai', en: 'Battery voltage' } },
  rssi_dbm: { name: { vi: 'Cường độ sóng', id: 'Kekuatan sinyal', en: 'Signal strength' } },
  valve_open: { name: { vi: 'Van', id: 'Katup', en: 'Valve' } },
  no_data: { name: { vi: 'Dữ liệu', id: 'Data', en: 'Data' } },
} as const satisfies Record<ContractMetric, MetricEntry> & Record<string, MetricEntry>

/** Units by field-name suffix (shared/readings.ts: every field name carries its unit). */
export const unitSuffixes: ReadonlyArray<readonly [string, Localized]> = [
  ['_l_min', { vi: ' L/phút', id: ' L/menit', en: ' L/min' }],
  ['_mg_l', { vi: ' mg/L', id: ' mg/L', en: ' mg/L' }],
  ['_pct', { vi: '%', id: '%', en: '%' }],
  ['_ppt', { vi: '‰', id: ' ppt', en: ' ppt' }],
  ['_ntu', { vi: ' NTU', id: ' NTU', en: ' NTU' }],
  ['_bar', { vi: ' bar', id: ' bar', en: ' bar' }],
  ['_dbm', { vi: ' dBm', id: ' dBm', en: ' dBm' }],
  ['_mm', { vi: ' mm', id: ' mm', en: ' mm' }],
  ['_c', { vi: '°C', id: '°C', en: '°C' }],
  ['_l', { vi: ' L', id: ' L', en: ' L' }],
  ['_s', { vi: ' giây', id: ' detik', en: ' s' }],
  ['_v', { vi: ' V', id: ' V', en: ' V' }],
]

/** Pest species caught by traps (`counts.<species>`), lower case as inside a sentence. */
export const speciesCatalog: Readonly<Record<string, Localized>> = {
  brown_planthopper: { vi: 'rầy nâu', id: 'wereng batang coklat', en: 'brown planthopper' },
  white_backed_planthopper: {
    vi: 'rầy lưng trắng',
    id: 'wereng punggung putih',
    en: 'white-backed planthopper',
  },
  green_leafhopper: { vi: 'rầy xanh đuôi đen', id: 'wereng hijau', en: 'green leafhopper' },
  yellow_stem_borer: {
    vi: 'sâu đục thân bướm hai chấm',
    id: 'penggerek batang padi kuning',
    en: 'yellow stem borer',
  },
  rice_leaffolder: { vi: 'sâu cuốn lá nhỏ', id: 'penggulung daun padi', en: 'rice leaffolder' },
}

/** Metrics named per species (`counts.<species>`, `degree_days.<species>`). */
export const metricFamilies: Readonly<
  Record<string, { name: Localized; unit: Localized; high: Localized }>
> = {
  counts: {
    name: { vi: 'Số {species} vào bẫy', id: 'Tangkapan {species}', en: '{species} catch' },
    unit: { vi: ' con', id: ' ekor', en: '' },
    high: {
      vi: 'Nhiều {species} vào bẫy ở {place}',
      id: 'Tangkapan {species} tinggi di {place}',
      en: 'High {species} catch in {place}',
    },
  },
  degree_days: {
    name: {
      vi: 'Tổng tích ôn ({species})',
      id: 'Derajat hari {species}',
      en: 'Degree-day total for {species}',
    },
    unit: { vi: ' độ-ngày', id: ' derajat-hari', en: ' degree-days' },
    high: {
      vi: 'Lứa {species} mới sắp nở ở {place}',
      id: 'Generasi baru {species} di {place}',
      en: 'New {species} generation due in {place}',
    },
  },
}

/**
 * What to do, looked up as `<metric or family>.<condition kind>`, `*.<kind>`,
 * `<metric>.<op>.<severity>`, then `<metric>.<op>`.
 */
export const adviceCatalog: Readonly<Record<string, Localized>> = {
  'dissolved_oxygen_mg_l.below.critical': {
    vi: 'Bật máy sục khí ngay.',
    id: 'Nyalakan aerator sekarang.',
    en: 'Start the aerators now.',
  },
  'dissolved_oxygen_mg_l.below': {
    vi: 'Kiểm tra máy sục khí, giảm cho ăn.',
    id: 'Periksa aerator, kurangi pakan.',
    en: 'Check the aerators, reduce feeding.',
  },
  'ph.range': {
    vi: 'Giảm cho ăn, thay bớt nước.',
    id: 'Kurangi pakan, ganti sebagian air.',
    en: 'Reduce feed, exchange some water.',
  },
  'ph.above': {
    vi: 'Ngừng bón phân, cân nhắc thay nước.',
    id: 'Hentikan pemupukan, pertimbangkan ganti air.',
    en: 'Stop fertilising; consider a water exchange.',
  },
  'ph.below': {
    vi: 'Bón vôi cho ao và kiểm tra tảo.',
    id: 'Beri kapur pada kolam dan periksa alga.',
    en: 'Lime the pond and check the algae.',
  },
  'salinity_ppt.below': {
    vi: 'Đóng cống cấp, ngừng xả nước tầng mặt.',
    id: 'Tutup pintu air masuk, jangan buang air permukaan.',
    en: 'Close the inlet, stop draining the top water.',
  },
  'tan_mg_l.above': {
    vi: 'Giảm cho ăn và thay nước.',
    id: 'Kurangi pakan dan ganti air.',
    en: 'Reduce feeding and exchange water.',
  },
  'nh3_mg_l.above': {
    vi: 'Giảm cho ăn và thay nước.',
    id: 'Kurangi pakan dan ganti air.',
    en: 'Reduce feeding and exchange water.',
  },
  'water_temp_c.above': {
    vi: 'Đêm nay oxy sẽ giảm nhanh hơn: chuẩn bị sục khí.',
    id: 'Oksigen akan turun lebih cepat malam ini: siapkan aerator.',
    en: 'Oxygen will drop faster tonight: ready the aerators.',
  },
  'leaf_wetness_pct.above': {
    vi: 'Lá ướt lâu: theo dõi bệnh đạo ôn.',
    id: 'Daun lama basah: waspadai penyakit blas.',
    en: 'Leaves stay wet: watch for blast.',
  },
  'soil_moisture_pct.below': {
    vi: 'Cân nhắc tưới nước.',
    id: 'Pertimbangkan untuk mengairi.',
    en: 'Consider irrigating.',
  },
  'counts.above': {
    vi: 'Thăm đồng quanh bẫy.',
    id: 'Amati sawah di sekitar perangkap.',
    en: 'Scout the fields near the trap.',
  },
  'degree_days.above': {
    vi: 'Thăm đồng, kiểm tra gốc lúa.',
    id: 'Amati pangkal rumpun padi.',
    en: 'Scout the base of the rice plants.',
  },
  'leak_flow_l_min.above': {
    vi: 'Kiểm tra rò rỉ trên đường ống nhỏ giọt và van.',
    id: 'Periksa kebocoran jalur irigasi tetes dan katup.',
    en: 'Walk the drip line for a leak, check the valve.',
  },
  'flow_per_bar.below': {
    vi: 'Súc rửa ống nhánh và kiểm tra bộ lọc.',
    id: 'Bilas pipa lateral dan periksa filter.',
    en: 'Flush the laterals and check the filter.',
  },
  'flow_l_min.below': {
    vi: 'Kiểm tra máy bơm và bộ lọc.',
    id: 'Periksa pompa dan filter.',
    en: 'Check the pump and the filter.',
  },
  'pressure_bar.above': {
    vi: 'Kiểm tra van điều áp trước khi ống vỡ.',
    id: 'Periksa regulator sebelum selang pecah.',
    en: 'Check the regulator before the tape bursts.',
  },
  'pressure_bar.below': {
    vi: 'Kiểm tra máy bơm và chỗ rò rỉ.',
    id: 'Periksa pompa dan kebocoran.',
    en: 'Check the pump and look for leaks.',
  },
  'battery_pct.below': {
    vi: 'Kiểm tra tấm pin mặt trời hoặc thay pin.',
    id: 'Periksa panel surya atau ganti baterai.',
    en: 'Check the solar panel or replace the battery.',
  },
  '*.sanity': {
    vi: 'Vệ sinh hoặc kiểm tra đầu dò.',
    id: 'Bersihkan atau periksa sensornya.',
    en: 'Clean or check the probe.',
  },
  '*.no_data': {
    vi: 'Kiểm tra pin và sóng của thiết bị.',
    id: 'Periksa baterai dan sinyalnya.',
    en: 'Check its battery and signal.',
  },
}
