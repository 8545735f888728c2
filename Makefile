# Conveniences; the README's two commands need none of this.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -s -w -buildid= -X main.version=$(VERSION)

.PHONY: build lambda image test ci
build:            ## the static binary ./reflex
	CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$(LDFLAGS)" -o reflex ./cmd/reflex
lambda:           ## dist/reflex-lambda-{arm64,x86_64}.zip
	scripts/build-lambda.sh arm64 x86_64
image:            ## the container image for reflex serve (needs a Docker engine)
	docker build --build-arg VERSION=$(VERSION) -t reflex:$(VERSION) .
test:
	go test -race ./...
ci:
	bash .ci/run
