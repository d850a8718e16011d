import { astring } from "../protocol/index.ts";
import { expectArgs, ok, type CommandSpec } from "./result.ts";

const SUPPORTED = new Set(["CONDSTORE", "QRESYNC"]);

/** ENABLE (RFC 5161): CONDSTORE and QRESYNC (which implies CONDSTORE). */
export const enable: CommandSpec = {
  names: ["ENABLE"],
  states: ["auth", "selected"],
  async run(s, cmd) {
    expectArgs(cmd, 1, 20);
    const now: string[] = [];
    for (const t of cmd.args) {
      const cap = astring(t).toUpperCase();
      if (!SUPPORTED.has(cap) || s.enabled.has(cap)) continue;
      s.enabled.add(cap);
      now.push(cap);
      if (cap === "QRESYNC" && !s.enabled.has("CONDSTORE")) s.enabled.add("CONDSTORE");
    }
    s.out.line(`* ENABLED${now.map((c) => " " + c).join("")}`);
    return ok("ENABLE completed");
  },
};
