/**
 * Where the index fast path (IndexDecoder) puts what it decided: lines with their flags, legacy
 * opens and closes, and the lines only the dialect's decoder can take. TreeOutput writes them into
 * the LogTree; IndexRecorder (index-record.ts) writes them down for a tree on another thread, which
 * replays them through a TreeOutput — so both threads' trees come out of the same calls.
 */

import type { LineView } from '../dialects/build-log-framer.js'
import { BuildLogDecoder } from '../dialects/build-log.js'
import { DecodeContext } from '../dialects/context.js'
import { LINE_ERROR, LINE_WARNING } from './lines.js'
import type { LogTree } from './tree.js'
import { playWords, wordsAt } from './index-record.js'
import { TreeSlot } from './native-tree.js'

export type FramerDiagnostic = 'unbalanced-close' | 'unclosed-at-eof' | 'line-split'

export interface IndexOutput {
  /** A line of the current section that is not its head. */
  plainLine(offset: number, end: number, flags: number): void
  /** A line the framer saw as the head of the nest just opened. */
  headLine(offset: number, end: number, flags: number): void
  open(priority: number, offset: number): void
  close(offset: number): void
  diagnostic(code: FramerDiagnostic, message: string, offset: number, line: number, column: number): void
  /** A line the dialect must read (`@nix`, a CI marker, `Running phase:`, one after a held one). */
  dialectLine(view: LineView): void
  /**
   * Lines, opens and closes as a record's words (index-record.ts), the first line starting at
   * `from` (the end of the last line before them) and the last ending at `to`; `depth` nests
   * opened less closed over them, `minDepth` the lowest that count reached.
   */
  addWords(words: Int32Array, count: number, from: number, to: number, depth: number, minDepth: number): void
  /** The end of a write: readers may look at the tree now. */
  flush(): void
  end(): void
}

export class TreeOutput implements IndexOutput {
  private readonly decoder: BuildLogDecoder
  /**
   * Legacy opens and closes go to the tree directly (LogTree.openNest/closeNest) while the decoder
   * would see nothing but them: until the first line only it can read, or the end, it is told of
   * the nests open then (BuildLogDecoder.adoptNests) and takes every open and close from there. A
   * legacy log's sections cost the tree no event, and the decoder no stack of its own.
   */
  private direct: boolean

  constructor(private readonly tree: LogTree) {
    this.decoder = new BuildLogDecoder((e) => tree.add(e), new DecodeContext())
    this.direct = tree.sections.length === 1 && tree.lines.length === 0
  }

  private toDecoder(): void {
    if (!this.direct) return
    this.direct = false
    this.decoder.adoptNests(this.tree.running, this.tree.sections.length - 1)
  }

  /**
   * Plain lines pushed to the tree's line table but not yet counted in the sections: the
   * ancestors' counts are updated once per run (LogTree.addPlainRun) rather than once per line.
   * Anything else that reaches the tree — a head line, the decoder's events — comes after a flush,
   * and so does the end of every write, where readers may look.
   */
  private run = 0
  private runErrors = 0
  private runWarnings = 0
  private runFirstError = -1

  flush(): void {
    if (this.run === 0) return
    this.tree.addPlainRun(this.run, this.runErrors, this.runWarnings, this.runFirstError)
    this.run = this.runErrors = this.runWarnings = 0
    this.runFirstError = -1
  }

  plainLine(offset: number, end: number, flags: number): void {
    const lines = this.tree.lines
    if ((flags & LINE_ERROR) !== 0) {
      if (this.runErrors++ === 0) this.runFirstError = lines.length
    } else if ((flags & LINE_WARNING) !== 0) this.runWarnings++
    lines.push(offset, this.tree.current, flags, end)
    this.run++
  }

  headLine(offset: number, end: number, flags: number): void {
    this.flush()
    this.tree.addLine(this.tree.current, offset, end, flags, true)
  }

  open(priority: number, offset: number): void {
    this.flush()
    if (this.direct) this.tree.openNest()
    else this.decoder.open(priority, offset)
  }

  close(offset: number): void {
    this.flush()
    if (this.direct) this.tree.closeNest()
    else this.decoder.close(offset)
  }

  diagnostic(code: FramerDiagnostic, message: string, offset: number, line: number, column: number): void {
    this.flush()
    this.decoder.diagnostic(code, message, offset, line, column)
  }

  dialectLine(view: LineView): void {
    this.flush()
    this.toDecoder()
    this.decoder.line(view)
  }

  /**
   * In direct mode, in C where the addon is built (native-tree.ts): the writer plays the words up
   * to one it leaves to JavaScript (a new chunk of lines, columns out of room), which plays that
   * one here and makes room, and so on. The run of plain lines not yet counted crosses over.
   */
  addWords(words: Int32Array, count: number, from: number): void {
    const writer = this.direct ? this.tree.nativeWriter() : null
    if (writer === null) {
      playWords(words, count, from, this)
      return
    }
    const st = writer.state
    st[TreeSlot.Word] = 0
    st[TreeSlot.Count] = count
    st[TreeSlot.Cursor] = from
    for (;;) {
      st[TreeSlot.Run] = this.run
      st[TreeSlot.RunErrors] = this.runErrors
      st[TreeSlot.RunWarnings] = this.runWarnings
      st[TreeSlot.RunFirstError] = this.runFirstError
      this.tree.playNative(writer, words)
      this.run = st[TreeSlot.Run]!
      this.runErrors = st[TreeSlot.RunErrors]!
      this.runWarnings = st[TreeSlot.RunWarnings]!
      this.runFirstError = st[TreeSlot.RunFirstError]!
      const k = st[TreeSlot.Word]!
      if (k >= count) return
      const next = Math.min(count, k + wordsAt(words, k))
      st[TreeSlot.Cursor] = playWords(words.subarray(k, next), next - k, st[TreeSlot.Cursor]!, this)
      st[TreeSlot.Word] = next
    }
  }

  end(): void {
    this.flush()
    this.toDecoder()
    this.decoder.end()
  }
}
