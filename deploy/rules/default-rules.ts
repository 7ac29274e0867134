import { readFileSync } from 'node:fs'
import { Rule } from '../../shared/index.ts'

/** The default rule pack (default-rules.json next to this file), validated. */
export function defaultRules(): Rule[] {
  const raw = readFileSync(new URL('./default-rules.json', import.meta.url), 'utf8')
  return (JSON.parse(raw) as unknown[]).map((r) => Rule.parse(r))
}
