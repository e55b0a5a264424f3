// SPEC §15 in the image: docker/Dockerfile's runtime stage installs python3 with --build-arg PYTHON=true.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const dockerfile = readFileSync(resolve('docker/Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
const runtime = dockerfile.slice(dockerfile.indexOf(' AS runtime'));

test('the runtime stage’s apt-get line adds python3 exactly when PYTHON=true, and PYTHON defaults to false', (t) => {
  t.regex(runtime, /^ARG PYTHON=false$/m);
  const install = /apt-get install -y --no-install-recommends (.+?)\s+&& rm -rf/.exec(runtime)?.[1];
  t.truthy(install);
  // The package list as the RUN line's shell expands it.
  const packages = (python: string) => execFileSync('sh', ['-c', `echo ${install}`], { env: { PYTHON: python }, encoding: 'utf8' }).trim();
  t.is(packages('true'), 'tini python3');
  t.is(packages('false'), 'tini');
  t.is(packages(''), 'tini');
});
