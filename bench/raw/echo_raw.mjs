// Raw node:net echo runner: the floor of a TypeScript runner for ./bench.sh.
//
// Framing (4-byte big-endian length + JSON) and plain JSON.parse / JSON.stringify, nothing else:
// no validation, no canonical encoding, no deadlines or cancellation. Every complete frame of a
// read is answered inline, the answers of one read written with one socket.write:
// {"type":"response","payload":{job_id, request_id, "success", result}} with result
// {args, kwargs} (protocol 1) or {params} (protocol 2, whichever the request carries). Listens on
// `--tcp-socket HOST:PORT` (RRQ 0.10+) or RRQ_RUNNER_TCP_SOCKET (RRQ 0.9). Bench code, not a
// usable runner.
import net from "node:net";

const [host, port] = (() => {
  const argv = process.argv.slice(2);
  const flag = argv.indexOf("--tcp-socket");
  const inline = argv.find((a) => a.startsWith("--tcp-socket="));
  const a =
    flag !== -1 && flag + 1 < argv.length
      ? argv[flag + 1]
      : inline !== undefined
        ? inline.slice("--tcp-socket=".length)
        : process.env.RRQ_RUNNER_TCP_SOCKET;
  const i = a.lastIndexOf(":");
  return [a.slice(0, i), Number(a.slice(i + 1))];
})();

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let buf = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let off = 0;
    const out = [];
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off - 4 < len) break;
      const payload = JSON.parse(buf.toString("utf8", off + 4, off + 4 + len)).payload;
      off += 4 + len;
      const text = JSON.stringify({
        type: "response",
        payload: {
          job_id: payload.job_id,
          request_id: payload.request_id,
          status: "success",
          result:
            payload.params !== undefined ? { params: payload.params } : { args: payload.args, kwargs: payload.kwargs },
        },
      });
      const n = Buffer.byteLength(text);
      const frame = Buffer.allocUnsafe(4 + n);
      frame.writeUInt32BE(n, 0);
      frame.write(text, 4);
      out.push(frame);
    }
    buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
    if (out.length === 1) socket.write(out[0]);
    else if (out.length > 1) socket.write(Buffer.concat(out));
  });
  socket.on("error", () => {});
});
server.listen(port, host);
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
