/**
 * PNG output for `parsimony plot`: the SVG figure drawn by headless Chromium and captured at its
 * own size. Chromium is driven by puppeteer-core, a development dependency loaded only here: when
 * it or a Chromium build is missing, the error names what to install.
 */
import { existsSync } from 'node:fs';
import { BackendUnsupportedError } from '../core/errors.js';

const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function chromiumPath(): string {
  const fromEnv = process.env.PARSIMONY_CHROMIUM;
  if (fromEnv) {
    if (!existsSync(fromEnv))
      throw new BackendUnsupportedError(`PNG output: PARSIMONY_CHROMIUM=${fromEnv} does not exist`);
    return fromEnv;
  }
  const found = CHROMIUM_PATHS.find((p) => existsSync(p));
  if (!found)
    throw new BackendUnsupportedError(
      'PNG output needs Chromium: install it (Debian: apt-get install chromium) or set PARSIMONY_CHROMIUM to its path, or write .svg or .html',
    );
  return found;
}

/** The SVG document (as `renderSvg` writes it, with width and height) as PNG bytes. */
export async function svgToPng(svg: string): Promise<Buffer> {
  const width = Number(/<svg[^>]*\swidth="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? 800);
  const height = Number(/<svg[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? 600);
  let launch: typeof import('puppeteer-core').launch;
  try {
    ({ launch } = await import('puppeteer-core'));
  } catch (error) {
    throw new BackendUnsupportedError(
      'PNG output needs the npm package puppeteer-core (npm install puppeteer-core) and Chromium, or write .svg or .html',
      { cause: error },
    );
  }
  const browser = await launch({
    executablePath: chromiumPath(),
    headless: true,
    // Chromium's sandbox needs an unprivileged user; as root it cannot start with it.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: Math.ceil(width), height: Math.ceil(height) });
    // No script runs and nothing is fetched: the SVG is drawn from the string alone.
    await page.setJavaScriptEnabled(false);
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`, {
      waitUntil: 'load',
    });
    const png = await page.screenshot({
      type: 'png',
      clip: { x: 0, y: 0, width: Math.ceil(width), height: Math.ceil(height) },
    });
    return Buffer.from(png);
  } finally {
    await browser.close();
  }
}
