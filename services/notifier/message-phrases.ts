import type { NotificationLocale } from '../../shared/push.ts'
import type { Severity } from '../../shared/rules.ts'
import type { ConditionKind, Op } from './message-catalog.ts'

/**
 * The sentences of a notification in Vietnamese, Indonesian and English. Templates take
 * `{name}` placeholders; `{Metric}` is a metric's name as it opens a sentence, `{metric}`
 * the same inside one ("oxy hòa tan"), likewise `{Subject}`/`{subject}`.
 */
type ByOp = Readonly<Record<Op, string>>

export type Phrases = {
  severity: Readonly<Record<Severity, string>>
  /** Short for a title: what is wrong, where. */
  headline: Readonly<Record<ConditionKind, ByOp>>
  /** What the alert is about, without judging it (resolved titles). */
  subject: Readonly<{ metric: string; sanity: string; no_data: string }>
  /** What crossed what, when. */
  sentence: Readonly<Record<ConditionKind, ByOp>>
  resolved: Readonly<{ value: string; plain: string; no_data: string }>
  title: Readonly<{
    alert: string
    reminder: string
    pending: string
    acknowledged: string
    resolved: string
    escalation: string
  }>
  pendingNote: string
  acknowledgedBy: string
  acknowledged: string
  escalation: string
  late: string
  /** A reading time with its date, when it is not today's. */
  dated: string
  perNight: string
  perDay: string
  digestTitle: Readonly<{ one: string; other: string }>
  digestMore: string
  digestState: Readonly<{ pending: string; firing: string; acknowledged: string; resolved: string }>
}

const both = (s: string): ByOp => ({ above: s, below: s })

const vi: Phrases = {
  severity: { critical: 'Khẩn cấp', warning: 'Cảnh báo', info: 'Thông báo' },
  headline: {
    threshold: { below: '{Metric} thấp ở {place}', above: '{Metric} cao ở {place}' },
    rate_of_change: {
      below: '{Metric} giảm nhanh ở {place}',
      above: '{Metric} tăng nhanh ở {place}',
    },
    trend: { below: '{Metric} giảm nhanh ở {place}', above: '{Metric} tăng nhanh ở {place}' },
    range: both('{Metric} dao động mạnh ở {place}'),
    deviation: {
      below: '{Metric} thấp hơn thường lệ ở {place}',
      above: '{Metric} cao hơn thường lệ ở {place}',
    },
    projection: {
      below: '{Metric} sắp xuống thấp ở {place}',
      above: '{Metric} sắp lên cao ở {place}',
    },
    sanity: both('Đầu dò {metric} nghi hỏng ở {place}'),
    no_data: both('Mất tín hiệu từ {device}'),
  },
  subject: {
    metric: '{Metric} ở {place}',
    sanity: 'Đầu dò {metric} ở {place}',
    no_data: '{device}',
  },
  sentence: {
    threshold: {
      below: '{Metric} ở {place} là {value} lúc {time}, dưới ngưỡng {threshold}.',
      above: '{Metric} ở {place} là {value} lúc {time}, vượt ngưỡng {threshold}.',
    },
    rate_of_change: {
      below: 'Lúc {time}, {metric} ở {place} đang giảm {value} mỗi giờ.',
      above: 'Lúc {time}, {metric} ở {place} đang tăng {value} mỗi giờ.',
    },
    trend: {
      below: 'Lúc {time}, {metric} ở {place} đang giảm {value} {per}.',
      above: 'Lúc {time}, {metric} ở {place} đang tăng {value} {per}.',
    },
    range: both('Lúc {time}, {metric} ở {place} dao động {value}, vượt mức {threshold}.'),
    deviation: {
      below: 'Lúc {time}, {metric} ở {place} chỉ bằng {value} mức thường lệ (ngưỡng {threshold}).',
      above: 'Lúc {time}, {metric} ở {place} bằng {value} mức thường lệ (ngưỡng {threshold}).',
    },
    projection: {
      below:
        'Lúc {time}, dự báo {metric} ở {place} xuống {value} vào {by}, dưới ngưỡng {threshold}.',
      above: 'Lúc {time}, dự báo {metric} ở {place} lên {value} vào {by}, vượt ngưỡng {threshold}.',
    },
    sanity: {
      above:
        'Đến {time}, đầu dò {metric} ở {place} báo cùng một số đo suốt {value} giờ; cảnh báo của nó tạm dừng.',
      below: 'Đến {time}, đầu dò {metric} ở {place} gần như không đổi; cảnh báo của nó tạm dừng.',
    },
    no_data: both('{device} không gửi dữ liệu đã {value} giờ, lần cuối lúc {time}.'),
  },
  resolved: {
    value: '{Subject} đã trở lại bình thường: {value} lúc {time}.',
    plain: 'Lúc {time}, {subject} đã trở lại bình thường.',
    no_data: '{device} đã gửi dữ liệu trở lại lúc {time}.',
  },
  title: {
    alert: '{severity}: {headline}',
    reminder: 'Nhắc lại – {severity}: {headline}',
    pending: 'Đang theo dõi: {headline}',
    acknowledged: 'Đã xác nhận: {headline}',
    resolved: 'Đã bình thường: {Subject}',
    escalation: 'Chưa xác nhận: {headline}',
  },
  pendingNote: 'Sẽ báo động nếu tình trạng kéo dài.',
  acknowledgedBy: 'Đã xác nhận bởi {who}.',
  acknowledged: 'Đã được xác nhận.',
  escalation: 'Chưa ai ở {farm} xác nhận sau {minutes} phút.',
  late: '(dữ liệu đến trễ)',
  dated: '{time} ngày {date}',
  perNight: 'mỗi đêm',
  perDay: 'mỗi ngày',
  digestTitle: { one: '1 cảnh báo trong đêm', other: '{n} cảnh báo trong đêm' },
  digestMore: '+{n} cảnh báo khác',
  digestState: {
    pending: '(đang theo dõi)',
    firing: '',
    acknowledged: '(đã xác nhận)',
    resolved: '(đã bình thường)',
  },
}

const id: Phrases = {
  severity: { critical: 'Kritis', warning: 'Peringatan', info: 'Info' },
  headline: {
    threshold: { below: '{Metric} rendah di {place}', above: '{Metric} tinggi di {place}' },
    rate_of_change: {
      below: '{Metric} turun cepat di {place}',
      above: '{Metric} naik cepat di {place}',
    },
    trend: { below: '{Metric} turun cepat di {place}', above: '{Metric} naik cepat di {place}' },
    range: both('{Metric} berfluktuasi tajam di {place}'),
    deviation: {
      below: '{Metric} di bawah biasanya di {place}',
      above: '{Metric} di atas biasanya di {place}',
    },
    projection: {
      below: '{Metric} diperkirakan anjlok di {place}',
      above: '{Metric} diperkirakan melonjak di {place}',
    },
    sanity: both('Sensor {metric} diduga rusak di {place}'),
    no_data: both('Tidak ada data dari {device}'),
  },
  subject: {
    metric: '{Metric} di {place}',
    sanity: 'Sensor {metric} di {place}',
    no_data: '{device}',
  },
  sentence: {
    threshold: {
      below: '{Metric} di {place} sebesar {value} pukul {time}, di bawah ambang {threshold}.',
      above: '{Metric} di {place} sebesar {value} pukul {time}, di atas ambang {threshold}.',
    },
    rate_of_change: {
      below: 'Pukul {time}, {metric} di {place} turun {value} per jam.',
      above: 'Pukul {time}, {metric} di {place} naik {value} per jam.',
    },
    trend: {
      below: 'Pukul {time}, {metric} di {place} turun {value} {per}.',
      above: 'Pukul {time}, {metric} di {place} naik {value} {per}.',
    },
    range: both(
      'Pukul {time}, {metric} di {place} berfluktuasi {value}, di atas batas {threshold}.',
    ),
    deviation: {
      below: 'Pukul {time}, {metric} di {place} hanya {value} dari biasanya (ambang {threshold}).',
      above:
        'Pukul {time}, {metric} di {place} mencapai {value} dari biasanya (ambang {threshold}).',
    },
    projection: {
      below:
        'Pukul {time}, {metric} di {place} diperkirakan turun ke {value} pada {by}, di bawah ambang {threshold}.',
      above:
        'Pukul {time}, {metric} di {place} diperkirakan naik ke {value} pada {by}, di atas ambang {threshold}.',
    },
    sanity: {
      above:
        'Hingga pukul {time}, sensor {metric} di {place} menunjukkan angka yang sama selama {value} jam; alarmnya dijeda.',
      below:
        'Hingga pukul {time}, sensor {metric} di {place} hampir tidak berubah; alarmnya dijeda.',
    },
    no_data: both('{device} tidak mengirim data selama {value} jam, terakhir pukul {time}.'),
  },
  resolved: {
    value: '{Subject} kembali normal: {value} pukul {time}.',
    plain: 'Pukul {time}, {subject} kembali normal.',
    no_data: '{device} kembali mengirim data pukul {time}.',
  },
  title: {
    alert: '{severity}: {headline}',
    reminder: 'Pengingat – {severity}: {headline}',
    pending: 'Dipantau: {headline}',
    acknowledged: 'Dikonfirmasi: {headline}',
    resolved: 'Sudah normal: {Subject}',
    escalation: 'Belum dikonfirmasi: {headline}',
  },
  pendingNote: 'Akan menjadi alarm jika berlanjut.',
  acknowledgedBy: 'Dikonfirmasi oleh {who}.',
  acknowledged: 'Sudah dikonfirmasi.',
  escalation: 'Belum ada yang mengonfirmasi di {farm} selama {minutes} menit.',
  late: '(data terlambat)',
  dated: '{time} tanggal {date}',
  perNight: 'per malam',
  perDay: 'per hari',
  digestTitle: { one: '1 peringatan tadi malam', other: '{n} peringatan tadi malam' },
  digestMore: '+{n} lainnya',
  digestState: {
    pending: '(dipantau)',
    firing: '',
    acknowledged: '(dikonfirmasi)',
    resolved: '(sudah normal)',
  },
}

const en: Phrases = {
  severity: { critical: 'Critical', warning: 'Warning', info: 'Notice' },
  headline: {
    threshold: { below: 'Low {metric} in {place}', above: 'High {metric} in {place}' },
    rate_of_change: {
      below: '{Metric} falling fast in {place}',
      above: '{Metric} rising fast in {place}',
    },
    trend: { below: '{Metric} falling fast in {place}', above: '{Metric} rising fast in {place}' },
    range: both('{Metric} swinging widely in {place}'),
    deviation: {
      below: '{Metric} below usual in {place}',
      above: '{Metric} above usual in {place}',
    },
    projection: {
      below: '{Metric} heading low in {place}',
      above: '{Metric} heading high in {place}',
    },
    sanity: both('{Metric} probe suspect in {place}'),
    no_data: both('No data from {device}'),
  },
  subject: {
    metric: '{Metric} in {place}',
    sanity: '{Metric} probe in {place}',
    no_data: '{device}',
  },
  sentence: {
    threshold: {
      below: '{Metric} in {place} was {value} at {time}, below the {threshold} limit.',
      above: '{Metric} in {place} was {value} at {time}, above the {threshold} limit.',
    },
    rate_of_change: {
      below: 'At {time}, {metric} in {place} was falling {value} an hour.',
      above: 'At {time}, {metric} in {place} was rising {value} an hour.',
    },
    trend: {
      below: 'At {time}, {metric} in {place} was falling {value} {per}.',
      above: 'At {time}, {metric} in {place} was rising {value} {per}.',
    },
    range: both('At {time}, {metric} in {place} had swung by {value}, over the {threshold} limit.'),
    deviation: {
      below: 'At {time}, {metric} in {place} was only {value} of usual (limit {threshold}).',
      above: 'At {time}, {metric} in {place} was {value} of usual (limit {threshold}).',
    },
    projection: {
      below:
        'At {time}, {metric} in {place} was heading for {value} by {by}, below the {threshold} limit.',
      above:
        'At {time}, {metric} in {place} was heading for {value} by {by}, above the {threshold} limit.',
    },
    sanity: {
      above:
        'By {time}, the {metric} probe in {place} had read the same value for {value} h; its alarms are paused.',
      below: 'By {time}, the {metric} probe in {place} had barely moved; its alarms are paused.',
    },
    no_data: both('{device} has sent nothing for {value} h, last at {time}.'),
  },
  resolved: {
    value: '{Subject} is back to normal: {value} at {time}.',
    plain: 'At {time}, {subject} was back to normal.',
    no_data: '{device} is sending again since {time}.',
  },
  title: {
    alert: '{severity}: {headline}',
    reminder: 'Reminder – {severity}: {headline}',
    pending: 'Watching: {headline}',
    acknowledged: 'Acknowledged: {headline}',
    resolved: 'Back to normal: {Subject}',
    escalation: 'Unacknowledged: {headline}',
  },
  pendingNote: 'It will alarm if this persists.',
  acknowledgedBy: 'Acknowledged by {who}.',
  acknowledged: 'Acknowledged.',
  escalation: 'Nobody at {farm} has acknowledged it for {minutes} min.',
  late: '(late data)',
  dated: '{time} on {date}',
  perNight: 'a night',
  perDay: 'a day',
  digestTitle: { one: '1 alert overnight', other: '{n} alerts overnight' },
  digestMore: '+{n} more',
  digestState: {
    pending: '(watching)',
    firing: '',
    acknowledged: '(acknowledged)',
    resolved: '(back to normal)',
  },
}

export const phrases: Readonly<Record<NotificationLocale, Phrases>> = { vi, id, en }
