/**
 * Kubernetes objects from a file as people have them: multi-document YAML (`demo manifests`, hand
 * edits), or a `kind: List` as `kubectl get -o yaml` prints it. A key that `demo manifests` printed
 * masked (`sk-o…demo`) stands for the configured key it masks.
 */
import { parseAllDocuments } from 'yaml';
import type { DemoConfig } from '../core/config.js';
import { UserError } from '../core/errors.js';
import type { K8sObject } from './k8s-object.js';
import { mapStrings } from '../core/map-strings.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Replaces each configured key's mask (alone or inside text, e.g. `'Bearer sk-o…demo'`) with the key. */
export function unmaskKeys<T>(value: T, cfg: DemoConfig): T {
  const keys = cfg.providers.map((p) => ({ masked: p.key.masked, raw: p.key.reveal() })).filter((k) => k.raw.length > 0 && k.masked !== k.raw);
  return mapStrings(value, (text) => keys.reduce((s, k) => s.split(k.masked).join(k.raw), text));
}

/** Every object of a YAML text, Lists flattened, in order; `source` names the file in errors. */
export function parseObjects(text: string, source: string, cfg: DemoConfig): K8sObject[] {
  const out: K8sObject[] = [];
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  const all = Array.isArray(docs) ? docs : [docs];
  for (const [i, doc] of all.entries()) {
    if (doc.errors.length) throw new UserError(`${source}: document ${i + 1} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, 'fix the YAML, or start again from `demo manifests --reveal-keys`');
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const items = isObject(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
    for (const [j, item] of items.entries()) {
      const where = items.length > 1 ? `document ${i + 1} item ${j + 1}` : `document ${i + 1}`;
      if (!isObject(item) || typeof item.apiVersion !== 'string' || typeof item.kind !== 'string' || !isObject(item.metadata) || typeof item.metadata.name !== 'string') {
        throw new UserError(`${source}: ${where} is not a Kubernetes object (apiVersion, kind and metadata.name are required)`, 'each document needs apiVersion, kind and metadata.name, as `demo manifests` prints them');
      }
      out.push(unmaskKeys(item as K8sObject, cfg));
    }
  }
  if (!out.length) throw new UserError(`${source} holds no objects`, 'give the output of `demo manifests --reveal-keys` or of `kubectl get … -o yaml`');
  return out;
}
