import { randomBytes } from 'node:crypto'
import { isValidId } from '../../shared/index.ts'
import { type Role, roles, type Store } from './repository.ts'
import { hashPassword } from './secrets.ts'

/**
 * `tani cooperative …` and `tani user …`: how a deployment gets its first admin (who then
 * adds everyone else through the API). Passwords are generated and printed once.
 */
export const PEOPLE_HELP = `  cooperative create --id ID --name NAME
  cooperative list
  user add --cooperative COOP --login LOGIN --name NAME [--role admin|technician|agronomist|farmer]
           [--farm FARM …] [--locale vi|id|en]
      Prints a generated password once (only its hash is stored). The first admin of a
      cooperative is made this way; admins add everyone else through the API.
  user list --cooperative COOP
  user password LOGIN             sets a new generated password (printed once); sessions end
`

export class PeopleUsageError extends Error {}

type Values = Record<string, string | boolean | string[] | undefined>

const str = (values: Values, name: string): string => {
  const v = values[name]
  if (typeof v !== 'string' || v === '') throw new PeopleUsageError(`--${name} is required`)
  return v
}
const newPassword = () => randomBytes(12).toString('base64url')

/** Runs a people command; false when `cmd` is not one. */
export async function runPeopleCommand(
  cmd: string,
  values: Values,
  positionals: string[],
  out: (s: string) => void,
  store: Store,
): Promise<boolean> {
  switch (cmd) {
    case 'cooperative create': {
      const id = str(values, 'id')
      if (!isValidId(id))
        throw new PeopleUsageError('--id: letters, digits, dot, dash or underscore')
      if (await store.getCooperative(id))
        throw new PeopleUsageError(`cooperative ${id} exists already`)
      await store.createCooperative({ id, name: str(values, 'name') })
      out(`cooperative ${id} created`)
      return true
    }
    case 'cooperative list': {
      for (const c of await store.listCooperatives()) out(`${c.id}\t${c.name}`)
      return true
    }
    case 'user add': {
      const cooperativeId = str(values, 'cooperative')
      if (!(await store.getCooperative(cooperativeId)))
        throw new PeopleUsageError(
          `no cooperative ${cooperativeId}; create it first: cooperative create --id ${cooperativeId} --name NAME`,
        )
      const role = (typeof values.role === 'string' ? values.role : 'admin') as Role
      if (!roles.includes(role)) throw new PeopleUsageError(`--role: one of ${roles.join(', ')}`)
      const login = str(values, 'login')
      if (await store.userByLogin(login)) throw new PeopleUsageError(`login ${login} is taken`)
      const farms = ([values.farm].flat().filter(Boolean) as string[]) ?? []
      for (const farmId of farms) {
        const farm = await store.getFarm(farmId)
        if (farm?.cooperativeId !== cooperativeId)
          throw new PeopleUsageError(`--farm ${farmId} is not a farm of ${cooperativeId}`)
      }
      const password = newPassword()
      const id = `u-${randomBytes(5).toString('hex')}`
      await store.createUser({
        id,
        cooperativeId,
        login,
        name: str(values, 'name'),
        role,
        locale: typeof values.locale === 'string' ? values.locale : 'vi',
        passwordHash: await hashPassword(password),
      })
      await store.setUserFarms(id, farms)
      out(`${role} ${login} (${id}) added to ${cooperativeId}`)
      out(`password: ${password}`)
      out('(shown only now; sign in with POST /auth/login and change it with POST /auth/password)')
      return true
    }
    case 'user list': {
      for (const u of await store.listUsers(str(values, 'cooperative')))
        out(`${u.id}\t${u.login}\t${u.role}\t${u.name}${u.disabledAt ? '\t(disabled)' : ''}`)
      return true
    }
    case 'user password': {
      const login = positionals[0]
      if (!login) throw new PeopleUsageError('user password LOGIN')
      const user = await store.userByLogin(login)
      if (!user) throw new PeopleUsageError(`no user with login ${login}`)
      const password = newPassword()
      await store.setUserPassword(user.id, await hashPassword(password))
      for (const t of await store.listTokens(user.id))
        if (t.kind === 'session') await store.revokeToken(t.id)
      out(`password: ${password}`)
      return true
    }
    default:
      return false
  }
}
