# propscaler image: build on Debian with the project's own dependency list, run on a slim Debian
# with only the runtime libraries, as a non-root user.
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake pkg-config libcurl4-openssl-dev libcjson-dev libyaml-dev libev-dev \
      libmicrohttpd-dev zlib1g-dev ca-certificates \
 && cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j"$(nproc)" --target propscaler propsim \
 && strip /build/propscaler /build/propsim

FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libcurl4 libcjson1 libyaml-0-2 libev4 libmicrohttpd12 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/propscaler /build/propsim /usr/local/bin/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/propscaler"]
