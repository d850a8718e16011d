/** The command table: each command lives in its own module and declares its states. */
import { append } from "./append.ts";
import { authenticate } from "./authenticate.ts";
import { capability } from "./capability.ts";
import { close } from "./close.ts";
import { copy } from "./copy.ts";
import { enable } from "./enable.ts";
import { expunge } from "./expunge.ts";
import { fetch } from "./fetch.ts";
import { id } from "./id.ts";
import { idle } from "./idle.ts";
import { list } from "./list.ts";
import { loginCommand } from "./login.ts";
import { logout } from "./logout.ts";
import { mailboxAdmin } from "./mailbox-admin.ts";
import { namespace } from "./namespace.ts";
import { noop } from "./noop.ts";
import type { CommandSpec } from "./result.ts";
import { search } from "./search.ts";
import { select } from "./select.ts";
import { starttls } from "./starttls.ts";
import { status } from "./status.ts";
import { store } from "./store.ts";
import { subscribe } from "./subscribe.ts";

export type { CommandEvent, CommandSpec } from "./result.ts";

const ALL: CommandSpec[] = [
  append, authenticate, capability, close, copy, enable, expunge, fetch, id, idle, list, loginCommand, logout,
  mailboxAdmin, namespace, noop, search, select, starttls, status, store, subscribe,
];

export const COMMANDS = new Map<string, CommandSpec>();
for (const spec of ALL) for (const name of spec.names) COMMANDS.set(name, spec);
