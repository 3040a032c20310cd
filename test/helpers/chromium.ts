import { existsSync } from 'node:fs';

/** Debian's chromium, or PARSIMONY_CHROMIUM; tests that need it fail under CI=true when it is missing. */
export const CHROMIUM_PATH = process.env.PARSIMONY_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_AVAILABLE = existsSync(CHROMIUM_PATH);
if (!CHROMIUM_AVAILABLE && process.env.CI === 'true')
  throw new Error(`${CHROMIUM_PATH} is missing: .ci/run installs the Debian package chromium`);
