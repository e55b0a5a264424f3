import { composeConfig } from '../helpers/compose-file.ts';
import { prepareInitProject } from './init-project.ts';
import { ComposeProject } from './project.ts';
import { until } from './shell.ts';

// What `npm run test:compose` checks, in order, against the stack docker-compose.yml brings up. Each
// check is independent in its verdict; a later one that needs an earlier one's result fails with it.

interface Context {
  project: ComposeProject;
  apiUrl: string;
  check(name: string, body: () => Promise<void>): Promise<void>;
  timed<T>(what: string, body: () => Promise<T>): Promise<T>;
}

const SERVICES = ['redis', 'api', 'worker', 'webhook-receiver'];
const KALIUM_SERVICES = ['api', 'worker', 'webhook-receiver'];

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

interface JobBody {
  status: string;
  result?: unknown;
  webhook?: { state: string; attempts: number; last_status: number | null } | null;
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${response.status}, not JSON: ${text.slice(0, 500)}`);
  }
}

export async function composeChecks({ project, apiUrl, check, timed }: Context): Promise<void> {
  await check('docker-compose.yml builds its image (docker-compose build, through the Docker API)', async () => {
    await timed('build', () => project.mustCompose(['build'], true));
  });

  await check('the built image is in Docker format with its HEALTHCHECK, runs as the node user under tini', async () => {
    const [image] = JSON.parse(await project.podman(['image', 'inspect', 'kalium:local'])) as Array<{
      ManifestType?: string;
      Healthcheck?: { Test?: string[] } | null;
      Config?: { User?: string; Entrypoint?: string[] };
    }>;
    assert(image, 'podman has no kalium:local');
    // The OCI format has no HEALTHCHECK: a build in it drops the Dockerfile's health check.
    assert(image.ManifestType?.includes('docker'), `the image is ${image.ManifestType}`);
    assert(image.Healthcheck?.Test?.join(' ').includes('healthcheck.mjs'), `no HEALTHCHECK in the image: ${JSON.stringify(image.Healthcheck)}`);
    assert(image.Config?.User === 'node', `the image runs as ${image.Config?.User}`);
    assert(image.Config?.Entrypoint?.[0] === '/usr/bin/tini', `the entrypoint is ${JSON.stringify(image.Config?.Entrypoint)}`);
  });

  await check('`docker-compose up -d --build` starts the four services, and all four become healthy', async () => {
    await timed('up', () => project.mustCompose(['up', '-d', '--build'], false));
    await timed('up → all healthy', () => project.waitHealthy(SERVICES, 180_000));
  });

  await check('each kalium container has one init: tini is PID 1 and does not warn', async () => {
    for (const service of KALIUM_SERVICES) {
      const id = await project.containerId(service);
      const pid1 = (await project.podman(['exec', id, 'cat', '/proc/1/cmdline'])).split('\0')[0];
      assert(pid1 === '/usr/bin/tini', `${service}: PID 1 is ${pid1}`);
      const logs = await project.logs(service);
      assert(!/Tini is not running as PID 1/.test(logs), `${service} logs tini's warning`);
    }
  });

  await check('a sync call from the host: POST / answers with the example model', async () => {
    const response = await fetch(`${apiUrl}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'I love this wonderful service' }) });
    const body = await json<{ label?: string }>(response);
    assert(response.status === 200 && body.label === 'positive', `${response.status} ${JSON.stringify(body)}`);
  });

  let jobId: string | undefined;
  let result: unknown;
  await check('a background job with X-Webhook-Url: succeeded, its webhook delivered to the receiver and verified', async () => {
    const submitted = await fetch(`${apiUrl}/background`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-url': 'http://webhook-receiver:8001/hook' },
      body: JSON.stringify({ texts: ['What a great day', 'This is terrible'] }),
    });
    const accepted = await json<{ id?: string }>(submitted);
    assert(submitted.status === 202 && accepted.id, `${submitted.status} ${JSON.stringify(accepted)}`);
    const id = accepted.id;
    const job = await until(
      'the job to succeed with its webhook delivered',
      async () => {
        const body = await json<JobBody>(await fetch(`${apiUrl}/jobs/${id}?wait=10`));
        if (['failed', 'canceled'].includes(body.status)) throw new Error(`the job ended ${JSON.stringify(body)}`);
        return body.status === 'succeeded' && body.webhook?.state === 'delivered' ? body : undefined;
      },
      60_000,
    );
    assert(job.webhook?.last_status === 204, `webhook ${JSON.stringify(job.webhook)}`);
    const receiverLog = await until('the receiver to log the delivery', async () => {
      const line = (await project.logs('webhook-receiver')).split('\n').find((l) => l.includes('"webhook received"') && l.includes(id));
      return line ? (JSON.parse(line) as { verified?: boolean; event?: string }) : undefined;
    }, 30_000);
    assert(receiverLog.event === 'succeeded' && receiverLog.verified === true, `receiver logged ${JSON.stringify(receiverLog)}`);
    jobId = id;
    result = job.result;
  });

  await check('Redis restarted: the job and its result are still there (AOF on the volume)', async () => {
    assert(jobId, 'no job from the check before');
    await project.mustCompose(['restart', 'redis']);
    await project.waitHealthy(['redis'], 60_000);
    const body = await until('the api to read the job again', async () => {
      const response = await fetch(`${apiUrl}/jobs/${jobId}`);
      return response.status === 200 ? json<JobBody>(response) : undefined;
    }, 60_000);
    assert(body.status === 'succeeded', `after the restart: ${JSON.stringify(body)}`);
    assert(JSON.stringify(body.result) === JSON.stringify(result), `the result changed: ${JSON.stringify(body.result)}`);
  });

  await check('`docker-compose stop`: each kalium service shuts down on SIGTERM by itself (exit 0), none is killed', async () => {
    const ids = await Promise.all(KALIUM_SERVICES.map((service) => project.containerId(service)));
    await timed('stop', () => project.mustCompose(['stop']));
    for (const [index, id] of ids.entries()) {
      const [code, oomKilled] = (await project.podman(['inspect', '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}', id])).trim().split(' ');
      assert(code === '0' && oomKilled === 'false', `${KALIUM_SERVICES[index]} exited ${code} (137 is SIGKILL: the grace period ran out)`);
    }
  });

  await check('`docker-compose down -v` leaves no container, network or volume behind', async () => {
    await timed('down -v', () => project.mustCompose(['down', '-v']));
    const left = await project.leftovers();
    assert(left.length === 0, `left behind: ${left.join(', ')}`);
  });

  await check('docker/compose.gpu.yml over docker-compose.yml: valid, one worker with KALIUM_DEVICES and those GPUs reserved', async () => {
    const gpu = new ComposeProject(project.name, project.root, project.env, ['docker-compose.yml', 'docker/compose.gpu.yml']);
    await gpu.mustCompose(['config', '-q']);
    const { services } = composeConfig(['docker-compose.yml', 'docker/compose.gpu.yml']);
    const devices = services.worker?.deploy?.resources?.reservations?.devices ?? [];
    const ids = devices.flatMap((d) => (d.device_ids as string[] | undefined) ?? []);
    const listed = (services.worker?.environment?.KALIUM_DEVICES ?? '').split(',');
    assert(ids.length > 0 && ids.length === listed.length, `device_ids ${JSON.stringify(ids)} vs KALIUM_DEVICES ${JSON.stringify(listed)}`);
  });

  await check("kalium init's project (its Dockerfile and compose file derived from these) builds, becomes healthy and serves its app", async () => {
    const init = await timed('kalium init project: init, pack, lock', () => prepareInitProject(project.root, project.env));
    try {
      await timed('kalium init project: up --build', () => init.project.mustCompose(['up', '-d', '--build']));
      await timed('kalium init project: up → healthy', () => init.project.waitHealthy(['redis', 'api', 'worker'], 180_000));
      const sync = await fetch(`${init.apiUrl}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'I love it' }) });
      const scored = await json<{ score?: unknown }>(sync);
      assert(sync.status === 200 && typeof scored.score === 'number', `POST /: ${sync.status} ${JSON.stringify(scored)}`);
      const submitted = await fetch(`${init.apiUrl}/background`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['great', 'awful'] }) });
      const { id } = await json<{ id?: string }>(submitted);
      assert(submitted.status === 202 && id, `POST /background: ${submitted.status}`);
      const job = await until('the project job to end', async () => {
        const body = await json<JobBody>(await fetch(`${init.apiUrl}/jobs/${id}?wait=10`));
        return ['succeeded', 'failed', 'canceled'].includes(body.status) ? body : undefined;
      }, 60_000);
      assert(job.status === 'succeeded', `the job: ${JSON.stringify(job)}`);
      await init.project.mustCompose(['down', '-v']);
      const left = await init.project.leftovers();
      assert(left.length === 0, `left behind: ${left.join(', ')}`);
    } finally {
      await init.project.compose(['down', '-v']);
      init.dispose();
    }
  });
}
