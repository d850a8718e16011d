/**
 * The one place that asks "which runtime is this?". Everything Bun- or Deno-specific
 * goes through here so the rest of the code stays on node:* APIs that both implement.
 */

type DenoLike = { version?: { deno?: string }; addSignalListener?: (s: string, fn: () => void) => void; removeSignalListener?: (s: string, fn: () => void) => void };
type BunLike = { version?: string };

const g = globalThis as unknown as { Bun?: BunLike; Deno?: DenoLike };

export const runtimeName: "bun" | "deno" | "node" =
  g.Bun !== undefined ? "bun" : g.Deno?.version?.deno ? "deno" : "node";

export const runtimeVersion: string =
  runtimeName === "bun" ? String(g.Bun?.version) : runtimeName === "deno" ? String(g.Deno?.version?.deno) : process.version;

/** Bun compiled executables run their code from an in-memory filesystem mounted at /$bunfs/. */
export function isCompiled(): boolean {
  if (runtimeName !== "bun") return false;
  const here = (import.meta as { path?: string }).path ?? import.meta.url;
  return here.includes("/$bunfs/") || here.includes("%24bunfs") || process.execPath.includes("/$bunfs/");
}

export type SignalName = "SIGHUP" | "SIGINT" | "SIGTERM" | "SIGUSR1" | "SIGUSR2";

/**
 * Subscribe to a POSIX signal; returns an unsubscribe function.
 * process.on works on Bun, Node and Deno 2 (Deno maps it to Deno.addSignalListener).
 */
export function onSignal(sig: SignalName, fn: () => void): () => void {
  if (process.platform === "win32" && sig !== "SIGINT") return () => {};
  process.on(sig, fn);
  return () => {
    process.off(sig, fn);
  };
}
