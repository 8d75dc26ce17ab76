import { drvDisplayName } from '../dialects/drv-name.js'
import type { LogEvent, StyleMark } from '../events.js'
import { BEL } from '../tokenizer/table.js'
import { C1_LEAD, unsafeBytesAt } from './terminal-safe.js'

/**
 * The clean face for event streams (internal-json): the log as `nix build -L` shows it — Nix's
 * messages up to Info level, `building '…'...` as activities start, build output prefixed with the
 * build's name (`hello> …`, the prefix dimmed in colour).
 */
export class EventCleanWriter {
  /** For every open section: its parent, and the `name> ` prefix bytes when it is a build. */
  private readonly sections = new Map<number, { parent: number; prefix?: Buffer }>()
  /** The last prefix lookup (lines of one build come in runs); reset when a section opens or closes. */
  private lastSection = -1
  private lastPrefix: Buffer | undefined = undefined
  /**
   * Output since the last take(): finished pieces, then block[blockStart, at). Every line is
   * written whole into the block (no allocation per line); a handed-out range is never written
   * again.
   */
  private readonly pieces: Buffer[] = []
  private block: Buffer = Buffer.allocUnsafe(OUTPUT_BLOCK)
  /** `block` as words, for {@link copySafe}'s check of what it copied. */
  private blockView = new DataView(this.block.buffer, this.block.byteOffset, this.block.length)
  private blockStart = 0
  private at = 0

  constructor(private readonly color: boolean) {}

  readonly sink = (event: LogEvent): void => {
    switch (event.type) {
      case 'open': {
        // Nix's plain logger announces an activity at Info level or above as `text...`.
        const level = event.attrs?.level
        if (typeof level === 'number' && level <= INFO && event.title && event.attrs?.activityId !== undefined) this.writeLine(undefined, Buffer.from(event.title + '...'), undefined)
        this.lastSection = -1
        const drv = event.attrs?.drv
        if (event.kind !== 'build') {
          this.sections.set(event.id, { parent: event.parent })
          break
        }
        const name = typeof drv === 'string' && drv ? drvDisplayName(drv) : event.title ?? ''
        this.sections.set(event.id, { parent: event.parent, prefix: Buffer.from(this.color ? `\x1b[2m${name}> \x1b[0m` : `${name}> `) })
        break
      }
      case 'close':
        this.sections.delete(event.id)
        this.lastSection = -1
        break
      case 'line':
        // Messages above Info (talkative, chatty, debug …) are what `nix -v` adds: not shown.
        if (event.level !== undefined && event.level > INFO) break
        if (event.section !== this.lastSection) {
          this.lastPrefix = this.prefixOf(event.section)
          this.lastSection = event.section
        }
        this.writeLine(this.lastPrefix, event.text, this.color ? event.styles : undefined)
        break
      default:
        break
    }
  }

  private writeLine(prefix: Buffer | undefined, text: Buffer, styles: StyleMark[] | undefined): void {
    // Room for the whole line: prefix, text, each mark as ESC [ params m, a reset, LF.
    let need = (prefix ? prefix.length : 0) + text.length + 1
    if (styles) {
      for (let k = 0; k < styles.length; k++) need += styles[k]!.params.length + 3
      need += RESET.length
    }
    this.reserve(need)
    const out = this.block
    const view = this.blockView
    let at = this.at
    if (prefix) {
      out.set(prefix, at)
      at += prefix.length
    }
    if (!styles || styles.length === 0) {
      at = copySafe(text, 0, text.length, out, view, at)
    } else {
      // Only SGR ever comes out: marks hold nothing else (a reset at the end if colour was left on).
      let cursor = 0
      for (let k = 0; k < styles.length; k++) {
        const mark = styles[k]!
        at = copySafe(text, cursor, mark.at, out, view, at)
        out[at++] = 0x1b
        out[at++] = 0x5b
        const params = mark.params
        for (let c = 0; c < params.length; c++) out[at++] = params.charCodeAt(c) & 0xff // latin1
        out[at++] = 0x6d
        cursor = mark.at
      }
      at = copySafe(text, cursor, text.length, out, view, at)
      const last = styles[styles.length - 1]!
      if (last.params !== '0' && last.params !== '') at = copyInto(RESET, 0, RESET.length, out, at)
    }
    out[at++] = 0x0a
    this.at = at
  }

  /** Makes room for `n` more bytes in the block. */
  private reserve(n: number): void {
    if (this.at + n <= this.block.length) return
    if (this.at > this.blockStart) this.pieces.push(this.block.subarray(this.blockStart, this.at))
    this.block = Buffer.allocUnsafe(Math.max(OUTPUT_BLOCK, n))
    this.blockView = new DataView(this.block.buffer, this.block.byteOffset, this.block.length)
    this.blockStart = this.at = 0
  }

  private prefixOf(section: number): Buffer | undefined {
    for (let id = section, hops = 0; id !== 0 && hops < 1000; hops++) {
      const s = this.sections.get(id)
      if (!s) return undefined
      if (s.prefix !== undefined) return s.prefix
      id = s.parent
    }
    return undefined
  }

  take(): Buffer | null {
    if (this.at > this.blockStart) {
      this.pieces.push(this.block.subarray(this.blockStart, this.at))
      this.blockStart = this.at
    }
    const pieces = this.pieces
    if (pieces.length === 0) return null
    const out = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)
    pieces.length = 0
    return out
  }
}

/** Copies src[start, end) to dst at `at`; the index after it. */
function copyInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  for (let i = start; i < end; i++) dst[at++] = src[i]!
  return at
}

/**
 * Copies the bytes of src[start, end) that may reach a terminal to dst at `at` (BEL and C1
 * controls dropped, as unsafeBytesAt() finds them); the index after them. Lines almost never hold
 * either, so a longer range is copied whole and the copy checked four bytes at a time (`view`
 * views `dst`); only a range with a BEL or a C1 lead byte in it is copied again byte by byte.
 */
function copySafe(src: Uint8Array, start: number, end: number, dst: Uint8Array, view: DataView, at: number): number {
  const n = end - start
  if (n >= WHOLE_COPY_MIN) {
    dst.set(start === 0 && end === src.length ? src : src.subarray(start, end), at)
    if (!hasBelOrC1Lead(dst, view, at, at + n)) return at + n
  }
  for (let i = start; i < end; ) {
    const unsafe = unsafeBytesAt(src, i, end)
    if (unsafe === 0) dst[at++] = src[i++]!
    else i += unsafe
  }
  return at
}

/** True when b[s, e) holds a BEL or a C1 lead byte (`view` views `b`). */
function hasBelOrC1Lead(b: Uint8Array, view: DataView, s: number, e: number): boolean {
  let i = s
  for (; i + 4 <= e; i += 4) {
    const x = view.getInt32(i, true)
    const bel = x ^ 0x07070707
    const c1 = x ^ 0xc2c2c2c2
    // Bit 7 of a byte is set where that byte was BEL or C1_LEAD (exact for "is there one").
    if ((((bel - 0x01010101) & ~bel) | ((c1 - 0x01010101) & ~c1)) & 0x80808080) return true
  }
  for (; i < e; i++) if (b[i] === BEL || b[i] === C1_LEAD) return true
  return false
}

/** Shorter ranges are copied byte by byte at once: a whole copy and its check cost more. */
const WHOLE_COPY_MIN = 16
const OUTPUT_BLOCK = 64 * 1024
/** Nix's verbosity for ordinary messages (spec §6.4): what `nix build` shows without -v. */
const INFO = 3
const RESET = Buffer.from('\x1b[0m')
