import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { parseNetwork } from '../../src/domain/webhook-input.js';
import { type HostResolver, NetworkPolicy, TargetRefusedError } from '../../src/webhooks/network-policy.js';
import { cleanErrorText } from '../../src/webhooks/worker.js';

// The network policy's decisions without a server: which addresses are refused and why, how host
// names are judged, and the `lookup` it hands to node:net. The suite over HTTP and real
// connections is network-policy.test.ts.

const strict = new NetworkPolicy({ allowPrivateNetworks: false, allowedNetworks: [] });

/** A resolver over a fixed table; any other name is not found. Never real DNS. */
function fakeDns(table: Record<string, string[]>): HostResolver {
  return async (host) => {
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: net.isIP(address) }));
  };
}

const ADVICE = 'webhook targets must be public (set WEBHOOK_ALLOW_PRIVATE_NETWORKS=true for local development, or allow the network in WEBHOOK_ALLOWED_NETWORKS)';

describe('webhook target classification', () => {
  test('every refused IPv4 range, at its first and last address, with the reason named', () => {
    const cases: [string, string][] = [
      ['0.0.0.0', 'an unspecified address'],
      ['0.255.255.255', 'an unspecified address'],
      ['10.0.0.0', 'a private address'],
      ['10.255.255.255', 'a private address'],
      ['100.64.0.0', 'a shared (carrier-grade NAT) address'],
      ['100.127.255.255', 'a shared (carrier-grade NAT) address'],
      ['127.0.0.0', 'a loopback address'],
      ['127.255.255.255', 'a loopback address'],
      ['169.254.0.0', 'a link-local address'],
      ['169.254.169.254', 'a link-local address'],
      ['169.254.255.255', 'a link-local address'],
      ['172.16.0.0', 'a private address'],
      ['172.31.255.255', 'a private address'],
      ['192.0.0.0', 'a reserved address'],
      ['192.0.0.255', 'a reserved address'],
      ['192.0.2.0', 'a documentation address'],
      ['192.0.2.255', 'a documentation address'],
      ['192.88.99.1', 'a reserved address'],
      ['192.168.0.0', 'a private address'],
      ['192.168.255.255', 'a private address'],
      ['198.18.0.0', 'a benchmarking address'],
      ['198.19.255.255', 'a benchmarking address'],
      ['198.51.100.0', 'a documentation address'],
      ['198.51.100.255', 'a documentation address'],
      ['203.0.113.0', 'a documentation address'],
      ['203.0.113.255', 'a documentation address'],
      ['224.0.0.0', 'a multicast address'],
      ['239.255.255.255', 'a multicast address'],
      ['240.0.0.0', 'a reserved address'],
      ['255.255.255.254', 'a reserved address'],
      ['255.255.255.255', 'the broadcast address'],
    ];
    for (const [address, why] of cases) assert.equal(strict.addressProblem(address), why, address);
  });

  test('the public neighbours of each IPv4 range are allowed', () => {
    for (const address of ['1.0.0.0', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255', '128.0.0.0', '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.0', '192.0.3.0', '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0', '198.51.99.255', '198.51.101.0', '203.0.112.255', '203.0.114.0', '223.255.255.255']) {
      assert.equal(strict.addressProblem(address), null, address);
    }
  });

  test('every refused IPv6 range, with the reason named; global unicast is allowed', () => {
    const cases: [string, string][] = [
      ['::', 'an unspecified address'],
      ['::1', 'a loopback address'],
      ['0:0:0:0:0:0:0:1', 'a loopback address'],
      ['::7f00:1', 'a reserved address'], // IPv4-compatible (deprecated)
      ['64:ff9b:1::1', 'a private address'],
      ['100::1', 'a reserved address'],
      ['2001::1', 'a reserved address'], // Teredo, inside 2001::/23
      ['2001:1ff:ffff::1', 'a reserved address'],
      ['2001:2::1', 'a benchmarking address'],
      ['2001:db8::1', 'a documentation address'],
      ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'a documentation address'],
      ['3fff::1', 'a documentation address'],
      ['3fff:fff::1', 'a documentation address'],
      ['5f00::1', 'a reserved address'],
      ['fc00::1', 'a private address'],
      ['fdff:ffff::1', 'a private address'],
      ['fe80::1', 'a link-local address'],
      ['fe80::1%eth0', 'a link-local address'],
      ['febf::1', 'a link-local address'],
      ['fec0::1', 'a site-local address'],
      ['ff02::1', 'a multicast address'],
      ['4000::1', 'a reserved address'],
      ['e000::1', 'a reserved address'],
    ];
    for (const [address, why] of cases) assert.equal(strict.addressProblem(address), why, address);
    for (const address of ['2001:200::1', '2001:db9::1', '2606:4700:4700::1111', '2a00:1450:4001::1', '3ffe::1', '3fff:1000::1']) {
      assert.equal(strict.addressProblem(address), null, address);
    }
  });

  test('IPv4-mapped, NAT64 and 6to4 addresses are judged by the IPv4 address they carry', () => {
    const cases: [string, string | null][] = [
      ['::ffff:127.0.0.1', 'the IPv4-mapped form of 127.0.0.1, a loopback address'],
      ['::ffff:7f00:1', 'the IPv4-mapped form of 127.0.0.1, a loopback address'],
      ['::ffff:a9fe:a9fe', 'the IPv4-mapped form of 169.254.169.254, a link-local address'],
      ['::ffff:0.0.0.0', 'the IPv4-mapped form of 0.0.0.0, an unspecified address'],
      ['::ffff:100.128.0.1', null],
      ['64:ff9b::10.0.0.1', 'the NAT64 form of 10.0.0.1, a private address'],
      ['64:ff9b::a9fe:a9fe', 'the NAT64 form of 169.254.169.254, a link-local address'],
      ['64:ff9b::100.128.0.1', null],
      ['2002:a00:1::1', 'the 6to4 form of 10.0.0.1, a private address'],
      ['2002:7f00:1::', 'the 6to4 form of 127.0.0.1, a loopback address'],
      ['2002:6480:1::1', null],
    ];
    for (const [address, why] of cases) assert.equal(strict.addressProblem(address), why, address);
  });

  test('WEBHOOK_ALLOWED_NETWORKS lets exactly its networks through, IPv4-mapped forms of them too', () => {
    const policy = new NetworkPolicy({
      allowPrivateNetworks: false,
      allowedNetworks: [
        { address: '10.20.0.0', prefix: 16, family: 4 },
        { address: 'fd00:1234::', prefix: 32, family: 6 },
      ],
    });
    for (const address of ['10.20.0.0', '10.20.255.255', '::ffff:10.20.3.4', '64:ff9b::a14:1', 'fd00:1234::1', 'fd00:1234:ffff::1', '100.128.0.1']) {
      assert.equal(policy.addressProblem(address), null, address);
    }
    assert.equal(policy.addressProblem('10.21.0.0'), 'a private address');
    assert.equal(policy.addressProblem('10.19.255.255'), 'a private address');
    assert.equal(policy.addressProblem('fd00:1235::1'), 'a private address');
    assert.equal(policy.addressProblem('127.0.0.1'), 'a loopback address');
  });

  test('WEBHOOK_ALLOW_PRIVATE_NETWORKS lifts the rule entirely', async () => {
    const open = new NetworkPolicy({ allowPrivateNetworks: true, allowedNetworks: [] });
    for (const address of ['127.0.0.1', '::1', '169.254.169.254', '0.0.0.0', '255.255.255.255']) assert.equal(open.addressProblem(address), null, address);
    assert.equal(await open.urlProblem('http://127.0.0.1:9/'), null);
  });
});

describe('webhook target URLs and host names', () => {
  const dns = fakeDns({
    'public.example': ['100.128.0.1', '2a00:1450:4001::1'],
    'internal.example': ['10.0.0.5'],
    'mixed.example': ['100.128.0.1', '127.0.0.1'],
    'zoned.example': ['fe80::1%eth0'],
  });
  const policy = new NetworkPolicy({ allowPrivateNetworks: false, allowedNetworks: [] }, dns);

  test('numeric spellings of loopback are read as the URL standard reads them, and refused', async () => {
    for (const url of ['http://127.0.0.1/', 'http://2130706433/', 'http://0x7f000001/', 'http://017700000001/', 'http://127.1/', 'http://0x7f.1/', 'http://127.0.0.1./', 'http://%31%32%37.0.0.1/']) {
      assert.equal(await policy.urlProblem(url), `The address 127.0.0.1 is a loopback address; ${ADVICE}.`, url);
    }
    assert.equal(await policy.urlProblem('http://[::ffff:127.0.0.1]:8080/x'), `The address ::ffff:7f00:1 is the IPv4-mapped form of 127.0.0.1, a loopback address; ${ADVICE}.`);
    assert.equal(await policy.urlProblem('http://[0:0:0:0:0:0:0:1]/'), `The address ::1 is a loopback address; ${ADVICE}.`);
    assert.equal(await policy.urlProblem('http://0/'), `The address 0.0.0.0 is an unspecified address; ${ADVICE}.`);
  });

  test('a host name is refused when any of its addresses is; a name that does not resolve is accepted', async () => {
    assert.equal(await policy.urlProblem('https://public.example/hooks'), null);
    assert.equal(await policy.urlProblem('https://internal.example/hooks'), `The host internal.example resolves to 10.0.0.5, a private address; ${ADVICE}.`);
    assert.equal(await policy.urlProblem('https://mixed.example/hooks'), `The host mixed.example resolves to 127.0.0.1, a loopback address; ${ADVICE}.`);
    assert.equal(await policy.urlProblem('https://zoned.example/hooks'), `The host zoned.example resolves to fe80::1, a link-local address; ${ADVICE}.`);
    assert.equal(await policy.urlProblem('https://unknown.example/hooks'), null);
  });

  test('a resolver that does not answer in time does not hold the request: the name is accepted, to be checked at each attempt', async () => {
    const hanging = new NetworkPolicy({ allowPrivateNetworks: false, allowedNetworks: [] }, () => new Promise(() => {}), 50);
    assert.equal(await hanging.urlProblem('https://slow.example/'), null);
  });

  test('resolveAllowed: every address checked, a refusal names the host and the address', async () => {
    assert.deepEqual(await policy.resolveAllowed('public.example'), [
      { address: '100.128.0.1', family: 4 },
      { address: '2a00:1450:4001::1', family: 6 },
    ]);
    await assert.rejects(policy.resolveAllowed('mixed.example'), new TargetRefusedError('mixed.example resolved to 127.0.0.1, a loopback address'));
    await assert.rejects(policy.resolveAllowed('mixed.example'), { message: 'refused: mixed.example resolved to 127.0.0.1, a loopback address' });
    await assert.rejects(policy.resolveAllowed('unknown.example'), { code: 'ENOTFOUND' });
    assert.throws(() => policy.checkAddress('169.254.169.254'), { message: 'refused: 169.254.169.254 is a link-local address' });
    assert.doesNotThrow(() => policy.checkAddress('100.128.0.1'));
  });

  test('the lookup handed to node:net answers as net expects, one address or all, and refuses with the reason', async () => {
    const lookup = (host: string, options: { all?: boolean; family?: number }) =>
      new Promise<unknown>((resolve, reject) =>
        policy.lookup(host, options, (error, address, family) => (error ? reject(error) : resolve(options.all ? address : [address, family]))),
      );
    assert.deepEqual(await lookup('public.example', { all: true }), [
      { address: '100.128.0.1', family: 4 },
      { address: '2a00:1450:4001::1', family: 6 },
    ]);
    assert.deepEqual(await lookup('public.example', {}), ['100.128.0.1', 4]);
    assert.deepEqual(await lookup('public.example', { family: 6 }), ['2a00:1450:4001::1', 6]);
    await assert.rejects(lookup('internal.example', {}), { name: 'TargetRefusedError', message: 'refused: internal.example resolved to 10.0.0.5, a private address' });
    await assert.rejects(lookup('internal.example', { family: 6 }), { name: 'TargetRefusedError' });
    await assert.rejects(lookup('unknown.example', { all: true }), { code: 'ENOTFOUND' });
  });
});

describe('WEBHOOK_ALLOWED_NETWORKS entries', () => {
  test('networks and single addresses, IPv4 and IPv6, in canonical form', () => {
    assert.deepEqual(parseNetwork('10.20.0.0/16'), { network: { address: '10.20.0.0', prefix: 16, family: 4 } });
    assert.deepEqual(parseNetwork('127.0.0.1'), { network: { address: '127.0.0.1', prefix: 32, family: 4 } });
    assert.deepEqual(parseNetwork('0.0.0.0/0'), { network: { address: '0.0.0.0', prefix: 0, family: 4 } });
    assert.deepEqual(parseNetwork('FD00:1234:0::/32'), { network: { address: 'fd00:1234::', prefix: 32, family: 6 } });
    assert.deepEqual(parseNetwork('::1'), { network: { address: '::1', prefix: 128, family: 6 } });
    assert.deepEqual(parseNetwork('::ffff:10.0.0.0/104'), { network: { address: '::ffff:a00:0', prefix: 104, family: 6 } });
  });

  test('what is not a network is refused with the reason', () => {
    const notNetwork = (text: string) => ({ problem: `"${text}" is not an IP network such as 10.20.0.0/16 or fd00:1234::/32` });
    for (const text of ['banana', '10.0.0/8', '010.0.0.0/8', '10.0.0.256/32', '10.0.0.0/8/8', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/ 8', 'fe80::1%eth0/64', '[::1]/128', 'fd00::/x', '::1]/x']) {
      assert.deepEqual(parseNetwork(text), notNetwork(text), text);
    }
    assert.deepEqual(parseNetwork('10.0.0.0/33'), { problem: 'the prefix of "10.0.0.0/33" must be 0 to 32' });
    assert.deepEqual(parseNetwork('fd00::/129'), { problem: 'the prefix of "fd00::/129" must be 0 to 128' });
    assert.deepEqual(parseNetwork('10.20.1.0/16'), { problem: '"10.20.1.0/16" has bits set after its /16 prefix; write 10.20.0.0/16' });
    assert.deepEqual(parseNetwork('fd00:1234::1/32'), { problem: '"fd00:1234::1/32" has bits set after its /32 prefix; write fd00:1234::/32' });
  });
});

describe('error text kept on a delivery', () => {
  test('white space runs become one space; control and format characters go; at most 500 characters', () => {
    assert.equal(cleanErrorText('HTTP 500: line one\r\n\tline two  '), 'HTTP 500: line one line two');
    assert.equal(cleanErrorText('a\u0000b\u001b[31mc\u007fd\u0085e\u202ef\u200bg'), 'ab[31mcdefg');
    assert.equal(cleanErrorText('ok 🎉 ü'), 'ok 🎉 ü');
    const long = cleanErrorText('x'.repeat(600));
    assert.equal(Array.from(long).length, 500);
    assert.ok(long.endsWith('…'));
    // Cut by characters, never inside a surrogate pair.
    const emoji = cleanErrorText('🎉'.repeat(600));
    assert.equal(Array.from(emoji).length, 500);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(emoji), 'no lone high surrogate');
  });
});
