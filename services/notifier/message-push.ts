import { createHash } from 'node:crypto'
import type { AlertEvent } from '../../shared/alerts.ts'
import type { PushOptions } from './outcome.ts'

/**
 * Web Push delivery options per alert (RFC 8030 §5.2 TTL, §5.3 Urgency, §5.4 Topic). A
 * phone that is off keeps a critical alarm waiting at the push service for hours; news
 * that an alert is over is worth less, and sooner stale.
 */
export const ALERT_TTL_S = {
  critical: 6 * 3600,
  warning: 3600,
  info: 30 * 60,
  /** Resolved and acknowledged: the news is stale within the hour. */
  settled: 3600,
} as const

export const ALERT_URGENCY = {
  critical: 'high',
  warning: 'normal',
  info: 'low',
  /** Resolved, acknowledged, pending or late: nothing to wake the phone's radio for. */
  quiet: 'low',
} as const satisfies Record<string, PushOptions['urgency']>

export const DIGEST_TTL_S = 12 * 3600
export const DIGEST_TOPIC = 'digest'
/** RFC 8030 §5.4: at most 32 characters of the URL-safe base64 alphabet. */
export const TOPIC_MAX_LENGTH = 32

/**
 * The same for every state of one alert, so a state still waiting at the push service is
 * replaced by the newer one instead of both arriving.
 */
export function alertTopic(alertId: string): string {
  return createHash('sha256').update(alertId).digest('base64url').slice(0, TOPIC_MAX_LENGTH)
}

export function pushOptionsFor(event: AlertEvent): PushOptions {
  const topic = alertTopic(event.alert_id)
  if (event.state === 'resolved' || event.state === 'acknowledged')
    return { urgency: ALERT_URGENCY.quiet, ttlS: ALERT_TTL_S.settled, topic }
  const ttlS = ALERT_TTL_S[event.severity]
  // A late reading informs and a pending one is not yet an alarm: neither wakes anyone.
  if (event.late || event.state === 'pending') return { urgency: ALERT_URGENCY.quiet, ttlS, topic }
  return { urgency: ALERT_URGENCY[event.severity], ttlS, topic }
}

export function digestPushOptions(): PushOptions {
  return { urgency: 'very-low', ttlS: DIGEST_TTL_S, topic: DIGEST_TOPIC }
}
