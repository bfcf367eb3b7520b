# Convenience targets; each is one plain command you can also paste.
.PHONY: build image tutorial test bench fuzz

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
