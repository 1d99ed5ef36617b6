#!/usr/bin/env bash
# Checks the Bicep templates with the real compiler: formatting, linter (every rule the project
# relies on is an error in infra/bicepconfig.json, and any warning fails too), and that the
# committed compiled templates (infra/main.json, infra/tenant/main.json) are up to date.
#
# Usage: scripts/check-infra.sh [--update]
#   --update  format the .bicep files and rewrite the compiled .json files, then check.
#
# Uses `bicep` from PATH when it is the pinned version (the compiled output records the compiler
# version, so another version would always look stale); otherwise installs the pinned Bicep CLI
# from NuGet into .tools/bicep once, through the .NET SDK, and reuses it afterwards.
set -euo pipefail

readonly BICEP_VERSION='0.49.2'
readonly BICEP_PACKAGE='Azure.Bicep.CommandLine.linux-x64'
readonly TEMPLATES=(infra/main.bicep infra/tenant/main.bicep)

# Sources compiled into main.json through modules; formatted and linted with their entry points.
readonly FORMATTED_SOURCES=(infra/main.bicep infra/resources.bicep infra/tenant/main.bicep)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# Nothing here may phone home: no .NET or Bicep telemetry, no first-run experience.
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_GENERATE_ASPNET_CERTIFICATE=false
export BICEP_TRACING_ENABLED=false

update=false
for arg in "$@"; do
  case "$arg" in
    --update) update=true ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "check-infra: unknown option '$arg' (expected --update or --help)" >&2
      exit 2
      ;;
  esac
done

pinned_version_of() {
  "$1" --version 2>/dev/null | grep -q "Bicep CLI version ${BICEP_VERSION} "
}

install_bicep() {
  local package_dir="$1"
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "check-infra: the .NET SDK (dotnet) is needed to install Bicep ${BICEP_VERSION} from NuGet;" >&2
    echo "check-infra: install it, or put Bicep ${BICEP_VERSION} on PATH." >&2
    exit 1
  fi

  local sdk_major
  sdk_major="$(dotnet --version | cut -d. -f1)"

  local restore_dir
  restore_dir="$(mktemp -d)"
  # A throwaway project whose only purpose is to make `dotnet restore` fetch the package.
  cat >"$restore_dir/bicep-cli.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net${sdk_major}.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="${BICEP_PACKAGE}" Version="${BICEP_VERSION}" />
  </ItemGroup>
</Project>
EOF
  echo "check-infra: installing ${BICEP_PACKAGE} ${BICEP_VERSION} into ${package_dir}" >&2
  dotnet restore "$restore_dir/bicep-cli.csproj" --packages "$package_dir" --nologo --verbosity quiet >&2
  rm -rf "$restore_dir"
}

find_bicep() {
  if command -v bicep >/dev/null 2>&1 && pinned_version_of bicep; then
    command -v bicep
    return
  fi

  local package_dir="$repo_root/.tools/bicep"
  local package_id
  package_id="$(echo "$BICEP_PACKAGE" | tr '[:upper:]' '[:lower:]')"
  local cached="$package_dir/$package_id/$BICEP_VERSION/tools/bicep"
  if [[ ! -x "$cached" ]]; then
    install_bicep "$package_dir"
    chmod +x "$cached"
  fi
  if ! pinned_version_of "$cached"; then
    echo "check-infra: $cached is not Bicep ${BICEP_VERSION}; delete .tools/bicep and rerun." >&2
    exit 1
  fi

  echo "$cached"
}

bicep_bin="$(find_bicep)"
echo "check-infra: using $("$bicep_bin" --version) at $bicep_bin"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

failures=0

fail() {
  echo "check-infra: FAIL: $*" >&2
  failures=$((failures + 1))
}

# Runs a Bicep command, shows its output, and fails on a non-zero exit or any warning or error
# line: the linter reports some findings as warnings and still exits 0.
run_bicep() {
  local description="$1"
  shift
  local output
  if ! output="$("$bicep_bin" "$@" 2>&1)"; then
    [[ -n "$output" ]] && echo "$output" >&2
    fail "$description exited non-zero"
    return
  fi
  [[ -n "$output" ]] && echo "$output"
  if grep -qE '\) : (Warning|Error) ' <<<"$output"; then
    fail "$description reported warnings or errors"
  fi
}

for source in "${FORMATTED_SOURCES[@]}"; do
  if [[ "$update" == true ]]; then
    run_bicep "bicep format $source" format "$source"
  fi
  formatted="$work_dir/formatted.bicep"
  "$bicep_bin" format "$source" --stdout >"$formatted"
  if ! diff -u "$source" "$formatted" >&2; then
    fail "$source is not formatted as 'bicep format' would; run scripts/check-infra.sh --update"
  fi
done

for template in "${TEMPLATES[@]}"; do
  compiled="${template%.bicep}.json"
  fresh="$work_dir/$(echo "$template" | tr '/' '_').json"

  run_bicep "bicep lint $template" lint "$template"
  run_bicep "bicep build $template" build "$template" --outfile "$fresh"
  [[ -f "$fresh" ]] || continue

  if [[ "$update" == true ]]; then
    cp "$fresh" "$compiled"
    echo "check-infra: wrote $compiled"
  fi
  if [[ ! -f "$compiled" ]]; then
    fail "$compiled is missing; run scripts/check-infra.sh --update"
  elif ! diff -u "$compiled" "$fresh" >"$work_dir/diff.txt"; then
    head -n 60 "$work_dir/diff.txt" >&2
    fail "$compiled is stale (it differs from 'bicep build $template'); run scripts/check-infra.sh --update"
  fi
done

if ((failures > 0)); then
  echo "check-infra: ${failures} check(s) failed" >&2
  exit 1
fi

echo "check-infra: ${#TEMPLATES[@]} templates formatted, linted and compiled; committed JSON is current"
