/**
 * `compute` with its answers kept by argument, for pure functions of a few distinct
 * arguments called on a hot path (a rule's duration texts, local day numbers). Bounded:
 * past `max` answers the store starts over, so an unexpected variety of arguments costs
 * recomputation, not memory. A call that throws keeps nothing.
 */
export function memoize<K, V>(compute: (key: K) => V, max = 1000): (key: K) => V {
  const known = new Map<K, V>()
  return (key) => {
    let value = known.get(key)
    if (value === undefined) {
      value = compute(key)
      if (known.size >= max) known.clear()
      known.set(key, value)
    }
    return value
  }
}
