import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../cdk/function.ts';

/**
 * No production module names a season: its dates, its year or its id live in campaigns/*.json only
 * (issue 19). Comments are prose and may cite examples; string literals and code may not.
 */
const ROOTS = ['shared', 'functions', 'cdk', 'cli', 'tools'];
const SEASON = [/20\d\d-\d\d-\d\d/, /renewal-20/];

/** Literals that look like dates and are not a season's: AWS API versions and the date a price list was read. */
const NOT_A_SEASON: { file: string; literal: string; why: string }[] = [
  { file: 'tools/rehearsal/iam.ts', literal: "'2012-10-17'", why: 'the IAM policy language version' },
  { file: 'tools/rehearsal/rehearse.ts', literal: "'2012-10-17'", why: 'the IAM policy language version' },
  { file: 'tools/rehearsal/topology.ts', literal: "'2012-10-17'", why: 'the IAM policy language version' },
  { file: 'tools/rehearsal/gateway-requests.ts', literal: '2015-03-31', why: 'the Lambda Invoke API version in its path' },
  { file: 'tools/rehearsal/gateway-answers.ts', literal: '2010-12-01', why: 'the SES API namespace' },
  { file: 'tools/bench/cost.ts', literal: "'2026-11-29'", why: 'the day the list prices were read' },
];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|mjs)$/.test(name) ? [p] : [];
  });
}

/** The code of a module without its comments (block comments, and `//` comments not inside a URL). */
export function withoutComments(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .split('\n')
    .map((line) => line.replace(/(^|[^:'"`\\])\/\/.*$/, '$1'))
    .join('\n');
}

describe('no season in code', () => {
  it('the comment stripper keeps code and URLs and drops comments', () => {
    expect(withoutComments("const a = 'https://x/y'; // 2024-03-01\n/* renewal-2024 */ b")).toBe("const a = 'https://x/y'; \n                   b");
  });

  const files = ROOTS.flatMap((r) => sources(join(PROJECT_ROOT, r))).map((f) => relative(PROJECT_ROOT, f));
  it('finds the modules', () => expect(files.length).toBeGreaterThan(50));

  it.each(files)('%s names no season date, year-id or campaign id', (file) => {
    let code = withoutComments(readFileSync(join(PROJECT_ROOT, file), 'utf8'));
    for (const ok of NOT_A_SEASON.filter((n) => n.file === file)) code = code.split(ok.literal).join('');
    const hits = code
      .split('\n')
      .map((line, i) => ({ line: i + 1, text: line.trim() }))
      .filter((l) => SEASON.some((re) => re.test(l.text)));
    expect(hits, `${file}: move these into campaigns/*.json (or take them from the campaign)`).toEqual([]);
  });
});
