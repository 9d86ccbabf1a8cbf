#!/usr/bin/env bash
# Installs what Tandem needs on Debian 12 (idempotent; does nothing when all is present).
set -euo pipefail
jdk="${TANDEM_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v keepalived >/dev/null 2>&1 || need+=(keepalived)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
# conntrackd: the session sync baseline of `tandem bench sync|failover --vs conntrackd`
command -v conntrackd >/dev/null 2>&1 || need+=(conntrackd)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
command -v flock >/dev/null 2>&1 || need+=(util-linux)
# OpenSMTPD: the real MTA the e-mail alert tests deliver through (started by the test itself on 127.0.0.1).
# Only where no other MTA is installed: it would replace exim4 or postfix (the test is skipped there).
[ -x /usr/sbin/smtpd ] || [ -e /usr/sbin/sendmail ] || need+=(opensmtpd)
# Chromium and its WebDriver: the dashboard test drives the real browser headless (Selenium, no downloads).
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "tandem: missing Debian packages ${need[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "tandem: installing ${need[*]} (apt-get)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  # keepalived is an interop peer for the tests, not a service of this machine
  if [[ " ${need[*]} " == *" keepalived "* ]]; then
    systemctl disable --now keepalived >/dev/null 2>&1 || true
  fi
  # likewise conntrackd: the benches run their own instances in the lab's namespaces
  if [[ " ${need[*]} " == *" conntrackd "* ]]; then
    systemctl disable --now conntrackd >/dev/null 2>&1 || true
  fi
  # likewise OpenSMTPD: the tests run their own instance (a system one would hold its control socket)
  if [[ " ${need[*]} " == *" opensmtpd "* ]]; then
    systemctl disable --now opensmtpd >/dev/null 2>&1 || true
  fi
fi
if [ ! -x "$jdk/bin/java" ]; then
  echo "tandem: JDK 25 not found at $jdk; install Temurin 25 (https://adoptium.net) or set TANDEM_JAVA_HOME" >&2
  exit 1
fi
