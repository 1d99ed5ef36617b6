import { clientAddressOf } from '../../lib/adminApi/clientAddress';

describe('clientAddressOf', () => {
  it.each([
    [{ 'x-forwarded-for': '198.51.100.23:50123' }, '198.51.100.23'],
    [{ 'x-forwarded-for': '10.9.8.7, 198.51.100.23:50123' }, '198.51.100.23'],
    [{ 'x-forwarded-for': '[2001:db8::17]:443' }, '2001:db8::17'],
    [{ 'x-forwarded-for': '2001:db8::17' }, '2001:db8::17'],
    [{ 'x-client-ip': '203.0.113.9' }, '203.0.113.9'],
    [{ 'x-forwarded-for': 'not-an-address' }, undefined],
    [{}, undefined],
  ])('reads %j as %s', (headers, address) => {
    expect(clientAddressOf(new Headers(headers))).toBe(address);
  });
});
