import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alertEvent } from '../../harness/alert-event.ts'
import { type ApiWorld, startApiWorld } from '../../harness/api.ts'
import { type BrowserHandle, startBrowser } from '../../harness/browser.ts'

/**
 * Where a notification leads: the alerts page served by the API at /app/, in a real
 * Chromium, showing the alert of the deep link and acknowledging it for the farmer.
 */
let w: ApiWorld
let browser: BrowserHandle
let origin: string

const firing = alertEvent({ alert_id: 'al-page-1' })

beforeAll(async () => {
  w = await startApiWorld()
  await w.app.listen({ host: '127.0.0.1', port: 0 })
  origin = `http://127.0.0.1:${(w.app.server.address() as AddressInfo).port}`
  await w.store.saveAlertEvent(firing, Date.now())
  browser = await startBrowser()
})
afterAll(async () => {
  await browser?.close()
  await w?.close()
})

describe('the alerts page', () => {
  it('shows the alert a notification links to and lets the farmer acknowledge it', async () => {
    const context = await browser.browser.newContext()
    await context.addInitScript(
      (token) => localStorage.setItem('tani.token', token),
      w.tokens.farmer,
    )
    const page = await context.newPage()
    await page.goto(`${origin}/app/#/alerts/${firing.alert_id}`)
    await page.getByText('critical · firing').waitFor()
    expect(await page.textContent('#alerts')).toContain('start the aerators now')
    await page.click('#acknowledge')
    await page.getByText('(farmer)').waitFor()
    const stored = await w.store.getAlert(firing.alert_id)
    expect(stored?.acknowledgedBy).toBe('farmer')
    expect(await page.locator('#acknowledge').count()).toBe(0)

    await page.goto(`${origin}/app/#/alerts`)
    await page.getByText('Open alerts').waitFor()
    expect(await page.textContent('#alerts')).toContain('critical: Oxygen in Pond A1')
    await context.close()
  })

  it('says why when the alert is not the farmer’s to see', async () => {
    await w.store.saveAlertEvent(
      { ...firing, alert_id: 'al-page-2', farm_id: 'farm-b' },
      Date.now(),
    )
    const context = await browser.browser.newContext()
    await context.addInitScript(
      (token) => localStorage.setItem('tani.token', token),
      w.tokens.farmer,
    )
    const page = await context.newPage()
    await page.goto(`${origin}/app/#/alerts/al-page-2`)
    await page.getByText('you do not have access').waitFor()
    await context.close()
  })
})
