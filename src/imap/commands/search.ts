import { parseSearch, ProtocolError, type ParsedSearch } from "../protocol/index.ts";
import { runSearch } from "../search/evaluate.ts";
import { uidsToSet } from "../session/sync.ts";
import { no, ok, type CommandSpec } from "./result.ts";

/**
 * SEARCH / UID SEARCH, with ESEARCH (RETURN MIN MAX ALL COUNT) and SEARCHRES (SAVE).
 * CHARSET US-ASCII and UTF-8; others answer NO [BADCHARSET] from the parser. A search past
 * SEARCH_LIMITS or MAX_TERM_WORDS answers NO [LIMIT] before anything is evaluated.
 */
export const search: CommandSpec = {
  names: ["SEARCH"],
  states: ["selected"],
  uid: true,
  async run(s, cmd) {
    const sel = s.selected!;
    let parsed: ParsedSearch;
    let uids: number[];
    try {
      parsed = parseSearch(cmd.args);
      uids = await runSearch(s, parsed.key);
    } catch (e) {
      // past an implementation limit (RFC 5530): the search is valid, just more than we run
      if (e instanceof ProtocolError && e.code === "LIMIT") return no(e.message, "LIMIT");
      throw e;
    }
    const results = cmd.uid ? uids : uids.map((u) => sel.seqOf(u));
    const ret = parsed.ret;
    if (ret?.save) sel.saved = new Set(uids);
    const condstore = parsed.key && JSON.stringify(parsed.key, (_k, v) => (typeof v === "bigint" ? v.toString() : v)).includes('"k":"modseq"');
    const maxMod = () => uids.reduce((m, u) => Math.max(m, sel.flags.get(u)?.modseq ?? 0), Math.max(1, sel.modseq));
    if (ret) {
      const onlySave = ret.save && !ret.min && !ret.max && !ret.all && !ret.count;
      if (!onlySave) {
        const none = !ret.min && !ret.max && !ret.count && !ret.all;
        const parts: string[] = [];
        if (ret.min && results.length) parts.push(`MIN ${results[0]}`);
        if (ret.max && results.length) parts.push(`MAX ${results[results.length - 1]}`);
        if ((ret.all || none) && results.length) parts.push(`ALL ${uidsToSet(results)}`);
        if (ret.count) parts.push(`COUNT ${results.length}`);
        if (condstore && results.length) parts.push(`MODSEQ ${maxMod()}`);
        s.out.line(`* ESEARCH (TAG "${cmd.tag}")${cmd.uid ? " UID" : ""}${parts.length ? " " + parts.join(" ") : ""}`);
      }
    } else {
      s.out.line(`* SEARCH${results.map((n) => " " + n).join("")}${condstore && results.length ? ` (MODSEQ ${maxMod()})` : ""}`);
    }
    return ok(`${cmd.uid ? "UID " : ""}SEARCH completed`);
  },
};
