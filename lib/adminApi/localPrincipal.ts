import { INVITERS_READ_WRITE_ROLE } from './authorizeCaller';

/**
 * An `x-ms-client-principal` value of the shape App Service Authentication sets for an Entra
 * ID user, for local mode, where nothing sets it. In Azure the platform strips any copy a
 * client sends, so this grants nothing there.
 */
export function localPrincipal(name: string, roles: string[] = [INVITERS_READ_WRITE_ROLE]): string {
  const principal = {
    auth_typ: 'aad',
    claims: [
      { typ: 'preferred_username', val: name },
      { typ: 'name', val: name },
      ...roles.map((role) => ({ typ: 'roles', val: role })),
    ],
    name_typ: 'name',
    role_typ: 'roles',
  };

  return Buffer.from(JSON.stringify(principal), 'utf8').toString('base64');
}
