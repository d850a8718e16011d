export { createSelfSigned, ensureSelfSigned, writeSelfSigned, type SelfSigned, type TlsFiles } from "./selfsigned.ts";
export { createTlsServer, normSerial, TlsContextStore, upgradeToTls, type TlsLog } from "./context.ts";
