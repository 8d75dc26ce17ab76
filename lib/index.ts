/**
 * buildlog: decode Nix and CI build logs into a tree of sections and lines.
 *
 * The data path: bytes → tokenizer → dialects → events → tree → faces.
 */
export type * from './events.js'
export { decode, decodeStream, createDecoder, LogDecoderStream, DIALECTS, type DecodeOptions, type DecoderStreamOptions, type DialectChoice } from './decoder.js'
export { detect, type Detection } from './dialects/detect.js'
export { Tokenizer, CsiSequence, type TokenHandler, type DroppedKind, MAX_CSI_PARAM_BYTES, MAX_CSI_INTERMEDIATES, MAX_STRING_PAYLOAD } from './tokenizer/tokenizer.js'
export { BuildLogFramer, LineView, type FramerSink } from './dialects/build-log-framer.js'
export { MAX_LINE_BYTES } from './dialects/line-buffer.js'
export { classifyNixLine, type NixLine } from './dialects/nix-line.js'
export { findStorePaths, shortStorePath, type StorePathMatch } from './dialects/store-paths.js'
export { EventTreeBuilder, sectionPath, type TreeSection, type TreeLine, type Counts } from './tree/event-tree.js'
export { lineSeverity, type Severity } from './tree/severity.js'
export { CleanWriter, type CleanOptions } from './render/clean.js'
export { Cleaner, type CleanerOptions } from './render/cleaner.js'
export { XmlWriter } from './render/xml.js'
export { cleanBuffer, xmlBuffer } from './render/whole.js'
export { CleanStream, XmlStream } from './render/streams.js'
export { writeTreeJson, eventJson, JSON_SCHEMA_VERSION } from './render/json.js'
export { writeOutline, writeErrors, type OutlineOptions } from './render/text.js'
export { writeHtml, renderHtml } from './render/html/index.js'
