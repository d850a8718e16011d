import { runtimeName, runtimeVersion } from "../runtime/runtime.ts";
import { VERSION } from "../version.ts";
import { print } from "./context.ts";

export const help = "quarantined version: prints the version and the runtime";

export async function run(): Promise<number> {
  print(`quarantined ${VERSION} (${runtimeName} ${runtimeVersion})`);
  return 0;
}
