import { inviterKeyProblem, isDomainName, tryParseInviterKey } from '../lib/inviterKey';

const MISPLACED_DOT =
  'the part of the user principal name before "@" cannot start or end with a dot or have two dots in a row';

describe('inviter keys', () => {
  it.each([
    'lena.fischer@northwind.example',
    "sean.o'brien@northwind.example",
    'first.middle.last@northwind.example',
    'dana.ito_partner.example#EXT#@fabrikam.onmicrosoft.com',
    'j.doe.contractor_mailbox.example#EXT#@fabrikam.onmicrosoft.com',
    'a+tag.b@northwind.example',
    'x_@northwind.example',
    '_x@northwind.example',
    'a%b@northwind.example',
  ])('keeps the UPN %s matchable', (upn) => {
    expect(inviterKeyProblem(upn)).toBeUndefined();
    expect(tryParseInviterKey(upn.toUpperCase())?.value).toBe(upn.toLowerCase());
  });

  it.each([
    '.lena@northwind.example',
    'lena.@northwind.example',
    'lena..fischer@northwind.example',
    '.a..b.@northwind.example',
    '.@northwind.example',
  ])('refuses %s, which no Entra UPN looks like', (value) => {
    expect(inviterKeyProblem(value)).toBe(MISPLACED_DOT);
    expect(tryParseInviterKey(value)).toBeUndefined();
  });
});

describe('allowed domains', () => {
  it.each([
    ['partner.example', true],
    ['10.partner.example', true],
    ['365partner.example', true],
    ['partner.co2', true],
    ['xn--bcher-kva.example', true],
    ['10.0.0.1', false],
    ['192.168.1.254', false],
    ['partner.123', false],
    ['localhost', false],
  ])('%s is a domain name: %s', (value, expected) => {
    expect(isDomainName(value)).toBe(expected);
  });
});
