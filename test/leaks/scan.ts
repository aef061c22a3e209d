/**
 * The secret-leak scan shared by test/leaks: canary provider keys (configured with `--config`, so any
 * occurrence can only come from this run), the secrets a local topology makes (cluster token, admin
 * token, the token-signing private key), and minted MaaS tokens recognised by their JWT shape.
 *
 * A secret counts as leaked when it appears whole or when any 12 characters of its inside do: the
 * masked form (`sk-o…end1`) shows only the first and last four, so a partial leak is caught too.
 * Findings name the secret's label and where it was found, never the secret.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export const CANARY_KEYS = {
  'openai key': 'sk-oa-CANARYopenai7f3a9c2d-end1',
  'anthropic key': 'sk-an-CANARYanthropic2b8e4f-end2',
  'vllm key': 'vl-CANARYvllm5d1c0e6a-end3',
} as const;

/** `--config` content that puts the canary keys on the three providers. */
export const CANARY_CONFIG = {
  providers: [
    { name: 'openai', key: CANARY_KEYS['openai key'] },
    { name: 'anthropic', key: CANARY_KEYS['anthropic key'] },
    { name: 'vllm', key: CANARY_KEYS['vllm key'] },
  ],
};

/** Longer than the masked form of a token (`eyJh…abcd`): a run like this is (part of) a real JWT. */
const JWT_RUN = /eyJ[A-Za-z0-9_-]{16,}/;
/** An OpenShift-style cluster token (`sha256~` and 43 base64url characters), whole or mostly. */
const CLUSTER_TOKEN_SHAPE = /sha256~[A-Za-z0-9_-]{20,}/;

export type Secrets = Map<string, string>;

export function canarySecrets(): Secrets {
  return new Map(Object.entries(CANARY_KEYS));
}

/** Adds the secrets of the topology in `dir` (state file and signing key) to `secrets`. */
export function addTopologySecrets(secrets: Secrets, dir: string, tag = ''): void {
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { clusterToken: string; adminToken: string };
  secrets.set(`cluster token${tag}`, state.clusterToken);
  secrets.set(`admin token${tag}`, state.adminToken);
  const keyFile = join(dir, 'tls', 'token-signing-key.json');
  if (existsSync(keyFile)) {
    const key = JSON.parse(readFileSync(keyFile, 'utf8')) as { privateJwk: { d?: string } };
    if (key.privateJwk.d) secrets.set(`token-signing private key${tag}`, key.privateJwk.d);
  }
}

function windows(value: string): string[] {
  if (value.length < 20) return [];
  const out: string[] = [];
  for (let i = 4; i + 12 <= value.length - 4; i += 2) out.push(value.slice(i, i + 12));
  return out;
}

/** Labels of every secret found in `text` (whole, partial, or by shape). */
export function leaksIn(text: string, secrets: Secrets, opts: { allowClusterToken?: boolean } = {}): string[] {
  const found: string[] = [];
  for (const [label, value] of secrets) {
    if (opts.allowClusterToken && label.startsWith('cluster token')) continue;
    if (text.includes(value)) found.push(label);
    else if (windows(value).some((w) => text.includes(w))) found.push(`${label} (partial)`);
  }
  if (JWT_RUN.test(text)) found.push('a JWT (minted MaaS token)');
  if (!opts.allowClusterToken && CLUSTER_TOKEN_SHAPE.test(text)) found.push('a cluster token (sha256~…)');
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) found.push('a PEM private key');
  return [...new Set(found)];
}

export function expectNoLeaks(text: string, secrets: Secrets, where: string, opts: { allowClusterToken?: boolean } = {}): void {
  expect(leaksIn(text, secrets, opts), `secrets found in ${where}`).toEqual([]);
}

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Scans each file; returns "file: label" for every finding. */
export function leaksInFiles(files: string[], secrets: Secrets): string[] {
  return files.flatMap((f) => leaksIn(readFileSync(f, 'utf8'), secrets).map((label) => `${f}: ${label}`));
}
