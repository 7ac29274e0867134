import { renameSync, writeFileSync } from 'node:fs'

/**
 * Preloaded (`--import`) into a measured Node child started with `--expose-gc`: on
 * SIGUSR2 it collects garbage and writes `process.memoryUsage()` to BENCH_PROBE_FILE, so
 * the memory a device costs is read after a full GC rather than from a noisy RSS.
 */
const file = process.env.BENCH_PROBE_FILE
const gc = (globalThis as { gc?: () => void }).gc
let n = 0
if (file && gc)
  process.on('SIGUSR2', () => {
    gc()
    gc()
    // Written aside and renamed, so a reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ n: ++n, ...process.memoryUsage() }))
    renameSync(`${file}.tmp`, file)
  })
