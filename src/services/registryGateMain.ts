/**
 * Entry point of the registry gate in the cluster: reads its configuration (rules and password
 * digests, from a Secret) from GATE_CONFIG and listens on GATE_PORT. Bundled into one file for a
 * stock node image by `programBundle` (src/retention/bundle.ts).
 */
import * as fs from "fs";
import { GateConfig, startGate } from "./registryGate";

const file = process.env.GATE_CONFIG;
const port = Number(process.env.GATE_PORT);
if (!file || !Number.isInteger(port) || port <= 0) {
  console.error("registry gate: set GATE_CONFIG (a file) and GATE_PORT (a port number)");
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(file, "utf8")) as GateConfig;
const server = startGate(config, port);
server.on("listening", () => console.log(`registry gate on :${port} -> ${config.upstream}, ${config.rules.logins.length} logins`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
