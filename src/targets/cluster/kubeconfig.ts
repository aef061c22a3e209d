/**
 * Which cluster and which user: `--kubeconfig FILE`, else `KUBECONFIG` (a list of files merged like
 * kubectl does, the first file's current context winning), else `~/.kube/config`; then `--context`.
 * The environment comes from the command's Io, not `process.env`, so in-process runs see their own.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UserError } from '../../core/errors.js';

export interface KubeconfigOptions {
  /** `--kubeconfig`. */
  file?: string;
  /** `--context`. */
  context?: string;
  env: NodeJS.ProcessEnv;
}

export interface LoadedKubeconfig {
  kc: KubeConfig;
  context: string;
  server: string;
  user: string;
  /** The files that were read, for messages. */
  files: string[];
}

function loadFile(file: string, source: string): KubeConfig {
  if (!existsSync(file)) {
    throw new UserError(`kubeconfig ${file} (from ${source}) does not exist`, 'log in first (`oc login …`), or point --kubeconfig / KUBECONFIG at an existing file');
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new UserError(`kubeconfig ${file} cannot be read: ${(err as Error).message.split('\n')[0]}`, 'check the file, or run `oc login` again to rewrite it');
  }
  return kc;
}

/** Loads the kubeconfig the way kubectl resolves it and selects the context. */
export function loadKubeconfig(opts: KubeconfigOptions): LoadedKubeconfig {
  let kc: KubeConfig;
  let files: string[];
  if (opts.file) {
    files = [opts.file];
    kc = loadFile(opts.file, '--kubeconfig');
  } else if (opts.env.KUBECONFIG) {
    files = opts.env.KUBECONFIG.split(delimiter).filter((f) => f !== '');
    const existing = files.filter((f) => existsSync(f));
    if (existing.length === 0) {
      throw new UserError(`none of the KUBECONFIG files exist (${files.join(delimiter)})`, 'log in first (`oc login …`), or fix KUBECONFIG');
    }
    kc = loadFile(existing[0]!, 'KUBECONFIG');
    for (const f of existing.slice(1)) kc.mergeConfig(loadFile(f, 'KUBECONFIG'), true);
    files = existing;
  } else {
    const home = opts.env.HOME || homedir();
    const file = join(home, '.kube', 'config');
    files = [file];
    if (!existsSync(file)) {
      throw new UserError(`no kubeconfig: --kubeconfig not given, KUBECONFIG not set and ${file} does not exist`, 'log in with `oc login <api-url>`, or pass --kubeconfig FILE');
    }
    kc = loadFile(file, 'the default location');
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new UserError(
        `context "${opts.context}" is not in ${files.join(', ')}`,
        known.length ? `known contexts: ${known.join(', ')}` : 'the kubeconfig has no contexts; log in with `oc login` first',
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const context = kc.getCurrentContext();
  if (!context || !kc.getContextObject(context)) {
    throw new UserError(`the kubeconfig ${files.join(', ')} has no current context`, 'pass --context NAME, or `oc login` / `kubectl config use-context NAME`');
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new UserError(`context "${context}" names no cluster with a server URL`, 'fix the kubeconfig, or pass another --context');
  }
  return { kc, context, server: cluster.server, user: kc.getCurrentUser()?.name ?? '(none)', files };
}

/** The bearer token of the kubeconfig user, if it carries one directly (not exec or client certificates). */
export function kubeconfigToken(kc: KubeConfig): string | undefined {
  const user = kc.getCurrentUser();
  const token = user?.token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}
