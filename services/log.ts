import { type Logger, pino } from 'pino'

export type { Logger }

/** The root logger; services take a child per module (`log.child({ module: 'broker' })`). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'tani' },
      redact: { paths: ['password', 'secret', '*.password', '*.secret'], remove: true },
    },
    destination ?? process.stdout,
  )
}
