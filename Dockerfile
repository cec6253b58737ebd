# propscaler image for users with Docker: the same image `make image` builds without one
# (manifests/image/build.sh: mmdebstrap + umoci, tested by tests/cli/test_image.sh): propscaler
# alone (propsim, the emulator, is not in it) with its runtime libraries, run as 65532.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake pkg-config libcurl4-gnutls-dev libcjson-dev libyaml-dev libev-dev \
      libmicrohttpd-dev zlib1g-dev libisal-dev libgnutls28-dev nettle-dev libcairo2-dev ca-certificates \
 && cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j"$(nproc)" --target propscaler \
 && strip /build/propscaler

FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libcurl3-gnutls libcjson1 libyaml-0-2 libev4 libmicrohttpd12 libgnutls30 libnettle8 zlib1g libisal2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/propscaler /usr/local/bin/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/propscaler"]
