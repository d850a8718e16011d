import { VERSION } from "../../version.ts";
import { ok, type CommandSpec } from "./result.ts";

/** ID (RFC 2971): our name and version; the client's list is accepted and ignored. */
export const id: CommandSpec = {
  names: ["ID"],
  states: ["notauth", "auth", "selected"],
  async run(s) {
    s.out.line(`* ID ("name" "quarantined" "version" "${VERSION}")`);
    return ok("ID completed");
  },
};
