import { type Logger, pino } from 'pino'

export type { Logger }

/** The root logger; services take a child per module (`log.child({ module: 'broker' })`). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'tani' },
      redact: {
        paths: [
          'password',
          'secret',
          'token',
          '*.password',
          '*.secret',
          '*.token',
          'req.headers.authorization',
        ],
        remove: true,
      },
    },
    destination ?? process.stdout,
  )
}
