/**
 * Every relative link in the docs (README.md, docs/*.md, the rooms' README.md under cli/ and tools/)
 * resolves: to a file or folder of this checkout and, for `#anchor`, to a heading of the Markdown file it
 * names, by GitHub's slugs. Links with a scheme (https:, mailto:) are not followed; code is not read.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** The Markdown files the links of which must hold. */
function docFiles(): string[] {
  const files = ['README.md', 'cli/README.md'];
  for (const f of readdirSync(join(ROOT, 'docs'))) if (f.endsWith('.md')) files.push(`docs/${f}`);
  for (const d of readdirSync(join(ROOT, 'tools'))) if (existsSync(join(ROOT, 'tools', d, 'README.md'))) files.push(`tools/${d}/README.md`);
  return files.filter((f) => existsSync(join(ROOT, f)));
}

/** The text outside fenced code blocks and inline code, where links and headings live. */
function prose(md: string): string {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of md.split('\n')) {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (!fence) fence = m[1]![0];
      else if (m[1]![0] === fence) fence = undefined;
      out.push('');
      continue;
    }
    out.push(fence ? '' : line.replace(/`[^`\n]*`/g, (c) => (c.includes('](') ? '' : c)));
  }
  return out.join('\n');
}

/** Inline links and images: `[text](target)`, `![alt](target "title")`. */
function links(md: string): string[] {
  return [...prose(md).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings, with GitHub's `-1`, `-2` for repeats. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(md).split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** What is wrong with each relative link of `file` (a path from the root), given the files' contents. */
function brokenLinks(file: string, md: string, read: (path: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const target of links(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [rawPath, anchor] = target.split('#', 2) as [string, string | undefined];
    const path = rawPath ? relative(ROOT, resolve(ROOT, dirname(file), decodeURIComponent(rawPath))) : file;
    if (path.startsWith('..')) {
      problems.push(`${file}: ${target} leaves the checkout`);
      continue;
    }
    const text = read(path);
    if (text === undefined) {
      problems.push(`${file}: ${target} → ${path} does not exist`);
      continue;
    }
    if (anchor && path.endsWith('.md') && !anchors(text).has(anchor)) problems.push(`${file}: ${target} → no heading #${anchor} in ${path}`);
  }
  return problems;
}

function readFromDisk(path: string): string | undefined {
  const abs = join(ROOT, path);
  if (!existsSync(abs)) return undefined;
  return statSync(abs).isDirectory() ? '' : readFileSync(abs, 'utf8');
}

describe('the docs link checker', () => {
  it('makes the anchors GitHub makes', () => {
    expect(slug('Aggregation, with a fenced lock')).toBe('aggregation-with-a-fenced-lock');
    expect(slug('The public delisting notice (摘牌公示)')).toBe('the-public-delisting-notice-摘牌公示');
    expect(slug('Access (IAM): derived from the code')).toBe('access-iam-derived-from-the-code');
    expect(slug('1. SQS FIFO: per message group and per queue')).toBe('1-sqs-fifo-per-message-group-and-per-queue');
    expect(slug('What `npm test` runs')).toBe('what-npm-test-runs');
    expect(slug("The season's schedules")).toBe('the-seasons-schedules');
  });

  it('finds a missing file, a missing heading and a link out of the checkout, and lets the rest pass', () => {
    const files: Record<string, string> = {
      'docs/a.md': '# A\n\n## Two words\n\n## Two words\n',
      'docs/b.md': [
        '[ok](a.md#two-words) [repeat](a.md#two-words-1) [self](#b) ![img](../README.md) [web](https://example.com/x.md#nope)',
        '[gone](missing.md) [no heading](a.md#three-words) [out](../../elsewhere.md)',
        '`[code](not-a-link.md)`',
        '```',
        '[fenced](also-not-a-link.md)',
        '```',
        '# B',
      ].join('\n'),
      'README.md': '# R',
    };
    expect(brokenLinks('docs/b.md', files['docs/b.md']!, (p) => files[p])).toEqual([
      'docs/b.md: missing.md → docs/missing.md does not exist',
      'docs/b.md: a.md#three-words → no heading #three-words in docs/a.md',
      'docs/b.md: ../../elsewhere.md leaves the checkout',
    ]);
  });
});

describe('every relative link in the docs resolves', () => {
  const files = docFiles();

  it('reads the README, every docs/*.md and the rooms under cli/ and tools/', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/operations.md', 'tools/local/README.md']));
  });

  it.each(files)('%s', (file) => {
    expect(brokenLinks(file, readFileSync(join(ROOT, file), 'utf8'), readFromDisk)).toEqual([]);
  });
});
