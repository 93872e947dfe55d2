/**
 * cyclonus, the NetworkPolicy analyser (built by scripts/toolchain.sh), run on a model of a
 * cluster: namespaces with their labels, pods with labels, addresses and served ports, and the
 * policies. Used on the model a stack declares (test/components/services/isolation.test.ts) and on
 * what a live cluster holds (test/cluster/node.test.ts prints its verdicts beside real connections).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../../tools/pulumiCli";

export interface ModelPod { Namespace: string; Name: string; Labels: Record<string, string>; IP: string; Containers: { Name: string; Port: number; Protocol: string; PortName: string }[] }
export interface Model { namespaces: Record<string, Record<string, string>>; pods: ModelPod[]; policies: Record<string, unknown>[] }
export interface Probe { Port: number; Protocol: string }
/** Per probe: from -> to -> "." (allowed), "X" (blocked) or "N" (the port is not served). */
export type Table = Map<string, Map<string, string>>;

export const BUILD_COMMAND = "bash scripts/toolchain.sh cyclonus";

export function cyclonusBinary(): string {
  const bin = execFileSync("bash", [path.join(REPO_ROOT, "scripts", "toolchain.sh"), "--bin-dir"], { encoding: "utf8" }).trim();
  const binary = path.join(bin, "cyclonus");
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: build it with \`${BUILD_COMMAND}\` (npm test does this before mocha)`);
  return binary;
}

/** A model pod serving `ports` (TCP unless said), or a placeholder port when it serves none. */
export function modelPod(namespace: string, name: string, labels: Record<string, string>, ip: string, ports: { port: number; protocol?: string }[]): ModelPod {
  return {
    Namespace: namespace, Name: name, Labels: labels, IP: ip,
    Containers: (ports.length ? ports : [{ port: 1 }]).map((p, i) => modelContainer(`c${i}`, p.port, p.protocol)),
  };
}

/** One served port of a model pod. */
export function modelContainer(name: string, port: number, protocol = "TCP"): ModelPod["Containers"][number] {
  return { Name: name, Port: port, Protocol: protocol, PortName: `p${port}` };
}

/** cyclonus' verdict tables, one per probe, in the probes' order. */
export function analyse(m: Model, probes: readonly Probe[], binary = cyclonusBinary()): Table[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stx-cyclonus-"));
  const policyDir = path.join(dir, "policies");
  fs.mkdirSync(policyDir);
  fs.writeFileSync(path.join(policyDir, "policies.json"), JSON.stringify({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicyList", items: m.policies }));
  fs.writeFileSync(path.join(dir, "model.json"), JSON.stringify({ Resources: { Namespaces: m.namespaces, Pods: m.pods }, Probes: probes }));
  const stdout = execFileSync(binary, ["analyze", "--mode", "probe", "--policy-path", policyDir, "--probe-path", path.join(dir, "model.json")], {
    encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "ignore"],
  });
  if (process.env.STX_KEEP_CYCLONUS) fs.writeFileSync(path.join(dir, "stdout.txt"), stdout); else fs.rmSync(dir, { recursive: true, force: true });
  const tables = parseCombined(stdout, probes.length);
  if (tables.length !== probes.length) throw new Error(`cyclonus printed ${tables.length} tables for ${probes.length} probes`);
  return tables;
}

/** Each probe's "Combined" table. */
function parseCombined(stdout: string, count: number): Table[] {
  const sections = stdout.split("Combined:\n").slice(1, count + 1);
  return sections.map((section) => {
    const lines = section.split("\n");
    const end = lines.findIndex((l) => !/^[|+]/.test(l));
    const rows = lines.slice(0, end).filter((l) => l.startsWith("|")).map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
    const body = rows.slice(1);
    const names = body.map((r) => r[0]);
    return new Map(body.map((r) => [r[0], new Map(names.map((n, i) => [n, r[i + 1]]))]));
  });
}
