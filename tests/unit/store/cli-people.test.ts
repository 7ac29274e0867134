import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../../../services/store/cli.ts'
import type { Store } from '../../../services/store/repository.ts'
import { verifySecret } from '../../../services/store/secrets.ts'
import { openSqliteStore } from '../../../services/store/sqlite-store.ts'

let store: Store
let lines: string[]
const tani = (...argv: string[]) => runCli(argv, (s) => lines.push(s), store)

beforeEach(() => {
  store = openSqliteStore(':memory:')
  lines = []
})
afterEach(() => store.close())

describe('tani cooperative and user commands', () => {
  it('creates the first admin of a cooperative with a password printed once and stored hashed', async () => {
    await tani('cooperative', 'create', '--id', 'mekong', '--name', 'Mekong Cooperative')
    await tani('user', 'add', '--cooperative', 'mekong', '--login', 'admin', '--name', 'Anh Admin')
    const password = lines.find((l) => l.startsWith('password: '))?.slice('password: '.length)
    expect(password).toMatch(/^[A-Za-z0-9_-]{16}$/)
    const user = await store.userByLogin('admin')
    expect(user).toMatchObject({ role: 'admin', cooperativeId: 'mekong' })
    expect(user?.passwordHash).not.toContain(password)
    expect(await verifySecret(password as string, user?.passwordHash as string)).toBe(true)
  })

  it('adds a farmer to farms of the cooperative only', async () => {
    await tani('cooperative', 'create', '--id', 'mekong', '--name', 'M')
    await tani('farm', 'create', '--id', 'f1', '--name', 'F1', '--cooperative', 'mekong')
    await tani('farm', 'create', '--id', 'f2', '--name', 'F2')
    await tani(
      'user',
      'add',
      '--cooperative',
      'mekong',
      '--login',
      'lan',
      '--name',
      'Lan',
      '--role',
      'farmer',
      '--farm',
      'f1',
    )
    expect(await store.userFarms((await store.userByLogin('lan'))?.id as string)).toEqual(['f1'])
    await expect(
      tani(
        'user',
        'add',
        '--cooperative',
        'mekong',
        '--login',
        'x',
        '--name',
        'X',
        '--role',
        'farmer',
        '--farm',
        'f2',
      ),
    ).rejects.toThrow(/not a farm of mekong/)
    expect((await store.getFarm('f2'))?.cooperativeId).toBe('default')
  })

  it('refuses an unknown cooperative or role with what to do', async () => {
    await expect(
      tani('user', 'add', '--cooperative', 'nope', '--login', 'a', '--name', 'A'),
    ).rejects.toThrow(/cooperative create --id nope/)
    await tani('cooperative', 'create', '--id', 'c', '--name', 'C')
    await expect(
      tani('user', 'add', '--cooperative', 'c', '--login', 'a', '--name', 'A', '--role', 'owner'),
    ).rejects.toThrow(/--role: one of admin, technician, agronomist, farmer/)
  })
})
