# roombot image: a static Go binary on distroless, running as non-root.
# Needs BuildKit (the default builder since Docker Engine 23) for the
# cache mount and the platform arguments below; its built-in Dockerfile
# frontend has both, so no "# syntax=" line sends the build to Docker Hub
# for a frontend image.
#
#   docker build -t roombot:dev .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/roombot:TAG --push .

# Pinned to a patch release so a rebuild of the same commit gets the same
# toolchain; go.mod asks for go 1.26, so move this within 1.26.x (or raise
# both together).
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS build

WORKDIR /src

# go.mod and go.sum alone decide this layer, so a source edit reuses the
# downloaded modules.
COPY go.mod go.sum ./
RUN go mod download

COPY . .

# Set by BuildKit from --platform; the compiler cross-builds on the
# builder's own architecture instead of under emulation.
ARG TARGETOS
ARG TARGETARCH

# CGO_ENABLED=0: the final image has no libc, so the binary must not
# link one. -trimpath keeps the build machine's paths out of the binary.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/roombot ./cmd/bot

# static-debian12 carries CA certificates (needed for wss:// to Slack and
# MeshAgent) and /etc/passwd entries, and nothing else: no shell, no
# package manager. The :nonroot tag runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/roombot /roombot

# Numeric, so Kubernetes' runAsNonRoot can check it without reading
# /etc/passwd from the image.
USER 65532:65532

# /healthz, /readyz and /metrics (ROOMBOT_HTTP_ADDR). Slack traffic is
# outbound only (Socket Mode), so nothing else listens.
EXPOSE 8080

ENTRYPOINT ["/roombot"]
