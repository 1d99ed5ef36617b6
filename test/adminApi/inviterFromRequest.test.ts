import { HttpRequest } from '@azure/functions';

import { ApiProblem } from '../../lib/adminApi/apiProblem';
import { inviterFromRequest } from '../../lib/adminApi/inviterFromRequest';

const GUEST = 'dana.ito_partner.example#ext#@fabrikam.onmicrosoft.com';
const ENCODED = encodeURIComponent(GUEST);

function request(path: string, params: Record<string, string>): HttpRequest {
  return new HttpRequest({
    method: 'GET',
    url: `https://func-gid.azurewebsites.net${path}`,
    params,
  });
}

describe('inviterFromRequest', () => {
  it.each([
    ['the host decoded the parameter', `/api/inviters/${ENCODED}`, { inviter: GUEST }],
    ['the host passed the parameter undecoded', `/api/inviters/${ENCODED}`, { inviter: ENCODED }],
    ['the history route', `/api/inviters/${ENCODED}/history`, { inviter: GUEST }],
    ['no route parameter at all', `/api/inviters/${ENCODED}`, {}],
    [
      'the URL reached the worker decoded, "#" and all',
      `/api/inviters/${GUEST}`,
      { inviter: GUEST },
    ],
  ])('finds the guest key when %s', (_case, path, params) => {
    expect(inviterFromRequest(request(path, params))).toBe(GUEST);
  });

  it('normalises case and surrounding spaces', () => {
    const upper = encodeURIComponent(` ${GUEST.toUpperCase()} `);

    expect(inviterFromRequest(request(`/api/inviters/${upper}`, {}))).toBe(GUEST);
  });

  it('refuses what a raw "#" leaves of a guest UPN, with the %23 hint', () => {
    const cut = GUEST.slice(0, GUEST.indexOf('#'));

    expect(() => inviterFromRequest(request(`/api/inviters/${cut}`, { inviter: cut }))).toThrow(
      ApiProblem,
    );
    expect(() => inviterFromRequest(request(`/api/inviters/${cut}`, { inviter: cut }))).toThrow(
      /%23EXT%23/,
    );
  });
});

describe('inviterFromRequest and percent escapes', () => {
  it.each([
    ['a stray "%"', '/api/inviters/a%ZZ@fabrikam.example', { inviter: 'a%ZZ@fabrikam.example' }],
    ['a cut-off escape', '/api/inviters/a%2@fabrikam.example', { inviter: 'a%2@fabrikam.example' }],
    ['escapes that are not UTF-8', '/api/inviters/a%E0%A4@fabrikam.example', {}],
  ])('refuses %s, which the host passes on undecoded', (_case, path, params) => {
    let thrown: unknown;
    try {
      inviterFromRequest(request(path, params));
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(ApiProblem);
    expect((thrown as ApiProblem).errors).toEqual([
      'inviter: the URL has a "%" that does not start a percent-encoded UTF-8 character; send a literal "%" as %25',
    ]);
  });

  it('takes %25 as a literal "%"', () => {
    const path = `/api/inviters/${encodeURIComponent('a%ZZ@fabrikam.example')}`;

    expect(inviterFromRequest(request(path, { inviter: 'a%ZZ@fabrikam.example' }))).toBe(
      'a%zz@fabrikam.example',
    );
  });
});
