// A smart-HTTP git server for the smoke test (go-git, which kaniko clones with, speaks no dumb
// HTTP): every request goes to `git http-backend` as CGI, serving the bare repositories in ROOT.
//
//   node tools/images/gitHttp.js ROOT PORT [HOST]     HOST: the address to listen on, 127.0.0.1 by default
const http = require("http");
const { spawn } = require("child_process");

const [root, port, host = "127.0.0.1"] = process.argv.slice(2);
http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  // Who fetched what: the tests check that the clone came from where they expect.
  console.log(`${req.method} ${url.pathname} ${req.socket.remoteAddress}`);
  const cgi = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH, GIT_PROJECT_ROOT: root, GIT_HTTP_EXPORT_ALL: "1", REQUEST_METHOD: req.method,
      PATH_INFO: url.pathname, QUERY_STRING: url.search.slice(1), CONTENT_TYPE: req.headers["content-type"] ?? "",
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "", GIT_PROTOCOL: req.headers["git-protocol"] ?? "",
      REMOTE_ADDR: "127.0.0.1",
    },
  });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let sent = false;
  cgi.stdout.on("data", (chunk) => {
    if (sent) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) return;
    let status = 200;
    for (const line of head.subarray(0, end).toString().split("\r\n")) {
      const [name, ...value] = line.split(": ");
      if (name.toLowerCase() === "status") status = Number(value.join(": ").split(" ")[0]);
      else res.setHeader(name, value.join(": "));
    }
    res.writeHead(status);
    res.write(head.subarray(end + 4));
    sent = true;
  });
  cgi.on("close", () => res.end());
}).listen(Number(port), host);
