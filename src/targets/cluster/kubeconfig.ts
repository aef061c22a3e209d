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

/**
 * client-node's `loadFromDefault` reads KUBECONFIG and HOME from process.env; a run's own environment
 * (the Io env of an in-process run) is put in place for that synchronous call only.
 */
function withProcessEnv<T>(vars: Record<'KUBECONFIG' | 'HOME', string | undefined>, fn: () => T): T {
  const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
  const put = (k: 'KUBECONFIG' | 'HOME', v: string | undefined) => {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  put('KUBECONFIG', vars.KUBECONFIG);
  put('HOME', vars.HOME);
  try {
    return fn();
  } finally {
    put('KUBECONFIG', saved.KUBECONFIG);
    put('HOME', saved.HOME);
  }
}

/** Loads the kubeconfig the way kubectl resolves it and selects the context. */
export function loadKubeconfig(opts: KubeconfigOptions): LoadedKubeconfig {
  let kc: KubeConfig;
  let files: string[];
  if (opts.file) {
    files = [opts.file];
    kc = loadFile(opts.file, '--kubeconfig');
  } else {
    // KUBECONFIG (a list, merged with the first file's current context winning), else ~/.kube/config:
    // client-node's loadFromDefault does the merging; missing files are left out first, as kubectl does.
    const listed = opts.env.KUBECONFIG ? opts.env.KUBECONFIG.split(delimiter).filter((f) => f !== '') : [];
    const home = opts.env.HOME || homedir();
    if (listed.length) {
      files = listed.filter((f) => existsSync(f));
      if (files.length === 0) throw new UserError(`none of the KUBECONFIG files exist (${listed.join(delimiter)})`, 'log in first (`oc login …`), or fix KUBECONFIG');
    } else {
      files = [join(home, '.kube', 'config')];
      if (!existsSync(files[0]!)) {
        throw new UserError(`no kubeconfig: --kubeconfig not given, KUBECONFIG not set and ${files[0]} does not exist`, 'log in with `oc login <api-url>`, or pass --kubeconfig FILE');
      }
    }
    kc = new KubeConfig();
    try {
      withProcessEnv({ KUBECONFIG: listed.length ? files.join(delimiter) : undefined, HOME: home }, () => kc.loadFromDefault(undefined, true));
    } catch (err) {
      throw new UserError(`kubeconfig ${files.join(delimiter)} cannot be read: ${(err as Error).message.split('\n')[0]}`, 'check the files (a name defined twice across KUBECONFIG files is refused), or run `oc login` again to rewrite them');
    }
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
