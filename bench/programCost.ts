/**
 * One measurement, run in a child process of its own so its peak memory is its own: the program
 * under Pulumi's mocks for a stack file with `size` users and `size` project branches.
 * Prints one JSON line: { stack, size, tenants, resources, wallMs, peakRssMiB }.
 */
import { performance } from "perf_hooks";
import { runProgram, stackFileConfig } from "../tools/mockedProgram";

/** The stack file with `size` users and `size` project branches (two per project). */
export function syntheticConfig(stack: string, size: number): Record<string, unknown> {
  const users = Array.from({ length: size }, (_, i) => ({ name: `user${i}` }));
  const projects = Array.from({ length: Math.ceil(size / 2) }, (_, p) => {
    const maintainers = [`user${p}`];
    // minikube builds images with privileged docker-in-docker, as its stack file's branch does.
    const podSecurity = stack === "minikube" ? { podSecurity: "privileged" } : {};
    const branches = [
      // Release-ids may not collide across projects: only the first project's master publishes as "master".
      { name: "master", schedule: "0 1 * * *", maintainers, ...podSecurity, ...(p === 0 ? {} : { releaseId: `feature/project${p}-master` }) },
      { name: `r/stx.${p}.0`, maintainers, ...podSecurity },
    ];
    return {
      name: `project${p}`,
      manifestUrl: "https://opendev.org/starlingx/manifest.git",
      branches: branches.slice(0, Math.min(2, size - 2 * p)),
    };
  });
  return { ...stackFileConfig(stack), users, projects };
}

async function main(): Promise<void> {
  const [stack, sizeText] = process.argv.slice(2);
  const size = Number(sizeText);
  const config = syntheticConfig(stack, size);
  const started = performance.now();
  const run = await runProgram(stack, config);
  const wallMs = performance.now() - started;
  const tenants = run.ofType("stx:tenancy:TenantNamespace").length;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ stack, size, tenants, resources: run.resources.length, wallMs, peakRssMiB }));
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
