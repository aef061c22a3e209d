/**
 * The plan as text: multi-document YAML with a comment per step and per patch (what `demo manifests`
 * prints). Objects the platform owns (MaaS ships the gateway TokenRateLimitPolicy; `up` creates it only
 * where it is absent) are left out, or printed marked as such, so `kubectl apply` of the output cannot
 * overwrite and relabel them.
 */
import { stringify } from 'yaml';
import type { K8sObject } from '../../model/k8s-object.js';
import { APPLY_MODE_ANNOTATION } from '../../model/k8s-object.js';
import type { RenderedStep } from '../../manifests/render.js';

/** Created only where it is absent: the platform usually ships its own. */
export function isPlatformOwned(obj: K8sObject): boolean {
  return obj.metadata.annotations?.[APPLY_MODE_ANNOTATION] === 'if-absent';
}

const YAML_OPTS = { lineWidth: 0, blockQuote: 'literal', aliasDuplicateObjects: false } as const;

/** Multi-document YAML, one document per object, in order. */
export function toYaml(objects: readonly K8sObject[]): string {
  return objects.map((o) => `---\n${stringify(o, YAML_OPTS)}`).join('');
}

/** An object as printed: without our internal apply-mode annotation. */
export function printable(obj: K8sObject): K8sObject {
  const ann = { ...(obj.metadata.annotations ?? {}) };
  if (!(APPLY_MODE_ANNOTATION in ann)) return obj;
  delete ann[APPLY_MODE_ANNOTATION];
  const { annotations: _drop, ...meta } = obj.metadata;
  return { ...obj, metadata: Object.keys(ann).length ? { ...meta, annotations: ann } : meta };
}

export interface PlanYamlOptions {
  /** Objects the platform owns: printed with a comment saying so (default), or left out. */
  platform?: 'omit' | 'mark';
}

/** The whole plan as YAML with a comment per step and per patch (what `demo manifests` prints). */
export function planToYaml(plan: readonly RenderedStep[], opts: PlanYamlOptions = {}): string {
  let out = '';
  for (const r of plan) {
    out += `# Step ${r.step.id} (${r.step.slug}): ${r.step.title}\n`;
    for (const n of r.notes) out += `# note: ${n}\n`;
    for (const o of r.objects) {
      if (!isPlatformOwned(o)) {
        out += toYaml([o]);
        continue;
      }
      if ((opts.platform ?? 'mark') === 'omit') {
        out += `# (${objectRef(o)} left out: the platform owns it; --include-platform prints it)\n`;
        continue;
      }
      out += `---\n# platform-owned: MaaS usually ships ${objectRef(o)}; \`demo up\` creates it only where it is absent.\n`;
      out += `# Create it with \`kubectl create -f\` where it is missing; \`kubectl apply\` would overwrite the platform's copy and label it as the demo's.\n`;
      out += stringify(printable(o), YAML_OPTS);
    }
    for (const p of r.patches) {
      out += `---\n# patch of the existing ${p.target.kind} ${p.target.namespace}/${p.target.name} (server-side apply, force)\n`;
      out += stringify(p.applyObject, YAML_OPTS);
    }
  }
  return out;
}

/** `Kind ns/name` (or `Kind name`), how objects are named in events and errors. */
export function objectRef(obj: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return obj.metadata.namespace ? `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}` : `${obj.kind} ${obj.metadata.name}`;
}
