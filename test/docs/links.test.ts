/**
 * The documentation holds together: every relative link in README.md and docs/ points at a file that
 * exists and, with a #fragment, at an anchor that exists there (a heading's GitHub slug or an explicit
 * `<a id>`); every hint id the tool prints (README.md#… in src/, hint ids of steps/) maps through
 * render/doc-links.ts to a docs/ page where it names a heading; and the pages that list faults and
 * checks list every one the code has.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CATALOG } from '../../src/checks/doctor/run-doctor.js';
import { FAULTS } from '../../src/model/faults.js';
import { ERA_FAULTS } from '../../src/generations/subscription/faults.js';
import { ERA_CHECKS } from '../../src/checks/subscription/doctor.js';
import { docLink, docPage } from '../../src/render/doc-links.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(root, file), 'utf8');

function walk(dir: string, keep: (f: string) => boolean): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? walk(path, keep) : keep(path) ? [path] : [];
  });
}

const docs = ['README.md', ...walk('docs', (f) => f.endsWith('.md'))];

/** Markdown outside code: fenced blocks dropped, so a `[x](y)` in a shell sample is not a link. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's heading slug: lower case, markup and punctuation dropped (hyphens and underscores kept), spaces → hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

interface Anchors {
  /** Every anchor of the page. */
  all: Set<string>;
  /** Anchors that name a heading: a heading's slug, or an `<a id>` on or right before a heading line. */
  headings: Set<string>;
}

function anchorsOf(file: string): Anchors {
  const lines = prose(read(file)).split('\n');
  const all = new Set<string>();
  const headings = new Set<string>();
  const seen = new Map<string, number>();
  lines.forEach((line, i) => {
    const explicit = [...line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)].map((m) => m[1]!);
    for (const id of explicit) all.add(id);
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      const base = slug(heading[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      const id = n === 0 ? base : `${base}-${n}`;
      all.add(id);
      headings.add(id);
      for (const e of explicit) headings.add(e);
    } else if (explicit.length && line.trim().replace(/<a\s+(?:id|name)="[^"]+"><\/a>/g, '') === '') {
      const next = lines.slice(i + 1).find((l) => l.trim() !== '');
      if (next && /^#{1,6}\s/.test(next)) for (const e of explicit) headings.add(e);
    }
  });
  return { all, headings };
}

/** Every relative link target of a page: markdown links and href attributes. */
function linksOf(file: string): string[] {
  const text = prose(read(file)).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g), ...text.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t));
}

describe('README.md and docs/', () => {
  test('the front page stays short: under ~150 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(150);
  });

  test.each(docs)('%s: every relative link and anchor resolves', (file) => {
    const broken: string[] = [];
    for (const target of linksOf(file)) {
      const [path = '', fragment] = target.split('#');
      const to = path === '' ? file : relative(root, resolve(join(root, dirname(file)), path));
      if (!existsSync(join(root, to))) {
        broken.push(`${target}: no file ${to}`);
        continue;
      }
      if (fragment !== undefined && to.endsWith('.md') && !anchorsOf(to).all.has(fragment)) broken.push(`${target}: no anchor #${fragment} in ${to}`);
    }
    expect(broken).toEqual([]);
  });

  test('README links every docs/ page', () => {
    const linked = new Set(linksOf('README.md').map((t) => t.split('#')[0]));
    for (const page of docs.filter((d) => d !== 'README.md')) expect(linked, page).toContain(page);
  });

  test('the glossary defines the platform\'s parts', () => {
    const readme = read('README.md');
    for (const term of ['MaaS', 'maas-api', 'Kuadrant', 'Authorino', 'Limitador', 'wg-ai-gateway', 'KServe', 'the seed demo', 'prefix-rewrite fix', 'token budget', 'tier']) {
      expect(readme, term).toMatch(new RegExp(`^\\| \\*\\*${term.replace(/[-]/g, '\\-')}\\*\\* \\|`, 'm'));
    }
  });
});

describe('hints the tool prints', () => {
  /** `README.md#id` anywhere in src/ and steps/, and the bare ids steps give as `hint:`. */
  const sources = [...walk('src', (f) => /\.tsx?$/.test(f)), ...walk('steps', (f) => f.endsWith('.ts'))];
  const ids = new Map<string, string>();
  for (const file of sources) {
    const text = read(file);
    for (const m of text.matchAll(/README\.md#([a-z0-9-]+)/g)) ids.set(m[1]!, file);
    for (const m of text.matchAll(/\bhint:\s*'([a-z0-9]+(?:-[a-z0-9]+)+)'/g)) ids.set(m[1]!, file);
  }

  test('there are hints to check (the scan itself works)', () => {
    for (const id of ['doctor-rewrites', 'validate-failures', 'step-gateway', 'faults', 'configuration']) expect([...ids.keys()]).toContain(id);
  });

  test.each([...ids.keys()].sort())('%s lands on a heading of the docs/ page that answers it', (id) => {
    const page = docPage(id);
    expect(page, `no page claims hint ${id} (used in ${ids.get(id)})`).toBeDefined();
    expect(existsSync(join(root, page!)), page).toBe(true);
    expect(anchorsOf(page!).headings.has(id), `#${id} is not a heading in ${page}`).toBe(true);
  });

  test('docLink rewrites README anchors and bare ids, and leaves other text alone', () => {
    expect(docLink('README.md#doctor-rewrites')).toBe('docs/doctor.md#doctor-rewrites');
    expect(docLink('step-gateway')).toBe('docs/commands.md#step-gateway');
    expect(docLink('run `demo doctor --help`; faults are listed in README.md#faults')).toBe('run `demo doctor --help`; faults are listed in docs/faults.md#faults');
    expect(docLink('check the image pull secret, then resume with `demo up`')).toBe('check the image pull secret, then resume with `demo up`');
    expect(docLink('README.md#no-such-page-claims-this')).toBe('README.md#no-such-page-claims-this');
  });
});

describe('pages that list what the code has', () => {
  test('docs/faults.md lists every fault, with the check that finds it', () => {
    const text = read('docs/faults.md');
    for (const f of FAULTS) expect(text, f.name).toMatch(new RegExp(`^\\| \`${f.name}\` \\|.*\\[\`${f.check}\`\\]`, 'm'));
  });

  test('docs/faults.md lists every fault of the subscription era, with the check that finds it', () => {
    const text = read('docs/faults.md').split('<a id="faults-of-the-subscription-era"></a>')[1] ?? '';
    for (const f of ERA_FAULTS) expect(text, f.name).toMatch(new RegExp(`^\\| \`${f.name}\` \\|.*\\| ${f.hop} \\| \\[\`${f.check}\`\\]`, 'm'));
  });

  test('docs/doctor.md lists every check of the subscription era under its category', () => {
    const text = read('docs/doctor.md');
    for (const c of ERA_CHECKS) {
      const section = text.split(`<a id="doctor-subscription-${c.category}"></a>`)[1]?.split(/\n<a id="doctor-/)[0] ?? '';
      expect(section, `${c.id} under ${c.category}`).toContain(`\`${c.id}\``);
    }
  });

  test('docs/doctor.md lists every doctor check under its category', () => {
    const text = read('docs/doctor.md');
    for (const c of CATALOG) {
      const section = text.split(`<a id="doctor-${c.category}"></a>`)[1]?.split(/\n<a id="doctor-(?!rewrite-egress)/)[0] ?? '';
      expect(section, `${c.id} under ${c.category}`).toContain(`\`${c.id}\``);
    }
  });
});
