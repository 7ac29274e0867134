import { createRequire } from 'node:module'

/**
 * mqtt-packet — the MQTT codec under both aedes and mqtt.js — logs through the `debug`
 * package about ten times a packet. With debugging off each of those calls still gathers
 * its arguments into an array before `debug` finds out it is off (its logger takes
 * `...args`): a twelfth of the processor's allocations at 15k readings/s, paid in garbage
 * collection. So, when a logger is created for a namespace that is not enabled, it gets
 * a function without a rest parameter that does nothing.
 *
 * Imported first by the entry points (services/main.ts, the processor's thread), before
 * anything loads mqtt-packet: it swaps the `debug` module in Node's CommonJS cache, which
 * the packages resolve on load. `DEBUG=mqtt-packet:*` (any enabled namespace) still logs
 * as before; only a `debug.enable()` at run time no longer reaches loggers made earlier.
 */

type DebugLogger = ((...args: unknown[]) => void) & {
  enabled: boolean
  namespace: string
  extend(namespace: string, delimiter?: string): DebugLogger
}
type CreateDebug = ((namespace: string) => DebugLogger) & { [quieted]?: true }

const quieted = Symbol.for('tani.quietDebug')

function quietDebug(from: string) {
  const require = createRequire(from)
  let path: string
  try {
    path = require.resolve('debug')
  } catch {
    return // No such package here: nothing to quiet.
  }
  const createDebug = require('debug') as CreateDebug
  if (createDebug[quieted]) return
  const cached = require.cache[path]
  if (!cached) return
  const quiet = ((namespace: string) => {
    const logger = createDebug(namespace)
    if (logger.enabled) return logger
    const silent = (() => {}) as unknown as DebugLogger
    silent.enabled = false
    silent.namespace = namespace
    silent.extend = (ns, delimiter) => logger.extend(ns, delimiter)
    return silent
  }) as CreateDebug
  // The package's own API (enable, disable, formatters…) stays reachable on the wrapper.
  Object.assign(quiet, createDebug)
  Object.assign(quiet, { default: quiet, debug: quiet, [quieted]: true })
  cached.exports = quiet
}

// mqtt-packet's own copy of `debug`, as each of mqtt.js and aedes resolves it.
const here = createRequire(import.meta.url)
for (const user of ['mqtt', 'aedes']) {
  try {
    quietDebug(createRequire(here.resolve(user)).resolve('mqtt-packet'))
  } catch {
    // Not installed (an image without the broker, say).
  }
}
