import { must, run, until, type RunResult } from './shell.ts';

// The compose project under test, driven through Debian's docker-compose (v1.29, the Python client)
// against podman's Docker API, and looked at through podman itself.

export class ComposeProject {
  constructor(
    readonly name: string,
    readonly root: string,
    /** The engine's environment plus the variables the compose file is run with. */
    readonly env: NodeJS.ProcessEnv,
    readonly files: string[] = ['docker-compose.yml'],
  ) {}

  /** `docker-compose -p <name> -f … <args>`; its output goes through when `echo`. */
  compose(args: string[], echo = false): Promise<RunResult> {
    const fileArgs = this.files.flatMap((file) => ['-f', file]);
    return run('docker-compose', ['--ansi=never', '-p', this.name, ...fileArgs, ...args], { cwd: this.root, env: this.env, echo });
  }

  async mustCompose(args: string[], echo = false): Promise<string> {
    const result = await this.compose(args, echo);
    if (result.code !== 0) throw new Error(`docker-compose ${args.join(' ')} exited ${result.code}:\n${`${result.stdout}\n${result.stderr}`.trim().slice(-3000)}`);
    return result.stdout;
  }

  podman(args: string[]): Promise<string> {
    return must('podman', args, { env: this.env });
  }

  /** The id of the service's (one) container. */
  async containerId(service: string): Promise<string> {
    const id = (await this.mustCompose(['ps', '-q', service])).trim().split('\n')[0];
    if (!id) throw new Error(`no container for the service ${service}`);
    return id;
  }

  /** The service container's health status (`starting`, `healthy`, `unhealthy`, or '' with no health check). */
  async health(service: string): Promise<string> {
    const id = await this.containerId(service);
    return (await this.podman(['inspect', '--format', '{{.State.Health.Status}}', id])).trim();
  }

  /** Waits until every service is `healthy`. */
  async waitHealthy(services: string[], timeoutMs: number): Promise<void> {
    for (const service of services) {
      await until(`${service} to be healthy`, async () => ((await this.health(service)) === 'healthy' ? true : undefined), timeoutMs, 500);
    }
  }

  /** The service's container output (stdout and stderr). */
  async logs(service: string): Promise<string> {
    const result = await run('podman', ['logs', await this.containerId(service)], { env: this.env });
    return `${result.stdout}${result.stderr}`;
  }

  /** Containers, networks and volumes of this project that podman still has. */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.name}`;
    const containers = (await this.podman(['ps', '-a', '--filter', label, '--format', '{{.Names}}'])).split('\n').filter(Boolean);
    const networks = (await this.podman(['network', 'ls', '--format', '{{.Name}}'])).split('\n').filter((n) => n.startsWith(`${this.name}_`));
    const volumes = (await this.podman(['volume', 'ls', '--format', '{{.Name}}'])).split('\n').filter((v) => v.startsWith(`${this.name}_`));
    return [...containers.map((c) => `container ${c}`), ...networks.map((n) => `network ${n}`), ...volumes.map((v) => `volume ${v}`)];
  }
}
