import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NewOutboxItem, Store } from '../../../services/store/repository.ts'
import { openSqliteStore } from '../../../services/store/sqlite-store.ts'

let store: Store
beforeEach(() => {
  store = openSqliteStore(':memory:')
})
afterEach(() => store.close())

const item = (key: string, over: Partial<NewOutboxItem> = {}): NewOutboxItem => ({
  dedupeKey: key,
  alertId: 'al-1',
  state: 'firing',
  channel: 'push',
  target: 'ps-1',
  userId: null,
  payload: '{}',
  urgency: 'high',
  ttlS: 3600,
  topic: null,
  notBefore: 0,
  ...over,
})

describe('the notification outbox', () => {
  it('ignores a send it already has, even once it is sent', async () => {
    expect(await store.enqueueNotifications([item('a'), item('b')])).toBe(2)
    const [a] = await store.dueNotifications(Date.now(), 10)
    await store.finishNotification(a?.id ?? 0, { status: 'sent', detail: null, atMs: Date.now() })
    expect(await store.enqueueNotifications([item('a'), item('c')])).toBe(1)
    expect((await store.dueNotifications(Date.now(), 10)).map((i) => i.dedupeKey)).toEqual([
      'b',
      'c',
    ])
  })

  it('keeps retries and held sends out of the due list until their time', async () => {
    const t = Date.now()
    await store.enqueueNotifications([
      item('later', { notBefore: t + 60_000 }),
      item('held', { held: true }),
    ])
    expect(await store.dueNotifications(t, 10)).toEqual([])
    expect((await store.dueDigests(t)).map((i) => i.dedupeKey)).toEqual(['held'])
    expect((await store.dueNotifications(t + 60_000, 10)).map((i) => i.dedupeKey)).toEqual([
      'later',
    ])
  })

  it('forgets finished sends after a while, not queued ones', async () => {
    await store.enqueueNotifications([item('old'), item('waiting')])
    const [old] = await store.dueNotifications(Date.now(), 1)
    await store.finishNotification(old?.id ?? 0, { status: 'sent', detail: null, atMs: 1000 })
    expect(await store.pruneNotifications(2000)).toBe(1)
    expect((await store.notificationsOf('al-1')).map((i) => i.dedupeKey)).toEqual(['waiting'])
  })
})
