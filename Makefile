# Convenience targets; each is one plain command you can also paste.
.PHONY: build image test bench fuzz

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o build/minconsul ./cmd/minconsul

image: build
	docker build -t minconsul:dev .

test:
	go test -race -timeout 20m ./...

bench:
	go run ./cmd/minconsul-bench
