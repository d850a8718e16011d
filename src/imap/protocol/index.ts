/** Pure IMAP text layer: command reader, argument parsers, mUTF-7 and response encoding. No I/O, no app imports. */
export { clientText, ProtocolError } from "./errors.ts";
export type { Token } from "./tokens.ts";
export { CommandReader, type LiteralBudget, type ReaderEvent, type ReaderLimits, type ReaderOptions } from "./reader.ts";
export { parseSequenceSet, seqSetToString, STAR, type SeqRange } from "./sequence-set.ts";
export { parseFetchItems, parseFetchAtt, parseSection, parseModSeq, type FetchItem, type Section, type SectionText } from "./fetch-items.ts";
export { parseSearch, SEARCH_LIMITS, type SearchKey, type SearchReturn, type ParsedSearch } from "./search.ts";
export { parseStoreArgs, parseFlag, type StoreArgs } from "./store.ts";
export { parseListArgs, parseStatusItems, listMatch, type ListArgs } from "./list.ts";
export { astring, quoteString, nstring, literalBytes } from "./encode.ts";
export { encodeMutf7, decodeMutf7 } from "./mutf7.ts";
export { formatInternalDate, parseDateArg, parseAppendDate } from "./dates.ts";
