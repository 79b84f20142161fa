# make run   - set up .venv and run nsim's main job on the bundled sample log
# make fuzz  - fuzz the reader and replay for a long run (FUZZ_EXAMPLES, default 20000)
# make test  - set up everything the tests need (system packages included) and run them
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system-deps run test lint bench fuzz clean

# What `nsim hw` needs on Debian 12 (see nsim/hw/doctor.py; ../shared/docs/hardware.md).
SYSTEM_PACKAGES := qemu-utils qemu-system-x86 libvirt-daemon-system libvirt-clients libvirt-dev \
	pkg-config busybox-static cpio
# The test that runs `nsim tui` in a real terminal (tests/tui/test_tmux.py).
SYSTEM_PACKAGES += tmux
# nsim's speed is measured against lnav's (benchmarks/bench_vs_lnav.py).
SYSTEM_PACKAGES += lnav
# `nsim completion zsh|fish` is checked by those shells (tests/test_completion.py).
SYSTEM_PACKAGES += zsh fish

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Idempotent and quiet: apt-get only when a package is missing, pip only when the binding is.
# The daemons (virtlogd, libvirtd) are started by the hw tests through `nsim hw doctor --fix`.
system-deps: $(STAMP)
	@n=$$(dpkg-query -W -f '$${db:Status-Status}\n' $(SYSTEM_PACKAGES) 2>/dev/null | grep -cx installed); \
	if [ "$$n" -ne $(words $(SYSTEM_PACKAGES)) ]; then \
	  echo "installing system packages: $(SYSTEM_PACKAGES)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $(SYSTEM_PACKAGES); } >$(VENV)/system-deps.log 2>&1 \
	  || { cat $(VENV)/system-deps.log; exit 1; }; \
	fi
	@$(BIN)/python -c 'import libvirt' 2>/dev/null || { $(BIN)/pip install -q libvirt-python \
	  >$(VENV)/system-deps.log 2>&1 || { cat $(VENV)/system-deps.log; exit 1; }; }

run: setup
	$(BIN)/nsim replay sample_logs/seed-boot.journal --year 2017

test: setup system-deps
	$(BIN)/ruff check nsim tests benchmarks
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/bench_parse.py

# The fuzz test of the reader and replay (tests/test_fuzz.py) with many random examples
# (CI runs 300 derandomized ones); FUZZ_EXAMPLES=N for more or fewer.
FUZZ_EXAMPLES ?= 20000
fuzz: setup
	NSIM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider \
	  tests/test_fuzz.py::test_fuzz_parse_and_replay --hypothesis-show-statistics

clean:
	rm -rf $(VENV) .pytest_cache
