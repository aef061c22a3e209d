// Label and field selectors as the API server accepts them in list and watch queries.
import { badRequest } from './errors.js';
import type { KObj } from './util.js';
import { getDotted } from './util.js';

type LabelReq =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string };

/** Splits on commas that are not inside `( … )`. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

export function parseLabelSelector(sel: string): LabelReq[] {
  return splitTop(sel).map((term) => {
    let m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (m) {
      const values = m[3]!.split(',').map((v) => v.trim()).filter(Boolean);
      return { op: m[2] as 'in' | 'notin', key: m[1]!, values };
    }
    m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
    m = /^!\s*(\S+)$/.exec(term);
    if (m) return { op: 'notexists', key: m[1]! };
    if (/^[^\s!=(),]+$/.test(term)) return { op: 'exists', key: term };
    throw badRequest(`unable to parse requirement: invalid label selector "${sel}"`);
  });
}

export function matchLabels(labels: Record<string, string> | undefined, reqs: LabelReq[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'eq':
        return has && v === r.value;
      case 'neq':
        return !has || v !== r.value;
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}

type FieldReq = { path: string; value: string; negate: boolean };

/** Field selectors: `a.b=x`, `a.b==x`, `a.b!=x`, joined by commas; any dotted path of the object. */
export function parseFieldSelector(sel: string): FieldReq[] {
  return splitTop(sel).map((term) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: "${term}"`);
    return { path: m[1]!.trim(), value: m[3]!.trim(), negate: m[2] === '!=' };
  });
}

export function matchFields(obj: KObj, reqs: FieldReq[]): boolean {
  return reqs.every((r) => {
    const raw = getDotted(obj, r.path);
    const v = raw === undefined || raw === null ? '' : String(raw);
    return r.negate ? v !== r.value : v === r.value;
  });
}

/** Builds a predicate from the two query parameters (either may be absent). */
export function objectFilter(labelSelector?: string | null, fieldSelector?: string | null): (o: KObj) => boolean {
  const lr = labelSelector ? parseLabelSelector(labelSelector) : [];
  const fr = fieldSelector ? parseFieldSelector(fieldSelector) : [];
  return (o) => matchLabels(o.metadata.labels, lr) && matchFields(o, fr);
}
