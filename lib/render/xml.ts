import type { FramerSink, LineView } from '../dialects/build-log-framer.js'
import { textWithoutSgr } from '../dialects/line-buffer.js'
import { log2xmlStoreRefAt, nextStoreDir } from '../dialects/store-paths.js'

const decoder = new TextDecoder('utf-8', { fatal: false })

/**
 * Escapes decoded text for XML in the recommended default mode (spec §2.9): `&` and `<` always,
 * `>` after `]]` (Q8), C0 controls other than TAB and LF and the non-characters U+FFFE/U+FFFF as
 * `&#xfffd;` (Q9). Invalid UTF-8 has already become U+FFFD in decoding.
 */
export function escapeXmlText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[&<\x00-\x08\x0b-\x1f\ufffe\uffff]|(?<=\]\])>/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#xfffd;'))
}

function escapeBytes(buf: Uint8Array, start: number, end: number): string {
  return start < end ? escapeXmlText(decoder.decode(buf.subarray(start, end))) : ''
}

/**
 * Writes a line's body: text with nix-log2xml's store references (§2.5) marked up. Inline SGR
 * sequences are skipped: colour never reaches XML.
 */
function lineBody(view: LineView): string {
  let buf = view.buf
  let start = view.start
  let end = view.end
  if (view.sgr.length > 0) {
    buf = textWithoutSgr(buf, start, end, view.sgr, view.textLength)
    start = 0
    end = buf.length
  }
  let out = ''
  let cursor = start
  for (let i = nextStoreDir(buf, start, end); i !== -1; ) {
    const ref = log2xmlStoreRefAt(buf, i, end)
    if (!ref) {
      i = nextStoreDir(buf, i + 1, end)
      continue
    }
    out += escapeBytes(buf, cursor, ref.start)
    out +=
      '<storeref><storedir>/nix/store/</storedir><hash>' + escapeBytes(buf, ref.start + 11, ref.nameStart) +
      '</hash><name>' + escapeBytes(buf, ref.nameStart, ref.pathStart) +
      '</name><path>' + escapeBytes(buf, ref.pathStart, ref.end) + '</path></storeref>'
    cursor = ref.end
    i = nextStoreDir(buf, cursor, end)
  }
  return out + escapeBytes(buf, cursor, end)
}

/**
 * The log2xml-compatible XML face (spec §2.6): `<logfile>` with `<nest>`, `<head>` and `<line>`
 * elements, streamed as the framer finishes lines. Diagnostics go to `onDiagnostic` (stderr in
 * the CLI), as the reference wrote them.
 */
export class XmlWriter implements FramerSink {
  constructor(
    private readonly write: (text: string) => void,
    private readonly onDiagnostic: (message: string) => void,
  ) {
    write('<logfile>\n')
  }

  line(view: LineView): void {
    const tag = view.head ? 'head' : 'line'
    let attrs = ''
    if (view.priority !== 1) attrs += ` priority='${view.priority}'`
    if (view.warning) attrs += " warning='1'"
    if (view.error) attrs += " error='1'"
    this.write(`<${tag}${attrs}>${lineBody(view)}</${tag}>\n`)
  }

  open(): void {
    this.write('<nest>\n')
  }

  close(): void {
    this.write('</nest>\n')
  }

  diagnostic(code: string, message: string): void {
    if (code === 'unbalanced-close') this.onDiagnostic(message + '\n')
  }

  /** Call after the framer's end(). */
  finish(): void {
    this.write('</logfile>\n')
  }
}
