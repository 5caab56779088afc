// As much of k6 as an exported script uses, on Node: sha256 from node:crypto, a synchronous
// POST (k6's are synchronous) made by a child Node process, and checks and counters recorded
// for the test to read.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';

globalThis.__ENV = process.env;

export const recorded = { checks: [], counters: [] };

function sha256(input, encoding) {
  return createHash('sha256').update(input, 'utf8').digest(encoding);
}

const FETCH = `
const [url, body] = process.argv.slice(1);
const started = performance.now();
fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
  .then(async (r) => ({ status: r.status, body: await r.text() }))
  .catch((e) => ({ status: 0, body: '', error: String(e) }))
  .then((r) => process.stdout.write(JSON.stringify({ ...r, duration: performance.now() - started })));
`;

function post(url, body) {
  const answer = JSON.parse(execFileSync(process.execPath, ['-e', FETCH, url, body]).toString());
  return { status: answer.status, body: answer.body, error_code: answer.error ? 1 : 0, timings: { duration: answer.duration } };
}

export function check(value, checks) {
  for (const [name, predicate] of Object.entries(checks)) {
    recorded.checks.push({ name, ok: Boolean(predicate(value)) });
  }
}

export class Counter {
  constructor(name) {
    this.name = name;
  }

  add(value, tags) {
    recorded.counters.push({ name: this.name, value, tags });
  }
}

export default { post, sha256 };
