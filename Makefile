# Convenience targets; each is one plain command you can also paste.
.PHONY: build image tutorial test bench fuzz screenshots

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o build/minconsul ./cmd/minconsul

image: build
	docker build -t minconsul:dev .

# The tutorial's hello-world web image (examples/tutorial), FROM scratch.
tutorial:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o examples/tutorial/build/hello-world ./examples/tutorial/hello-world
	docker build -t minconsul/hello-world:dev examples/tutorial

test:
	go test -race -timeout 20m ./...

bench:
	go run ./cmd/minconsul-bench

# PNGs of the web UI for the README, taken by the UI's browser tests
# (needs chromium: apt-get install -y chromium).
screenshots:
	@command -v chromium >/dev/null || { echo "make screenshots needs chromium (apt-get install -y chromium)"; exit 1; }
	UI_SCREENSHOTS=$(CURDIR)/docs/screenshots go test -count=1 -run 'TestUI_Browser/demo' ./ui
	@ls -l docs/screenshots
