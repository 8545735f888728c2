# reflex serve as a container: a static binary on an empty base, non-root.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t reflex .
#   docker run -p 8080:8080 -e REFLEX_API_KEYS=... -v $PWD/reflex.yaml:/etc/reflex/reflex.yaml:ro reflex serve -c /etc/reflex/reflex.yaml
# The final stage was checked (Docker 20.10, no registry reachable, so on an
# empty base with distroless's /tmp and /home/nonroot): the binary serves as
# uid 65532, /healthz answers 200, a finding POSTed with the API key is
# recorded (202) in the default ledger under $HOME.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -buildid= -X main.version=${VERSION}" -o /out/reflex ./cmd/reflex

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/reflex /usr/local/bin/reflex
USER 65532:65532
# serve listens on 127.0.0.1 by default, unreachable from outside a container
ENV REFLEX_LISTEN=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/reflex"]
CMD ["serve"]
