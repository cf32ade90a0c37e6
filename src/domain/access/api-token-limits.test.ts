import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiTokenRefusal,
  isIpOrRange,
  parseApiTokenAttributes,
  storedApiTokenAttributes,
} from './api-token-limits.ts';

describe('API token limits', () => {
  it('accepts addresses and CIDR ranges of both families, nothing else', () => {
    for (const ok of ['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '2001:db8::1', '2001:db8::/32'])
      assert.ok(isIpOrRange(ok), ok);
    for (const bad of [
      '10.0.0',
      '10.0.0.0/33',
      '2001:db8::/129',
      '10.0.0.0/8/1',
      'localhost',
      '10.0.0.0/-1',
      '',
    ])
      assert.equal(isIpOrRange(bad), false, bad);
  });

  it('normalises methods and refuses duplicates of a type', () => {
    const parsed = parseApiTokenAttributes([
      { type: 'MethodAllowedList', allowedMethods: ['get', 'GET', 'post'] },
    ]);
    assert.deepEqual(parsed, {
      attributes: [{ type: 'MethodAllowedList', allowedMethods: ['GET', 'POST'] }],
    });
    const twice = parseApiTokenAttributes([
      { type: 'IpAllowedList', allowedIps: ['10.0.0.1'] },
      { type: 'IpAllowedList', allowedIps: ['10.0.0.2'] },
    ]);
    assert.ok('issue' in twice);
  });

  it('matches IPv6 ranges and IPv4-mapped addresses', () => {
    const attributes = [{ type: 'IpAllowedList', allowedIps: ['2001:db8::/32', '192.0.2.0/24'] }] as const;
    const at = (address: string) => apiTokenRefusal(attributes, { address, method: 'GET' });
    assert.equal(at('2001:db8:1::5'), undefined);
    assert.equal(at('::ffff:192.0.2.9'), undefined);
    assert.match(at('2001:db9::1') ?? '', /not in the token's allowed IPs/);
    assert.match(at('not-an-address') ?? '', /not in the token's allowed IPs/);
  });

  it('reads stored attributes back and fails closed on garbage', () => {
    assert.deepEqual(storedApiTokenAttributes(null), []);
    assert.equal(storedApiTokenAttributes('{not json'), undefined);
    assert.equal(storedApiTokenAttributes('[{"type":"Nope"}]'), undefined);
  });
});
