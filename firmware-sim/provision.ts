import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { registerDevices, rotateServiceAccount } from '../services/store/provisioning.ts'
import type { Store } from '../services/store/repository.ts'
import { generateSecret, hashSecret } from '../services/store/secrets.ts'
import type { Scenario } from './scenario.ts'

/**
 * Registers a scenario's farm, sites and devices in the control-plane store (what a
 * cooperative technician does with the CLI), keeping the device secrets in a file
 * (mode 0600) so the next run of the same scenario can reuse them.
 */
export type ScenarioCredentials = {
  secrets: Record<string, string>
  networkServer: { username: string; password: string } | null
}

export const NETWORK_SERVER_ACCOUNT = 'sim-network-server'

export async function provisionScenario(
  store: Store,
  scenario: Scenario,
  credentialsFile: string,
): Promise<ScenarioCredentials> {
  const known: Record<string, string> = existsSync(credentialsFile)
    ? ((JSON.parse(readFileSync(credentialsFile, 'utf8')) as { secrets?: Record<string, string> })
        .secrets ?? {})
    : {}
  const farm = scenario.farm
  if (!(await store.getFarm(farm.id)))
    await store.createFarm({ id: farm.id, name: farm.name, timezone: farm.timezone })
  for (const s of scenario.sites) {
    const existing = await store.getSite(s.id)
    if (existing && existing.farmId !== farm.id)
      throw new Error(
        `site ${s.id} belongs to farm ${existing.farmId}, not ${farm.id}; rename it in the scenario`,
      )
    if (!existing)
      await store.createSite({
        id: s.id,
        farmId: farm.id,
        name: s.name ?? s.id,
        kind: s.kind,
        latitude: farm.latitude,
        longitude: farm.longitude,
      })
  }
  const secrets: Record<string, string> = {}
  for (const d of scenario.devices) {
    const existing = await store.getDevice(d.id)
    if (existing) {
      if (existing.farmId !== farm.id || existing.kind !== d.kind)
        throw new Error(
          `device ${d.id} is registered as a ${existing.kind} of farm ${existing.farmId}; rename it in the scenario`,
        )
      const secret = known[d.id] ?? generateSecret()
      // A secret the file does not know is replaced: the simulator owns these devices.
      if (!known[d.id]) await store.setDeviceSecretHash(d.id, await hashSecret(secret))
      secrets[d.id] = secret
      continue
    }
    const [created] = await registerDevices(store, {
      farmId: farm.id,
      siteId: d.site,
      kind: d.kind,
      ids: [d.id],
      namePrefix: undefined,
      devEui: d.dev_eui ?? null,
    })
    secrets[d.id] = (created as { secret: string }).secret
  }
  writeFileSync(credentialsFile, `${JSON.stringify({ farm: farm.id, secrets }, null, 2)}\n`, {
    mode: 0o600,
  })
  chmodSync(credentialsFile, 0o600)
  const needsNetworkServer = scenario.devices.some((d) => d.transport !== 'mqtt')
  const networkServer = needsNetworkServer
    ? {
        username: NETWORK_SERVER_ACCOUNT,
        password: await rotateServiceAccount(store, NETWORK_SERVER_ACCOUNT, 'network-server'),
      }
    : null
  return { secrets, networkServer }
}
