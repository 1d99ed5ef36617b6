import { isLocalAppHost } from '../../lib/localMode/isLocalAppHost';

describe('isLocalAppHost', () => {
  it.each([
    ['127.0.0.1:7071', 7071, true],
    ['localhost:7071', 7071, true],
    ['LocalHost:7071', 7071, true],
    ['[::1]:7071', 7071, true],
    ['localhost:80', 80, true],
    ['localhost', 80, true],
    ['localhost', 7071, false],
    ['127.0.0.1:7072', 7071, false],
    ['evil.example:7071', 7071, false],
    ['127.0.0.1.nip.io:7071', 7071, false],
    ['localhost.evil.example:7071', 7071, false],
    ['0.0.0.0:7071', 7071, false],
    ['', 7071, false],
    [undefined, 7071, false],
  ])('takes Host %j for port %s as this app: %s', (host, port, expected) => {
    expect(isLocalAppHost(host, port)).toBe(expected);
  });
});
