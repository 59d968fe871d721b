# posture: build, test, scan and benchmark helpers. `make help` lists the targets.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := lz4 distro-info-data libsqlite3-dev sqlite3 openssl time libcurl4-openssl-dev python3 libnss3-tools

.PHONY: help deps build release test scan bench-scan bench-integrity clean

help:
	@echo "make scan        install what posture needs, build it, scan this machine with the bundled profiles"
	@echo "make test        install what the tests need and run them (swift test)"
	@echo "make bench-scan  time a release scan against 'apt list --upgradable'"
	@echo "make bench-integrity  time integrity verification against dpkg --verify and debsums"
	@echo "make deps        only install the Debian packages (apt-get)"

deps:
	@if command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --no-upgrade $(APT_PACKAGES) >/dev/null; \
	else echo "apt-get not found: install $(APT_PACKAGES) by hand" >&2; fi

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

test: deps
	$(SWIFT) test

# Exit status 1 or 3 from the scan is its verdict (a failing or unconfirmed requirement), not a make error.
scan: deps release
	@$(SUDO) .build/release/posture scan; status=$$?; [ $$status -le 3 ] || exit $$status

bench-scan: release
	scripts/bench-scan

clean:
	rm -rf .build

bench-integrity: release
	scripts/bench-integrity
