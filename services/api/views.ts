import { iso } from '../../shared/api/common.ts'
import type { UserView } from '../../shared/api/people.ts'
import type { Farm, Site, Store, User } from '../store/repository.ts'

/** Store records as the API shows them (snake_case, ISO times). */

export async function userView(store: Store, u: User): Promise<UserView> {
  return {
    id: u.id,
    cooperative_id: u.cooperativeId,
    login: u.login,
    name: u.name,
    role: u.role,
    locale: u.locale,
    farm_ids: await store.userFarms(u.id),
    created_at: iso(u.createdAt),
    disabled: u.disabledAt !== null,
  }
}

export const siteView = (s: Site) => ({
  id: s.id,
  farm_id: s.farmId,
  name: s.name,
  kind: s.kind,
  latitude: s.latitude,
  longitude: s.longitude,
  tags: s.tags ?? {},
})

export async function farmView(store: Store, f: Farm) {
  return {
    id: f.id,
    cooperative_id: f.cooperativeId,
    name: f.name,
    timezone: f.timezone,
    created_at: iso(f.createdAt),
    biofix: f.biofix ?? {},
    sites: (await store.listSites(f.id)).map(siteView),
  }
}
