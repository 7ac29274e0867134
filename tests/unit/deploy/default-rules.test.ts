import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Rule } from '../../../shared/index.ts'

describe('the default rule pack (deploy/rules/default-rules.json)', () => {
  const rules = JSON.parse(readFileSync('deploy/rules/default-rules.json', 'utf8')) as unknown[]

  it('is valid, with unique ids and a rationale for each rule', () => {
    const parsed = rules.map((r) => Rule.parse(r))
    expect(new Set(parsed.map((r) => r.id)).size).toBe(parsed.length)
    for (const r of parsed.filter((x) => x.severity !== 'info'))
      expect(r.description.length, r.id).toBeGreaterThan(20)
  })
})
