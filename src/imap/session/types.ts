import type { CredentialCache } from "../../auth/credential-cache.ts";
import type { Config } from "../../config/index.ts";
import type { Mailbox } from "../../quarantine/mailbox.ts";
import type { Store } from "../../storage/db.ts";
import type { TlsContextStore } from "../../tls/index.ts";
import type { ChangeNotifier } from "./notifier.ts";
import type { LoginThrottle } from "./throttle.ts";
import type { ViewCache } from "./view-cache.ts";
import type { SearchFactCache } from "../search/cache.ts";
import type { ListingCache } from "../fetch/listing-cache.ts";
import type { LiteralBudget } from "./literal-budget.ts";

/** What every session of a server shares. */
export interface SessionDeps {
  config: Config;
  store: Store;
  mailbox: Mailbox;
  tls: TlsContextStore;
  credentials: CredentialCache;
  notifier: ChangeNotifier;
  throttle: LoginThrottle;
  views: ViewCache;
  searchFacts: SearchFactCache;
  listings: ListingCache;
  /** memory for APPEND literals, all sessions together */
  literals: LiteralBudget;
  /** UIDVALIDITY base of this database */
  uidValidityBase: number;
  /** called after an action queued work (delivery, training) */
  onQueued?: () => void;
}
