# Shared by scripts/run, scripts/test and scripts/bench: PATH for Swift, and system packages.
export PATH="/opt/swift/usr/bin:$PATH"

# install_packages PKG… — apt-get installs the packages that are missing (root, non-interactive).
install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks how to configure itself: "No configuration" (the tests write their own).
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Packages may start their system services: the tests run private instances, so stop them.
  if printf '%s\n' "${missing[@]}" | grep -qE '^(postfix|dovecot-core|nginx|sasl2-bin|postgresql)$'; then
    $sudo postfix stop >/dev/null 2>&1 || true
    $sudo service dovecot stop >/dev/null 2>&1 || $sudo pkill -x dovecot >/dev/null 2>&1 || true
    $sudo service nginx stop >/dev/null 2>&1 || $sudo pkill -x nginx >/dev/null 2>&1 || true
    $sudo service saslauthd stop >/dev/null 2>&1 || true
    $sudo service postgresql stop >/dev/null 2>&1 || true
  fi
}

# Packages the build needs.
BUILD_PACKAGES=(libsqlite3-dev libcrypt-dev libargon2-dev)
