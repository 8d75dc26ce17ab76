/**
 * Reads a stored log back. A log cut short (its writer was killed, or the disk filled up) decodes
 * up to the cut: gunzip runs with Z_SYNC_FLUSH as its finishing flush, so a stream without a
 * trailer ends quietly instead of failing with "unexpected end of file". A file that is not gzip,
 * or is damaged before its end, is a StoreError ('corrupt-log'); a missing one is 'missing-log'.
 */
import fs from 'node:fs'
import zlib from 'node:zlib'
import { errorText, StoreError } from './errors.js'

const READ_CHUNK = 256 * 1024

/** Opens the file at once (so a missing log fails before any output), then yields its bytes. */
export function readStoredLog(file: string, label: string): AsyncGenerator<Buffer> {
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOENT') throw new StoreError('missing-log', `the log of ${label} is missing ('${file}' does not exist)`)
    throw new StoreError('io', `cannot open the log of ${label} ('${file}'): ${errorText(e)}`)
  }
  return decompress(fd, file, label)
}

async function* decompress(fd: number, file: string, label: string): AsyncGenerator<Buffer> {
  const input = fs.createReadStream('', { fd, highWaterMark: READ_CHUNK })
  const gunzip = zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH })
  input.on('error', (err) => gunzip.destroy(err))
  input.pipe(gunzip)
  try {
    for await (const chunk of gunzip) yield chunk as Buffer
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code?.startsWith('Z_')) throw new StoreError('corrupt-log', `the log of ${label} is corrupt ('${file}': ${e.message})`)
    throw new StoreError('io', `cannot read the log of ${label} ('${file}'): ${errorText(e)}`)
  } finally {
    input.destroy()
    gunzip.destroy()
  }
}
