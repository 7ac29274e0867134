import { z } from 'zod'
import { Id, Locale, Role, Time, TimeZone } from './common.ts'

/** People, their sessions and tokens, cooperatives and farms. */

export const LoginBody = z.object({
  login: z.string().min(1).max(120),
  password: z.string().min(1).max(200),
})

export const UserView = z.object({
  id: z.string(),
  cooperative_id: z.string(),
  login: z.string(),
  name: z.string(),
  role: Role,
  locale: z.string(),
  farm_ids: z.array(z.string()),
  created_at: Time,
  disabled: z.boolean(),
})
export type UserView = z.infer<typeof UserView>

export const TokenView = z.object({
  id: z.string(),
  kind: z.enum(['session', 'api']),
  name: z.string(),
  created_at: Time,
  expires_at: Time.nullable(),
  last_used_at: Time.nullable(),
})

export const LoginResponse = z.object({
  /** Send it as `Authorization: Bearer <token>`; shown only now. */
  token: z.string(),
  expires_at: Time,
  user: UserView,
})

export const NewApiTokenBody = z.object({
  name: z.string().min(1).max(80).describe('What the token is for, e.g. "grafana"'),
  /** Days until it expires; absent: it never does (revoke it when no longer needed). */
  expires_in_days: z.number().int().min(1).max(3650).optional(),
})
export const NewApiTokenResponse = TokenView.extend({ token: z.string() })

export const PasswordBody = z.object({
  current_password: z.string().min(1).max(200),
  new_password: z.string().min(10, 'use at least 10 characters').max(200),
})

export const NewUserBody = z.object({
  id: Id.optional(),
  login: z
    .string()
    .min(3)
    .max(120)
    .regex(/^[^\s]+$/, 'no spaces: a phone number, an email or a short name'),
  name: z.string().min(1).max(120),
  role: Role,
  locale: Locale.default('vi'),
  farm_ids: z.array(Id).default([]),
  /** Absent: a password is generated and returned once. */
  password: z.string().min(10, 'use at least 10 characters').max(200).optional(),
})
export const NewUserResponse = z.object({
  user: UserView,
  /** Only when the password was generated: give it to the person, it is not shown again. */
  password: z.string().optional(),
})

export const UserPatchBody = z
  .object({
    name: z.string().min(1).max(120),
    role: Role,
    locale: Locale,
    farm_ids: z.array(Id),
    disabled: z.boolean(),
  })
  .partial()
  .refine(
    (b) => Object.keys(b).length > 0,
    'change at least one of name, role, locale, farm_ids, disabled',
  )

export const SiteKind = z.enum(['pond', 'field', 'orchard', 'greenhouse', 'other'])

export const SiteView = z.object({
  id: z.string(),
  farm_id: z.string(),
  name: z.string(),
  kind: SiteKind,
  latitude: z.number().nullable(),
  longitude: z.number().nullable(),
  /** Crop or stock and stage, e.g. { "crop": "rice", "crop_stage": "tillering" }. */
  tags: z.record(z.string(), z.string()),
})

export const FarmView = z.object({
  id: z.string(),
  cooperative_id: z.string(),
  name: z.string(),
  timezone: z.string(),
  created_at: Time,
  biofix: z.record(z.string(), z.string()),
  sites: z.array(SiteView),
})

export const NewFarmBody = z.object({
  id: Id,
  name: z.string().min(1).max(120),
  timezone: TimeZone.default('Asia/Ho_Chi_Minh'),
})

const TagMap = z.record(
  z.string().regex(/^[a-z][a-z0-9_]*$/, 'tag names are lower_snake_case'),
  z.string().max(80),
)

export const NewSiteBody = z.object({
  id: Id,
  name: z.string().min(1).max(120),
  kind: SiteKind,
  latitude: z.number().min(-90).max(90).nullable().default(null),
  longitude: z.number().min(-180).max(180).nullable().default(null),
  tags: TagMap.default({}),
})

export const SitePatchBody = z.object({ tags: TagMap })

export const FarmSiteParams = z.object({ id: Id, siteId: Id })
