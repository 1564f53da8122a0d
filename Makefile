# Thin front door over meson. The real build is meson.build.
BUILD ?= build
MESON_OPTS ?=
FUZZ_SECONDS ?= 60

.PHONY: all deps setup build check demo vm-demo bench fuzz clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

setup: $(BUILD)/build.ninja

build: setup
	meson compile -C $(BUILD)

# The whole test suite: unit, fuzz-corpus replay, and integration tests
# against real PipeWire and PulseAudio servers (started privately).
check: deps
	$(MAKE) build
	meson test -C $(BUILD) --print-errorlogs

demo: deps
	$(MAKE) build
	scripts/demo.sh $(BUILD)

# A real Linux guest plays through vsnd-vhost-snd into the auto backend.
vm-demo: deps
	$(MAKE) build
	scripts/vm-demo.sh $(BUILD)

bench: deps
	$(MAKE) build
	bench/run.sh $(BUILD)

fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
