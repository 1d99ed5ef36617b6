import { readClientPrincipal } from '../../lib/adminApi/readClientPrincipal';
import { NAME_CLAIM_URI, OBJECT_ID_CLAIM_URI, ROLE_CLAIM_URI } from '../support/adminApiHarness';

function headersWith(principal: unknown): Headers {
  return new Headers({
    'x-ms-client-principal': Buffer.from(JSON.stringify(principal)).toString('base64'),
  });
}

describe('readClientPrincipal', () => {
  it('reads name, object id and roles from an Entra ID principal', () => {
    const principal = readClientPrincipal(
      headersWith({
        auth_typ: 'aad',
        claims: [
          { typ: NAME_CLAIM_URI, val: 'Priya Raman' },
          { typ: 'preferred_username', val: 'priya.raman@fabrikam.example' },
          { typ: OBJECT_ID_CLAIM_URI, val: '0b8e5a1c-2d3f-4a6b-9c7d-8e9f0a1b2c3d' },
          { typ: 'roles', val: 'Inviters.Read' },
          { typ: ROLE_CLAIM_URI, val: 'Inviters.ReadWrite' },
          { typ: ROLE_CLAIM_URI, val: 'Inviters.Read' },
        ],
        name_typ: NAME_CLAIM_URI,
        role_typ: ROLE_CLAIM_URI,
      }),
    );

    expect(principal).toEqual({
      authType: 'aad',
      name: 'priya.raman@fabrikam.example',
      objectId: '0b8e5a1c-2d3f-4a6b-9c7d-8e9f0a1b2c3d',
      appId: undefined,
      roles: ['Inviters.Read', 'Inviters.ReadWrite'],
    });
  });

  it('falls back to the claim name_typ names when there is no preferred_username or upn', () => {
    const principal = readClientPrincipal(
      headersWith({
        claims: [{ typ: NAME_CLAIM_URI, val: 'svc-onboarding@fabrikam.example' }],
        name_typ: NAME_CLAIM_URI,
      }),
    );

    expect(principal?.name).toBe('svc-onboarding@fabrikam.example');
  });

  it('reads an app-only caller by appid, and roles sent as one JSON array claim', () => {
    const principal = readClientPrincipal(
      headersWith({
        claims: [
          { typ: 'appid', val: '11112222-3333-4444-8555-666677778888' },
          { typ: 'oid', val: '99990000-aaaa-4bbb-8ccc-ddddeeeeffff' },
          { typ: 'roles', val: '["Inviters.Read","Inviters.ReadWrite"]' },
        ],
        name_typ: null,
        role_typ: null,
      }),
    );

    expect(principal).toEqual({
      authType: undefined,
      name: undefined,
      objectId: '99990000-aaaa-4bbb-8ccc-ddddeeeeffff',
      appId: '11112222-3333-4444-8555-666677778888',
      roles: ['Inviters.Read', 'Inviters.ReadWrite'],
    });
  });

  it('answers undefined when the header is absent or empty', () => {
    expect(readClientPrincipal(new Headers())).toBeUndefined();
    expect(readClientPrincipal(new Headers({ 'x-ms-client-principal': '  ' }))).toBeUndefined();
  });

  it('refuses a header over 64 KB without decoding it', () => {
    const huge = new Headers({ 'x-ms-client-principal': 'A'.repeat(64 * 1024 + 4) });

    expect(() => readClientPrincipal(huge)).toThrow(/not base64-encoded JSON/);
  });
});
