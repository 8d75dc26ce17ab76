/**
 * The first screen, drawn before blessed loads (blessed alone costs ~70 ms of startup): the first
 * bytes of the file are indexed synchronously, folded by the failure-aware default, and the
 * frame the pager would draw — breadcrumb, body rows, status line, built by painter.ts — is written
 * straight to the terminal on the alternate screen. Nothing but the rows' own allow-listed SGR and
 * a fixed set of our sequences (alternate screen, hide cursor, clear, cursor position) is written;
 * the rows are sanitised by cells.ts exactly as the pager's are.
 *
 * The pager then takes over (`handOver`): blessed re-enters the alternate screen, clears it and
 * renders the same frame in one buffered write, so the handover does not flash. Until then the
 * terminal is in raw mode (keys typed meanwhile wait in the input for the pager instead of
 * echoing), and `restore` puts it back if the process must exit first (a signal, a crash).
 */

import type { Row } from '../tree/tree.js'
import type { LogSource } from '../tree/source.js'
import { bodyRows, breadcrumb, startAnchor, statusLine } from './painter.js'
import type { ScreenStreams } from './screen.js'
import { TreeModel } from './view-model.js'

/** Bytes indexed synchronously for the first frame (the pager indexes the same before its first). */
export const FIRST_BYTES = 32 * 1024

export interface FirstScreenOptions {
  elide: boolean
  chop: boolean
  lineNumbers: boolean
  color: boolean
  /** Bytes to index before painting (default FIRST_BYTES). */
  firstBytes?: number
}

/** Our own sequences, the only non-SGR escapes the first screen writes (tests check against this). */
export const ENTER = '\x1b[?1049h\x1b[?25l\x1b[0m\x1b[H\x1b[2J'
export const LEAVE = '\x1b[0m\x1b[?25h\x1b[?1049l'

export class FirstScreen {
  private active = false
  private rawSet = false
  /** The row the frame starts at (the pager computes the same). */
  anchor: Row = { line: 0 }

  constructor(private readonly streams: ScreenStreams) {}

  /** Indexes the first bytes, applies the default folds and writes the frame. */
  paint(source: LogSource, options: FirstScreenOptions): void {
    const output = this.streams.output
    const cols = Math.max(1, output.columns ?? 80)
    const rows = Math.max(3, output.rows ?? 24)
    source.indexSync(options.firstBytes ?? FIRST_BYTES)
    const tree = source.tree
    tree.foldDefault()
    const model = new TreeModel(tree)
    this.anchor = startAnchor(tree, model)
    const height = rows - 2
    const rowCount = model.rowCount
    const focus = rowCount === 0 ? 0 : Math.max(0, Math.min(model.indexOf(this.anchor), rowCount - 1))
    const st = {
      source, model, treeModel: model, opts: options, top: Math.max(0, Math.min(focus, rowCount - height)), focus, left: 0,
      width: cols, height, search: undefined, filter: undefined, extract: false, prompt: undefined, message: '', pending: '', following: false,
    }
    const lines = [breadcrumb(st), ...bodyRows(st), statusLine(st)]
    let out = ENTER
    for (let y = 0; y < lines.length; y++) out += `\x1b[${y + 1};1H${lines[y]}`
    const input = this.streams.input
    if (input.isTTY && input.setRawMode) {
      input.setRawMode(true)
      this.rawSet = true
    }
    this.active = true
    output.write(out)
  }

  /** The pager owns the terminal now. */
  handOver(): void {
    this.active = false
    this.rawSet = false
  }

  /** Leaves the alternate screen and raw mode, if the pager never took over. */
  restore(): void {
    if (this.active) {
      this.active = false
      try {
        this.streams.output.write(LEAVE)
      } catch {
        // the terminal is gone
      }
    }
    if (this.rawSet) {
      this.rawSet = false
      try {
        this.streams.input.setRawMode?.(false)
      } catch {
        // the terminal is gone
      }
    }
  }
}
