import { astring } from "../protocol/index.ts";
import { login } from "../session/login.ts";
import { expectArgs, no, type CommandSpec } from "./result.ts";

/** LOGIN user password: refused before TLS (LOGINDISABLED is advertised there). */
export const loginCommand: CommandSpec = {
  names: ["LOGIN"],
  states: ["notauth"],
  async run(s, cmd) {
    expectArgs(cmd, 2);
    if (!s.secure) return no("Log in over TLS (STARTTLS first)", "PRIVACYREQUIRED");
    return login(s, astring(cmd.args[0]), astring(cmd.args[1]), "LOGIN");
  },
};
