/**
 * What `npm test` needs besides node_modules, brought by `npm test` itself (its script runs this first,
 * with the Node 24 of node_modules/.bin), so that the README's two commands are the whole set-up:
 *
 *  - Chromium, for the page tests: Debian's `chromium` at RENEWAL_CHROMIUM (default /usr/bin/chromium,
 *    as test/support/browser.ts reads it), driven by playwright-core, which downloads no browser;
 *  - a CJK font (`fonts-wqy-zenhei`), so that the pages' Chinese lays out in the browser as for readers;
 *  - cfn-lint, for test/infra/cfn-lint.test.ts: the command RENEWAL_CFN_LINT (default `cfn-lint` on PATH).
 *
 * What is missing and Debian packages is installed with one `apt-get update` and one `apt-get install`
 * (the machine is root, Debian's packages are reachable). It prints one line: what it installed, or that
 * everything was there. Whatever it cannot bring makes it exit 1 naming it: a test never skips for want
 * of it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const NODE_MAJOR = 24;
const CHROMIUM = process.env.RENEWAL_CHROMIUM || '/usr/bin/chromium';
const CFN_LINT = process.env.RENEWAL_CFN_LINT || 'cfn-lint';

/** The command's output, or undefined when it cannot run or fails. */
function output(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch {
    return undefined;
  }
}
const firstLine = (cmd: string, args: string[]) =>
  output(cmd, args)
    ?.split('\n')
    .find((l) => l.trim())
    ?.trim();

interface Need {
  /** What the run line and a failure call it. */
  name: string;
  /** Debian's package of it, when there is one (cfn-lint: looked up, Debian releases differ). */
  debian: () => string | undefined;
  /** What was found (a version, a font's name), or undefined when it is missing. */
  find: () => string | undefined;
  /** Why it is missing, said when it stays missing. */
  where: string;
}

/** `pkg` when Debian's package lists (after `apt-get update`) have an installable candidate of it. */
const aptCandidate = (pkg: string) => {
  const candidate = /Candidate:\s*(\S+)/.exec(output('apt-cache', ['policy', pkg]) ?? '')?.[1];
  return candidate && candidate !== '(none)' ? pkg : undefined;
};

const NEEDS: Need[] = [
  {
    name: 'chromium',
    debian: () => 'chromium',
    find: () => (existsSync(CHROMIUM) ? firstLine(CHROMIUM, ['--version'])?.replace(/ built on .*/, '') : undefined),
    where: `no Chromium at ${CHROMIUM}${process.env.RENEWAL_CHROMIUM ? ' (RENEWAL_CHROMIUM)' : ''}`,
  },
  {
    name: 'a CJK font',
    debian: () => 'fonts-wqy-zenhei',
    find: () => firstLine('fc-list', [':lang=zh', 'family'])?.split(',')[0],
    where: 'fontconfig (fc-list) lists no font for :lang=zh',
  },
  {
    name: 'cfn-lint',
    debian: () => aptCandidate('cfn-lint') ?? aptCandidate('python3-cfn-lint'),
    find: () => firstLine(CFN_LINT, ['--version']),
    where: `\`${CFN_LINT} --version\` does not run${process.env.RENEWAL_CFN_LINT ? ' (RENEWAL_CFN_LINT)' : ''}; Debian has no package of it here: install it with pip (pip install cfn-lint)`,
  },
];

function fail(message: string): never {
  process.stderr.write(`prerequisites: ${message}\n`);
  process.exit(1);
}

function apt(args: string[]): void {
  try {
    execFileSync('apt-get', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const tail = (e.stderr || e.message).trim().split('\n').slice(-5).join(' | ');
    fail(`apt-get ${args.filter((a) => !a.startsWith('-')).join(' ')} failed: ${tail}`);
  }
}

const major = Number(process.versions.node.split('.')[0]);
if (major < NODE_MAJOR) {
  fail(
    `this is Node ${process.version}, not the Node ${NODE_MAJOR} of node_modules/.bin/node (package.json's \`node\`, Lambda's nodejs24.x): ` +
      'run `npm ci` (with its install scripts) and then `npm test`',
  );
}

const found = new Map(NEEDS.map((n) => [n, n.find()]));
const missing = NEEDS.filter((n) => !found.get(n));
let installed: string[] = [];
if (missing.length) {
  const names = missing.map((n) => n.name).join(', ');
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) fail(`missing ${names}, and this machine has no apt-get to install them with`);
  if (process.getuid?.() !== 0) fail(`missing ${names}; installing them needs root (apt-get install ${missing.map((n) => n.debian() ?? n.name).join(' ')})`);
  apt(['update', '-qq']);
  const packages = missing.map((n) => n.debian()).filter((p): p is string => p !== undefined);
  if (packages.length) apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  installed = packages;
  for (const n of missing) found.set(n, n.find());
  const still = missing.filter((n) => !found.get(n));
  if (still.length) fail(`cannot bring ${still.map((n) => `${n.name}: ${n.where}`).join('; ')}${packages.length ? ` (after apt-get install ${packages.join(' ')})` : ''}`);
}

const have = `Node ${process.version}, ${NEEDS.map((n) => found.get(n)).join(', ')}`;
process.stdout.write(`prerequisites: ${installed.length ? `installed ${installed.join(', ')} (apt-get); ` : 'everything was there: '}${have}\n`);
