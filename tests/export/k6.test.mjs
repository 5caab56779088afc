// The exported k6 script's own code, run under Node with the shim of k6/: its signing
// reproduces Tencent's test vector, and its requests are accepted by `oa-hook serve --token`.
// K6_SCRIPT names the script (exported as .mjs); OA_HOOK_URL and OA_HOOK_TOKEN the serve;
// K6_DECISIONS what serve makes Chat decide; K6_CASES answers with the decision and verdict
// `oa-hook send` gives each (written by decisions.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { recorded } from 'k6';

const script = await import(pathToFileURL(process.env.K6_SCRIPT).href);

test('Sign reproduces Tencent test vector', () => {
  assert.equal(
    script.sign('xxxxyyyy', '1669872112'),
    '17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061',
  );
});

test('the URL carries Chat query, Sign and RequestTime last', () => {
  const callback = { command: 'OfficialAccount.CallbackBeforeAddSubscriber' };
  const url = script.callbackUrl('http://127.0.0.1:3000/im?tenant=a', callback, 'xxxxyyyy', 1669872112.9);
  assert.equal(
    url,
    'http://127.0.0.1:3000/im?tenant=a&SdkAppid=88888888&CallbackCommand=OfficialAccount.CallbackBeforeAddSubscriber&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061&RequestTime=1669872112',
  );
  assert.equal(script.callbackUrl('http://h/', callback, '', 1).includes('Sign='), false);
});

test('every request is accepted by serve, and every check passes', () => {
  for (let i = 0; i < 3; i++) {
    script.default();
  }
  assert.ok(recorded.checks.length > 0);
  assert.deepEqual(recorded.checks.filter((c) => !c.ok), []);
  const decisions = new Set(recorded.counters.map((c) => `${c.tags.callback} ${c.tags.decision}`));
  assert.deepEqual([...decisions].sort(), (process.env.K6_DECISIONS || '').split(',').sort());
});

test('each answer is read as oa-hook send reads it', () => {
  const cases = JSON.parse(readFileSync(process.env.K6_CASES, 'utf8'));
  const callbacks = new Map(script.SPEC.callbacks.map((c) => [c.name, c]));
  let read = 0;
  for (const c of cases) {
    const callback = callbacks.get(c.callback);
    let answer = null;
    try {
      answer = JSON.parse(c.body);
    } catch (e) {
      answer = null;
    }
    const where = `${c.callback} ${c.status} ${c.body}`;
    assert.equal(script.decision(callback, c.status, answer, false), c.decision, where);
    const conforms = c.status === 200 && answer !== null && script.invalid(callback.answer, answer) === null;
    assert.equal(conforms, c.conforms, where);
    read += 1;
  }
  assert.equal(read, cases.length);
  assert.ok(read > 300, `${read} cases`);
});
