'use strict';
// The typings (index.d.ts, near.d.ts) compile an example that uses every
// kind of call (examples/node/typed.ts) with `tsc --noEmit --strict`, and
// refuse the misuses it marks with @ts-expect-error. TypeScript and Node's
// types come from the npm registry, pinned by kv/node/package-lock.json.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const modules = path.resolve(process.env.SHMKV_NODE_MODULES);
const tsc = path.join(modules, 'typescript', 'bin', 'tsc');
const example = path.resolve(process.env.SHMKV_TYPED_EXAMPLE);
const shmkv = process.env.SHMKV_NODE_MODULE;

test('the example compiles against index.d.ts and near.d.ts with tsc --noEmit --strict', (t) => {
  assert.ok(fs.existsSync(tsc), `${tsc} is missing: run npm ci in kv/node (bash tools/setup.sh does)`);
  const dir = fs.mkdtempSync(path.join(process.env.TEST_TMPDIR || os.tmpdir(), 'typings.'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      target: 'es2022',
      module: 'commonjs',
      types: ['node'],
      typeRoots: [path.join(modules, '@types')],
      baseUrl: dir,
      paths: { 'shmkv': [path.join(shmkv, 'index.d.ts')], 'shmkv/near': [path.join(shmkv, 'near.d.ts')] },
    },
    files: [example],
  }));
  const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});
