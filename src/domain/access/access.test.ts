import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AUTHORITIES, hasAuthority, isAuthority } from './authorities.ts';
import { effectiveViewScope, isInScope, pathUids } from './org-unit-scope.ts';
import { passwordPolicyViolations } from './password-policy.ts';
import { hashPassword, needsRehash, verifyPassword } from './password-hash.ts';
import { parseAuthorizationHeader } from './authorization-header.ts';
import { generateApiToken, hashSecret, isWellFormedApiToken } from './api-token-format.ts';
import { accountRefusal, buildPrincipal } from './principal.ts';
import { withoutUserSecrets } from './user-secrets.ts';

describe('authorities', () => {
  it('ALL implies every authority; others imply only themselves', () => {
    for (const authority of AUTHORITIES) assert.equal(hasAuthority(new Set(['ALL']), authority), true);
    const granted = new Set(['F_METADATA_IMPORT']);
    assert.equal(hasAuthority(granted, 'F_METADATA_IMPORT'), true);
    assert.equal(hasAuthority(granted, 'F_METADATA_EXPORT'), false);
    assert.equal(isAuthority('F_EXPORT_QUEUE'), true);
    assert.equal(isAuthority('F_SOMETHING_ELSE'), false);
  });
});

describe('org unit scope', () => {
  const path = '/ImspTQPwCqd/O6uvpzGd5pu/YuQRtpLP10I';
  it('is in scope when any scope uid is on the path, including the unit itself', () => {
    assert.deepEqual(pathUids(path), ['ImspTQPwCqd', 'O6uvpzGd5pu', 'YuQRtpLP10I']);
    assert.equal(isInScope(path, ['ImspTQPwCqd']), true);
    assert.equal(isInScope(path, new Set(['YuQRtpLP10I'])), true);
    assert.equal(isInScope(path, ['fdc6uOvgoji', 'O6uvpzGd5pu']), true);
  });
  it('is out of scope for siblings, partial uid matches, empty scope and missing path', () => {
    assert.equal(isInScope(path, ['fdc6uOvgoji']), false);
    assert.equal(isInScope(path, ['ImspTQPwCq']), false, 'a prefix of a uid is not the uid');
    assert.equal(isInScope(path, []), false);
    assert.equal(isInScope(undefined, ['ImspTQPwCqd']), false);
  });
  it('view scope falls back to capture scope when empty', () => {
    assert.deepEqual(effectiveViewScope(['a'], []), ['a']);
    assert.deepEqual(effectiveViewScope(['a'], ['b']), ['b']);
  });
});

describe('password policy', () => {
  it('refuses short passwords and the username, accepts a decent one', () => {
    assert.equal(passwordPolicyViolations('short', 'alice').length, 1);
    assert.match(passwordPolicyViolations('AliceSmith', 'alicesmith')[0], /username/);
    assert.match(passwordPolicyViolations('x'.repeat(300), 'bob')[0], /at most/);
    assert.deepEqual(passwordPolicyViolations('district-2024', 'admin'), []);
  });
});

describe('password hashing', () => {
  it('stores parameters with the hash, verifies, and refuses wrong or malformed hashes', async () => {
    const hash = await hashPassword('correct horse battery');
    const parts = hash.split('$');
    assert.deepEqual(parts.slice(0, 4), ['scrypt', String(2 ** 17), '8', '1']);
    assert.equal(Buffer.from(parts[4], 'base64').length, 32, '32-byte salt');
    assert.equal(await verifyPassword('correct horse battery', hash), true);
    assert.equal(await verifyPassword('correct horse batterY', hash), false);
    assert.notEqual(await hashPassword('correct horse battery'), hash, 'salted');
    assert.equal(await verifyPassword('x', 'plaintext'), false);
    assert.equal(
      await verifyPassword('x', `scrypt$${2 ** 30}$8$1$AAAA$AAAA`),
      false,
      'cost beyond the bound',
    );
    assert.equal(needsRehash(hash), false);
  });
  it('verifies hashes made with other parameters and flags them for rehash', async () => {
    const weak = await hashPassword('another password', { N: 2 ** 10, r: 8, p: 1 });
    assert.equal(await verifyPassword('another password', weak), true);
    assert.equal(needsRehash(weak), true);
  });
});

describe('authorization header', () => {
  const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
  it('parses Basic with colons in the password and ApiToken', () => {
    assert.deepEqual(parseAuthorizationHeader(basic('admin:dis:trict')), {
      scheme: 'basic',
      username: 'admin',
      password: 'dis:trict',
    });
    assert.deepEqual(parseAuthorizationHeader('apitoken fry_abc'), { scheme: 'apiToken', token: 'fry_abc' });
  });
  it('refuses other schemes, missing colon, empty username and junk', () => {
    assert.equal(parseAuthorizationHeader('Bearer xyz'), undefined);
    assert.equal(parseAuthorizationHeader(basic('nocolon')), undefined);
    assert.equal(parseAuthorizationHeader(basic(':pw')), undefined);
    assert.equal(parseAuthorizationHeader('Basic !!!'), undefined);
    assert.equal(parseAuthorizationHeader(`Basic ${'A'.repeat(5000)}`), undefined);
    assert.equal(parseAuthorizationHeader(undefined), undefined);
  });
});

describe('API token format', () => {
  it('generates prefixed tokens with a checksum that detects a changed character', () => {
    const token = generateApiToken();
    assert.match(token, /^fry_[A-Za-z0-9_-]{43}[0-9a-f]{8}$/);
    assert.equal(isWellFormedApiToken(token), true);
    const flipped = token.slice(0, 10) + (token[10] === 'a' ? 'b' : 'a') + token.slice(11);
    assert.equal(isWellFormedApiToken(flipped), false);
    assert.equal(isWellFormedApiToken('d2p_' + token.slice(4)), false);
    assert.notEqual(generateApiToken(), token);
    assert.match(hashSecret(token), /^[0-9a-f]{64}$/);
  });
});

describe('principal', () => {
  it('unions role authorities, defaults view scope and drops secrets', () => {
    const principal = buildPrincipal(
      {
        id: 'aaaaaaaaaa1',
        username: 'u1',
        password: 'leak',
        userCredentials: { password: 'leak', username: 'u1' },
        organisationUnits: [{ id: 'ImspTQPwCqd' }],
      },
      [{ authorities: ['F_DATAVALUE_ADD'] }, { authorities: ['F_EXPORT_DATA', 'F_DATAVALUE_ADD'] }],
    );
    assert.deepEqual([...principal.authorities].sort(), ['F_DATAVALUE_ADD', 'F_EXPORT_DATA']);
    assert.deepEqual(principal.viewOrgUnits, ['ImspTQPwCqd']);
    assert.equal(JSON.stringify(principal.user).includes('leak'), false);
  });
  it('refuses disabled and expired accounts', () => {
    assert.equal(accountRefusal({ disabled: true }), 'disabled');
    assert.equal(accountRefusal({ accountExpiry: '2000-01-01T00:00:00.000' }), 'expired');
    assert.equal(accountRefusal({ disabled: false, accountExpiry: '2999-01-01' }), undefined);
  });
  it('withoutUserSecrets leaves other properties alone', () => {
    assert.deepEqual(withoutUserSecrets({ id: 'x', password: 'p', username: 'u' }), {
      id: 'x',
      username: 'u',
    });
  });
});
