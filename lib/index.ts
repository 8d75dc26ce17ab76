/**
 * buildlog: decode Nix and CI build logs into a tree of sections and lines.
 *
 * The data path: bytes → tokenizer → dialects → events → tree → faces.
 */
export type * from './events.js'
export { decode, decodeStream, LogDecoderStream, type DecodeOptions } from './decoder.js'
export { Tokenizer, CsiSequence, type TokenHandler, type DroppedKind, MAX_CSI_PARAM_BYTES, MAX_CSI_INTERMEDIATES, MAX_STRING_PAYLOAD } from './tokenizer/tokenizer.js'
export { BuildLogFramer, LineView, type FramerSink } from './dialects/build-log-framer.js'
export { MAX_LINE_BYTES } from './dialects/line-buffer.js'
export { classifyNixLine, type NixLine } from './dialects/nix-line.js'
export { CleanWriter, type CleanOptions } from './render/clean.js'
export { XmlWriter } from './render/xml.js'
export { cleanBuffer, xmlBuffer } from './render/whole.js'
export { CleanStream, XmlStream } from './render/streams.js'
