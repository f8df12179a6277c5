const path = require('path'); const fs = require('fs'); const os = require('os');
const root = process.cwd();
const { modelJsonTarget } = require(path.join(root, 'out/test/jsonFuzz.js'));
const { Rng } = require(path.join(root, 'out/src/core/util/rng.js'));
const { ProbeScaleError } = require(path.join(root, 'out/src/core/errors.js'));
(async () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'jf-'));
  const [fixture, n, seed, st] = [process.argv[2], +process.argv[3], +(process.argv[4] ?? 1), process.argv[5] === 'st'];
  const t = modelJsonTarget(fixture + (st ? '-st' : ''), path.join(root, 'test/fixtures', fixture), scratch, st);
  const rng = new Rng(seed);
  let ok = 0, refused = 0, slow = 0;
  for (let i = 0; i < n; i++) {
    const { what, bytes } = t.mutate(rng);
    const t0 = performance.now();
    try { await t.read(bytes); ok++; } catch (e) {
      if (e instanceof ProbeScaleError) { refused++; if (refused < 4) console.log('REFUSED', what.slice(0,150), '=>', e.message.slice(0, 300)); }
      else console.log('CRASH', i, what.slice(0, 200), '=>', String(e?.stack).split('\n').slice(0,5).join(' | ').slice(0, 600));
    }
    const ms = performance.now() - t0;
    if (ms > 1000) console.log('SLOW', i, ms.toFixed(0), what.slice(0, 200));
  }
  console.log({ ok, refused });
  fs.rmSync(scratch, { recursive: true });
})();
