/**
 * `parsimony plot ... --out x.png`: the SVG figure drawn by real headless Chromium (Debian's
 * `chromium`). The PNG is decoded here (zlib + scanline filters) to check its size and that the
 * history's points were drawn in their colour. Skips only when Chromium is missing and CI is not set.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { runCliCaptured } from '../helpers/cli.js';
import { seedSqliteStudy } from '../helpers/seed-study.js';

const CHROMIUM = process.env.PARSIMONY_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true')
  throw new Error(`${CHROMIUM} is missing: .ci/run installs the Debian package chromium`);

/** Width, height and RGBA pixels of an 8-bit RGB or RGBA, non-interlaced PNG. */
function decodePng(png: Buffer): {
  width: number;
  height: number;
  pixel: (x: number, y: number) => number[];
} {
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      assert.ok(channels > 0, `colour type ${data[9]}`);
      assert.equal(data[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= channels ? out[y * stride + i - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= channels ? out[(y - 1) * stride + i - channels] : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const add = [0, a, b, (a + b) >> 1, paeth][filter];
      assert.ok(add !== undefined, `filter ${filter}`);
      out[y * stride + i] = (x + add) & 255;
    }
  }
  return {
    width,
    height,
    pixel: (x, y) => [...out.subarray(y * stride + x * channels, y * stride + x * channels + 3)],
  };
}

describe('parsimony plot --out x.png', { skip: available ? false : `${CHROMIUM} not installed` }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'parsimony-png-'));
  const db = join(dir, 's.db');
  before(async () => {
    await seedSqliteStudy(db, 'demo', { trials: 60, seed: 2 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('draws the SVG figure in Chromium at its own size, with the points in their colour', async () => {
    const svgFile = join(dir, 'h.svg');
    const pngFile = join(dir, 'h.png');
    const args = ['plot', 'history', '--storage', `sqlite:${db}`, '--study', 'demo', '--out'];
    assert.equal((await runCliCaptured([...args, svgFile])).code, 0);
    const r = await runCliCaptured([...args, pngFile]);
    assert.equal(r.code, 0, r.err);
    const svg = readFileSync(svgFile, 'utf8');
    const png = decodePng(readFileSync(pngFile));
    assert.equal(png.width, Number(/width="(\d+)"/.exec(svg)?.[1]), 'PNG width is the SVG width');
    assert.equal(png.height, Number(/height="(\d+)"/.exec(svg)?.[1]), 'PNG height is the SVG height');
    // Count bluish pixels (the points, #5470c6 drawn half transparent, and the legend's square) and white ones.
    let pointPixels = 0;
    let white = 0;
    for (let y = 0; y < png.height; y++)
      for (let x = 0; x < png.width; x++) {
        const [r0, g, b] = png.pixel(x, y);
        if (b - r0 > 40 && b - g > 20) pointPixels++;
        if (r0 === 255 && g === 255 && b === 255) white++;
      }
    // About 60 points of radius 3 (some 28 pixels each) besides the legend's 10 x 10 square.
    assert.ok(pointPixels > 600, `the trial points are drawn: ${pointPixels} pixels`);
    assert.ok(white > (png.width * png.height) / 2, 'on a white background');
  });

  it('names what to install when Chromium is missing, and writes nothing', async () => {
    const before = process.env.PARSIMONY_CHROMIUM;
    process.env.PARSIMONY_CHROMIUM = join(dir, 'no-chromium-here');
    try {
      const out = join(dir, 'never.png');
      const r = await runCliCaptured([
        'plot',
        'history',
        '--storage',
        `sqlite:${db}`,
        '--study',
        'demo',
        '--out',
        out,
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.err, /PARSIMONY_CHROMIUM=.*no-chromium-here does not exist/);
      assert.equal(existsSync(out), false, 'nothing written');
    } finally {
      if (before === undefined) delete process.env.PARSIMONY_CHROMIUM;
      else process.env.PARSIMONY_CHROMIUM = before;
    }
  });
});
