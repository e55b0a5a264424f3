// `kalium python-path`: the directory to put on PYTHONPATH for `python3 app.py` (SPEC §15).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../helpers/kalium-process.ts';

test('kalium python-path prints a directory from which python3 imports potassium and kalium as one package', (t) => {
  const dir = execFileSync(process.execPath, [CLI, 'python-path'], { encoding: 'utf8' }).trim();
  t.true(existsSync(join(dir, 'kalium', '__init__.py')));
  t.true(existsSync(join(dir, 'potassium', '__init__.py')));
  const out = execFileSync('python3', ['-c', 'import kalium, potassium, potassium.store; print(potassium.Potassium is kalium.Potassium, potassium.store.Store is kalium.Store)'], {
    env: { ...process.env, PYTHONPATH: dir, PYTHONDONTWRITEBYTECODE: '1' },
    encoding: 'utf8',
  });
  t.is(out.trim(), 'True True');
});
