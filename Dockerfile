# reflex serve as a container: a static binary on an empty base, non-root.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t reflex .
#   docker run -v $PWD/reflex.yaml:/etc/reflex/reflex.yaml:ro reflex serve -c /etc/reflex/reflex.yaml
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
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/reflex"]
CMD ["serve"]
