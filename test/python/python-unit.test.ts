// The Python side's own unit tests (framing, the potassium API, the model process against a
// stand-in for kalium written in Python), run with the standard library's unittest.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { delimiter, resolve } from 'node:path';

test('python3 -m unittest: the Python package’s tests pass', (t) => {
  const run = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', resolve('test/python/py'), '-v'], {
    env: { ...process.env, PYTHONPATH: [resolve('libs/python'), process.env.PYTHONPATH].filter(Boolean).join(delimiter), PYTHONDONTWRITEBYTECODE: '1' },
    encoding: 'utf8',
    timeout: 90_000,
  });
  t.log(run.stderr.split('\n').filter((line) => /\.\.\. (ok|FAIL|ERROR)/.test(line)).length, 'Python tests ran');
  t.is(run.status, 0, run.stderr);
  t.regex(run.stderr, /Ran (1[5-9]|[2-9]\d) tests/);
  t.regex(run.stderr, /\nOK\n/);
});
