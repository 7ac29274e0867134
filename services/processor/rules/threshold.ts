import type { ThresholdCondition } from '../../../shared/index.ts'

/**
 * Threshold with hysteresis. `breached` says whether a value starts an alert;
 * `cleared` whether it ends one. Without `clear`, both use `value`.
 */
export function breached(c: ThresholdCondition, v: number): boolean {
  return c.op === 'above' ? v > c.value : v < c.value
}

export function cleared(c: ThresholdCondition, v: number): boolean {
  const bound = c.clear ?? c.value
  return c.op === 'above' ? v <= bound : v >= bound
}
