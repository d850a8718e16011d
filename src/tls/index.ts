export { createSelfSigned, ensureSelfSigned, writeSelfSigned, type SelfSigned, type TlsFiles } from "./selfsigned.ts";
export { createTlsServer, normSerial, readTlsPair, TlsContextStore, TlsFileError, upgradeToTls, type TlsLog } from "./context.ts";
export { configuredTls } from "./configured.ts";
