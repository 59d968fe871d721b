# posture: build, test, scan and benchmark helpers. `make help` lists the targets.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := lz4 distro-info-data libsqlite3-dev sqlite3 openssl time libcurl4-openssl-dev python3
# The collector's PostgreSQL store is tested against a real server (scripts/test-postgres starts it);
# certutil (libnss3-tools) makes the browser NSS databases the integrity tests read; debootstrap
# makes the real Debian roots the probes are tested on (scripts/debian-test-root), and apt-utils'
# apt-ftparchive and dpkg-dev's dpkg-scanpackages the local apt repositories; iproute2 brings up
# loopback in the network namespace where the ClamAV tests run freshclam against a local mirror;
# pip installs the bank-calendar cross-check, the API fuzzer, schemathesis, and selenium, which drives
# Debian's chromium (chromium-driver) to check that the Japanese HTML pages draw every glyph (fonts-noto-cjk).
TEST_APT_PACKAGES := postgresql libnss3-tools debootstrap apt-utils dpkg-dev iproute2 python3-pip chromium chromium-driver fonts-noto-cjk

# Building, linting and testing the Debian package (packaging/).
DEB_APT_PACKAGES := dpkg-dev binutils lintian debootstrap systemd-container mandoc
NEWEST_DEB = $$(ls -t .build-deb/posture_*.deb | head -n 1)

.PHONY: help man deps test-deps python-test-deps apt-install build release release-static test scan bench bench-scan bench-integrity bench-collector bench-console clean deb-deps deb lint-deb test-deb format format-check

help:
	@echo "make scan        install what posture needs, build it, scan this machine with the bundled profiles"
	@echo "make test        install what the tests need and run them (swift test)"
	@echo "make bench       every quoted ratio (integrity, scan, rescans, peak memory) from one interleaved run"
	@echo "make bench-scan  time and peak memory of the .deb's posture scan against apt list --upgradable and dpkg --verify"
	@echo "make bench-integrity  time integrity verification against dpkg --verify and debsums"
	@echo "make bench-collector  load the collector: 500 devices, 64 connections, SQLite and PostgreSQL"
	@echo "make bench-console    the web console: 10,000 devices with a month of reports, page latency, SQLite and PostgreSQL"
	@echo "make man         build the man page and shell completions into .build/man (checked with mandoc)"
	@echo "make format      format Sources, Tests and Package.swift with swift-format (.swift-format)"
	@echo "make format-check  fail on any formatting difference (CI runs it)"
	@echo "make deps        only install the Debian packages (apt-get)"
	@echo "make deb         build .build-deb/posture_VERSION_ARCH.deb (release build, Swift runtime linked statically)"
	@echo "make lint-deb    build the .deb and check it with lintian (errors and warnings fail)"
	@echo "make test-deb    build the .deb, install, run, upgrade and purge it in a fresh Debian 12 root (root, network)"

deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES) $(TEST_APT_PACKAGES)"
deb-deps: deps
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(DEB_APT_PACKAGES)"

python-test-deps:
	@python3 -m pip install --quiet --disable-pip-version-check --upgrade --target .build/python-deps holidays schemathesis selenium \
		|| echo "warning: could not install the Python test packages (holidays, schemathesis, selenium); the bank-calendar cross-check, the API fuzz test and the glyph check will skip" >&2

apt-install:
	@if command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --no-upgrade $(PACKAGES) >/dev/null; \
	else echo "apt-get not found: install $(PACKAGES) by hand" >&2; fi

build:
	$(SWIFT) build

man:
	scripts/manual .build/man

release:
	$(SWIFT) build -c release

# PostgreSQL tests run when a server can be started (always in CI, where CI=true makes it required).
# The bank calendar is cross-checked against the `holidays` package from PyPI, installed beside the build.
test: test-deps python-test-deps
	url=$$(scripts/test-postgres $(if $(CI),--require)) && POSTURE_TEST_POSTGRES_URL="$$url" $(SWIFT) test

# Exit status 1 or 3 from the scan is its verdict (a failing or unconfirmed requirement), not a make error.
# Only the posture product: the collector's SwiftNIO, Hummingbird and postgres-nio are not built.
scan: deps
	@echo "Building posture (release). A first build takes about 6 minutes on 2 cores; later ones seconds." >&2
	@scripts/quiet-build "building posture" $(SWIFT) build -c release --product posture
	@$(SUDO) .build/release/posture scan; status=$$?; [ $$status -le 3 ] || exit $$status

# Measures the binary the .deb ships, as bench-integrity does.
bench-scan: release-static
	scripts/bench-scan --binary .build-static/release/posture

# The package's binaries link the Swift runtime statically, so it installs without a toolchain,
# and bind all symbols at start (-z now), so their GOT is read-only while they run as root. They
# are linked by the toolchain's lld with packed relative relocations (DT_RELR, glibc 2.36) and
# export no symbols: a PIE's start-up relocations then touch ~4 MiB less (scripts/bench-scan).
STATIC_LINK := --static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker -z -Xlinker now \
	-Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic
release-static:
	$(SWIFT) build -c release $(STATIC_LINK) --scratch-path .build-static

deb: deb-deps release-static
	SWIFT=$(SWIFT) packaging/build-deb --bin-dir .build-static/release

lint-deb: deb
	lintian --fail-on error,warning "$(NEWEST_DEB)"

test-deb: deb
	$(SUDO) packaging/test-deb "$(NEWEST_DEB)"

# swift-format (in the toolchain) with the repository's .swift-format; CI fails on any difference.
format:
	$(SWIFT) format format --in-place --recursive Sources Tests Package.swift

format-check:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

clean:
	rm -rf .build .build-static .build-deb

# Measures the binary the .deb ships (static Swift runtime), as it runs on the PCs.
# Every ratio the project quotes (integrity and scan against dpkg --verify, rescans against full
# runs, peak memory) from one interleaved run of the .deb's binary.
bench: release-static
	scripts/bench --binary .build-static/release/posture

bench-integrity: release-static
	scripts/bench-integrity --binary .build-static/release/posture

bench-collector: release
	scripts/bench-collector

bench-console: release
	scripts/bench-console
