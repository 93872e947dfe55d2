/**
 * A TCP forwarder run as its own process by the cluster tests:
 *   node tcpForward.js LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT
 * Lets processes in a network namespace reach the API server, which listens on loopback only.
 * Its own process, so the tests' synchronous kubectl calls never stall the connections.
 */
import * as net from "net";

const [listenHost, listenPort, targetHost, targetPort] = process.argv.slice(2);
if (!listenHost || !listenPort || !targetHost || !targetPort) {
  console.error("usage: tcpForward.js LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT");
  process.exit(2);
}
net.createServer((client) => {
  const upstream = net.connect(Number(targetPort), targetHost);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close);
  upstream.on("error", close);
}).listen(Number(listenPort), listenHost, () => console.log(`forwarding ${listenHost}:${listenPort} to ${targetHost}:${targetPort}`));
