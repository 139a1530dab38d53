// Makes the test control plane (listening on the root namespace's loopback) reachable from the lab's namespaces: a
// TCP relay on an address the lab created on its host-side veth, passing TLS through untouched. The speakers'
// kubeconfig names that address and keeps verifying the apiserver's certificate as `localhost`. Closing the relay
// (and every connection through it) is an apiserver outage as the nodes see it, without touching the control plane.
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export class ApiserverProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private readonly listenHost: string;
  private readonly port: number;
  private readonly target: URL;

  constructor(listenHost: string, port: number, target: URL) {
    this.listenHost = listenHost;
    this.port = port;
    this.target = target;
  }

  /** Writes a kubeconfig like `source` but pointing at this relay. */
  static async kubeconfigFor(sourcePath: string, host: string, port: number, path: string): Promise<void> {
    const kc = new KubeConfig();
    kc.loadFromFile(sourcePath);
    const config = JSON.parse(kc.exportConfig()) as { clusters: Array<{ cluster: Record<string, unknown> }> };
    for (const { cluster } of config.clusters) {
      cluster.server = `https://${host}:${port}`;
      // The serving certificate names localhost and 127.0.0.1, not the lab's address.
      cluster['tls-server-name'] = 'localhost';
    }
    await writeFile(path, JSON.stringify(config), { mode: 0o600 });
  }

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, this.listenHost, () => resolve());
    });
  }

  /** Refuses new connections and cuts the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
