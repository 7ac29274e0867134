import { z } from 'zod'
import { DeviceKind } from '../shared/readings.ts'
import { ID_PATTERN } from '../shared/topics.ts'
import { CliError } from './cli-error.ts'

/** The devices file the registration CLI writes: broker URL and the devices' secrets. */
const MQTT_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'tcp:', 'tls:', 'ws:', 'wss:'])

export const MqttUrl = z.string().refine(
  (s) => {
    try {
      return MQTT_PROTOCOLS.has(new URL(s).protocol)
    } catch {
      return false
    }
  },
  { message: 'expected a broker URL such as mqtt://127.0.0.1:1883' },
)

export const DevicesFile = z.object({
  mqttUrl: MqttUrl.optional(),
  devices: z
    .array(
      z.object({
        id: z.string().regex(ID_PATTERN, 'device ids are 1–64 letters, digits, ".", "_" or "-"'),
        kind: DeviceKind,
        secret: z.string().min(1, 'the device secret is empty'),
      }),
    )
    .min(1, 'the file lists no devices')
    .superRefine((devices, ctx) => {
      const seen = new Set<string>()
      devices.forEach((d, i) => {
        if (seen.has(d.id)) {
          ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate device id ${d.id}` })
        }
        seen.add(d.id)
      })
    }),
})
export type DevicesFile = z.infer<typeof DevicesFile>

/** `devices[2].kind` from a zod issue path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else out += out ? `.${String(p)}` : String(p)
  }
  return out || '(top level)'
}

/** Parses and validates a devices file; errors name the file and the offending field. */
export function parseDevicesFile(text: string, source: string): DevicesFile {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new CliError(`${source}: not valid JSON: ${(err as Error).message}`)
  }
  const result = DevicesFile.safeParse(json)
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`)
    throw new CliError(`${source}: invalid devices file\n${lines.join('\n')}`)
  }
  return result.data
}
