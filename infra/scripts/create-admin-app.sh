#!/usr/bin/env bash
# Creates the Microsoft Entra app registration that Easy Auth checks tokens against in front of
# the detector's admin API, and prints its client id to pass as `adminApiClientId`
# (azd: `azd env set ADMIN_API_CLIENT_ID <id>`).
#
# What it creates, in the tenant `az` is signed in to:
#   - an app registration (single tenant) with identifier URI api://<appId>;
#   - two app roles, Inviters.Read and Inviters.ReadWrite, for users and applications;
#   - a delegated scope, Admin.Access, pre-authorised for the Azure CLI, so that an admin can
#     get a token with `az account get-access-token --scope api://<appId>/.default` without a
#     consent prompt (the roles in the token still decide what the admin may do);
#   - its service principal, with appRoleAssignmentRequired, so that only users and apps that
#     were given one of the roles can get a token for the API at all.
#
# Usage: infra/scripts/create-admin-app.sh [display-name]
#   display-name defaults to "guest-invite-detector admin API".
#
# Needs: az CLI, signed in (`az login --tenant <tenant>`) as someone who may register
# applications (Application Developer, or any user where "Users can register applications" is
# on). The creator becomes the app's owner, which is enough to configure its service principal.
set -euo pipefail

readonly DISPLAY_NAME="${1:-guest-invite-detector admin API}"
# The Azure CLI's well-known public client id.
readonly AZURE_CLI_APP_ID='04b07795-8ddb-461a-bbee-02f9e1bf7b46'

new_uuid() {
  if command -v uuidgen >/dev/null 2>&1; then
    uuidgen | tr '[:upper:]' '[:lower:]'
  else
    cat /proc/sys/kernel/random/uuid
  fi
}

if ! command -v az >/dev/null 2>&1; then
  echo "create-admin-app: the Azure CLI (az) is required; see docs/deploy.md" >&2
  exit 1
fi

existing="$(az ad app list --display-name "$DISPLAY_NAME" --query '[].appId' --output tsv)"
if [[ -n "$existing" ]]; then
  echo "create-admin-app: an app registration named \"$DISPLAY_NAME\" already exists (appId $existing)." >&2
  echo "create-admin-app: pass that id as adminApiClientId, or choose another display name." >&2
  exit 1
fi

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

read_role_id="$(new_uuid)"
write_role_id="$(new_uuid)"
scope_id="$(new_uuid)"

cat >"$work_dir/app-roles.json" <<EOF
[
  {
    "allowedMemberTypes": ["User", "Application"],
    "description": "Read the approved-inviter allowlist and its change history.",
    "displayName": "Inviters.Read",
    "id": "$read_role_id",
    "isEnabled": true,
    "value": "Inviters.Read"
  },
  {
    "allowedMemberTypes": ["User", "Application"],
    "description": "Read and change the approved-inviter allowlist.",
    "displayName": "Inviters.ReadWrite",
    "id": "$write_role_id",
    "isEnabled": true,
    "value": "Inviters.ReadWrite"
  }
]
EOF

echo "create-admin-app: creating app registration \"$DISPLAY_NAME\"" >&2
app_id="$(az ad app create \
  --display-name "$DISPLAY_NAME" \
  --sign-in-audience AzureADMyOrg \
  --app-roles "@$work_dir/app-roles.json" \
  --query appId --output tsv)"
app_object_id="$(az ad app show --id "$app_id" --query id --output tsv)"

az ad app update --id "$app_id" --identifier-uris "api://$app_id"

# The scope has to exist before it can be pre-authorised, hence two updates.
cat >"$work_dir/scope.json" <<EOF
{
  "api": {
    "oauth2PermissionScopes": [
      {
        "id": "$scope_id",
        "value": "Admin.Access",
        "type": "User",
        "isEnabled": true,
        "adminConsentDisplayName": "Call the guest-invite-detector admin API",
        "adminConsentDescription": "Lets the signed-in user call the admin API; their app roles decide what they may do.",
        "userConsentDisplayName": "Call the guest-invite-detector admin API",
        "userConsentDescription": "Lets you call the admin API with the roles you were given."
      }
    ]
  }
}
EOF
az rest --method PATCH \
  --uri "https://graph.microsoft.com/v1.0/applications/$app_object_id" \
  --headers 'Content-Type=application/json' \
  --body "@$work_dir/scope.json"

cat >"$work_dir/pre-authorised.json" <<EOF
{
  "api": {
    "preAuthorizedApplications": [
      { "appId": "$AZURE_CLI_APP_ID", "delegatedPermissionIds": ["$scope_id"] }
    ]
  }
}
EOF
az rest --method PATCH \
  --uri "https://graph.microsoft.com/v1.0/applications/$app_object_id" \
  --headers 'Content-Type=application/json' \
  --body "@$work_dir/pre-authorised.json"

sp_object_id="$(az ad sp create --id "$app_id" --query id --output tsv)"
az ad sp update --id "$sp_object_id" --set appRoleAssignmentRequired=true

echo "create-admin-app: done. App roles: Inviters.Read ($read_role_id), Inviters.ReadWrite ($write_role_id)." >&2
echo "create-admin-app: service principal object id: $sp_object_id" >&2
echo "create-admin-app: pass this client id as adminApiClientId:" >&2
echo "$app_id"
