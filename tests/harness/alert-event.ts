import type { AlertEvent } from '../../shared/index.ts'

/**
 * An alert event as the processor publishes it: by default a critical low-oxygen alert
 * firing on pond-a1 of farm-a (the API world's farm), at `ts`; override what a test needs.
 */
export function alertEvent(over: Partial<AlertEvent> = {}, ts = Date.now()): AlertEvent {
  const at = new Date(ts).toISOString()
  return {
    v: 1,
    alert_id: 'al-test',
    state: 'firing',
    rule_id: 'do-critical',
    rule_version: 1,
    severity: 'critical',
    farm_id: 'farm-a',
    site_id: 'pond-a1',
    device_id: 'pond-a1-do',
    device_kind: 'pond_sensor',
    metric: 'dissolved_oxygen_mg_l',
    value: 2.4,
    threshold: 3,
    op: 'below',
    reading_ts: at,
    seq: 1,
    emitted_at: at,
    late: false,
    reminder: 0,
    message: 'Oxygen in Pond A1 is 2.4 mg/L (below 3): start the aerators now',
    ...over,
  }
}
