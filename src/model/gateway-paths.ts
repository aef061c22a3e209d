/**
 * Path arithmetic of the two gateways: Gateway API PathPrefix matching and ReplacePrefixMatch (the MaaS
 * gateway, Istio) and wg-ai-gateway's Envoy translation (the egress gateway). The local hops route with
 * it and doctor predicts with it, so both read one definition.
 */

/**
 * Gateway API PathPrefix semantics (element-wise, a trailing slash ignored) and ReplacePrefixMatch
 * as the spec's table defines it: `/foo/bar` with prefix `/foo/` and replacement `/` is `/bar`.
 * This is what the MaaS gateway (Istio) does.
 */
export function gatewayApiMatch(path: string, prefix: string): boolean {
  const p = prefix.length > 1 ? prefix.replace(/\/+$/, '') : prefix;
  if (p === '/') return true;
  return path === p || path.startsWith(`${p}/`);
}

export function gatewayApiRewrite(path: string, prefix: string, replacement: string): string {
  const p = prefix.length > 1 ? prefix.replace(/\/+$/, '') : '';
  const rest = path.slice(p.length); // '' or '/…'
  const base = replacement.replace(/\/+$/, '');
  if (rest === '') return replacement === '' ? '/' : replacement.endsWith('/') ? `${base}/` : base || '/';
  return `${base}${rest}` || '/';
}

/**
 * wg-ai-gateway's Envoy translation (contracts §6, §8). A PathPrefix other than `/` loses its
 * trailing slash and becomes a path-separated prefix; with the PR #38 fix and a non-empty
 * ReplacePrefixMatch it becomes the plain prefix `<p>/`. Envoy's prefix_rewrite replaces exactly
 * the matched prefix, so without the fix `/openai/v1/x` becomes `//v1/x`. An empty replacement is
 * indistinguishable from unset in proto3: no rewrite at all.
 */
export function envoyRoute(
  path: string,
  route: { pathPrefix: string; rewritePrefix: string | null },
  controllerFixed: boolean,
): { matched: false } | { matched: true; pathOut: string; matchedPrefix: string } {
  const pathOnly = path.split('?')[0] ?? '';
  const query = path.slice(pathOnly.length);
  const rewrite = route.rewritePrefix ? route.rewritePrefix : null;
  let prefix: string;
  let matched: boolean;
  if (route.pathPrefix === '/') {
    prefix = '/';
    matched = true;
  } else {
    const trimmed = route.pathPrefix.replace(/\/+$/, '');
    if (rewrite !== null && controllerFixed) {
      prefix = `${trimmed}/`;
      matched = pathOnly.startsWith(prefix);
    } else {
      prefix = trimmed;
      matched = pathOnly === trimmed || pathOnly.startsWith(`${trimmed}/`);
    }
  }
  if (!matched) return { matched: false };
  const pathOut = rewrite === null ? pathOnly : `${rewrite}${pathOnly.slice(prefix.length)}`;
  return { matched: true, pathOut: `${pathOut}${query}`, matchedPrefix: prefix };
}
