import { existsSync, readFileSync } from 'node:fs'

/**
 * Prints the one line CI reads, "N passed, N failed": every vitest test plus the
 * typecheck and lint checks. Exits non-zero when anything failed or nothing ran.
 */
const [resultsPath = '.tani/vitest.json', checksPath = '.tani/checks.txt'] = process.argv.slice(2)

let passed = 0
let failed = 0
if (existsSync(resultsPath)) {
  const r = JSON.parse(readFileSync(resultsPath, 'utf8')) as {
    numPassedTests: number
    numFailedTests: number
    numTotalTestSuites: number
    testResults: { status: string; name: string; message?: string }[]
  }
  passed += r.numPassedTests
  failed += r.numFailedTests
  // A test file that failed to load has no failed tests but must count.
  for (const f of r.testResults) {
    if (f.status === 'failed' && f.message) {
      failed++
      console.error(`failed to run ${f.name}: ${f.message.split('\n')[0]}`)
    }
  }
} else {
  console.error(`no vitest results at ${resultsPath}`)
  failed++
}
if (existsSync(checksPath)) {
  for (const l of readFileSync(checksPath, 'utf8').split('\n').filter(Boolean)) {
    if (l.endsWith(' passed')) passed++
    else {
      failed++
      console.error(l)
    }
  }
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
