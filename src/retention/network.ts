/**
 * A job's pod is new, and a NetworkPolicy enforcer admits a new pod's address a few seconds after
 * it starts (kube-router: its ipsets follow pod events): until then the shared services refuse it.
 * Found on the real node: the backup Job's first S3 call was refused (ECONNREFUSED) and, with
 * backoffLimit 0, the night's backup was lost. The SDK's own retries (three, within a second) are
 * too short for that window, so each job first waits until its endpoints accept a connection.
 */
import * as net from "net";

/** How long a job waits for its endpoints; the tests' probes wait as long for the same reason. */
export const CONNECT_WAIT_MS = 60_000;

/** host:port of an http(s) URL (the scheme's port when it names none). */
export function endpointOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === "https:" ? 443 : 80;
  return { host: parsed.hostname.replace(/^\[|\]$/g, ""), port };
}

function connects(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (error?: string) => {
      socket.destroy();
      resolve(error);
    };
    socket.setTimeout(timeoutMs, () => done("timeout"));
    socket.once("connect", () => done());
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/**
 * Resolves once every URL's host:port accepts a TCP connection, or when `timeoutMs` has passed
 * (then the job goes on and its first call reports the real error). Logs what it waits for.
 */
export async function waitForEndpoints(
  urls: readonly string[],
  log: (line: string) => void,
  timeoutMs = CONNECT_WAIT_MS,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    const { host, port } = endpointOf(url);
    let reported = false;
    for (;;) {
      const error = await connects(host, port, Math.min(3000, Math.max(deadline - Date.now(), 1)));
      if (!error) break;
      if (!reported) log(`waiting for ${host}:${port} (${error}): a new pod's network policy may not admit it yet`);
      reported = true;
      if (Date.now() >= deadline) {
        log(`still no connection to ${host}:${port} after ${Math.round(timeoutMs / 1000)} s; going on`);
        return false;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (reported) log(`${host}:${port} accepts connections`);
  }
  return true;
}
