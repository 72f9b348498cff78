// node fixed_answer.mjs PORT BODY_FILE: every request answered with the same bytes by
// node:http (the platform oidc-provider runs on), one process.
import { readFileSync } from "node:fs";
import http from "node:http";

const [port, bodyFile] = process.argv.slice(2);
const body = readFileSync(bodyFile);
http
  .createServer((request, response) => {
    response.writeHead(200, {
      "content-type": "application/json",
      "content-length": body.length,
    });
    response.end(body);
  })
  .listen(Number(port), "127.0.0.1");
