// Resolves `k6`, `k6/http`, `k6/crypto` and `k6/metrics` to the shim beside this file.
const K6 = new Set(['k6', 'k6/http', 'k6/crypto', 'k6/metrics']);

export async function resolve(specifier, context, next) {
  if (K6.has(specifier)) {
    return { url: new URL('./k6.mjs', import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
