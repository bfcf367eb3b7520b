# minconsul's release image: a static binary and nothing else, like
# HashiCorp's own images. Needs no base image, so it builds where no
# registry can be reached. Build with:  make image
# (which runs: CGO_ENABLED=0 go build -o build/minconsul ./cmd/minconsul
#  && docker build -t minconsul:dev .)
FROM scratch
COPY build/minconsul /bin/minconsul
# 8300 Raft/RPC, 8301 gossip (TCP+UDP), 8500 HTTP API, 8600 DNS (TCP+UDP)
EXPOSE 8300 8301 8301/udp 8500 8600 8600/udp
VOLUME ["/consul/data"]
ENTRYPOINT ["/bin/minconsul"]
CMD ["agent", "-dev", "-client", "0.0.0.0"]
