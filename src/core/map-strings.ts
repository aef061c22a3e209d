/** Every string of a JSON-like value mapped through `f` (keys left alone, except those `skip` names). */
export function mapStrings<T>(value: T, f: (s: string) => string, skip: readonly string[] = []): T {
  if (typeof value === 'string') return f(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f, skip)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, skip.includes(k) ? v : mapStrings(v, f, skip)])) as T;
  return value;
}
