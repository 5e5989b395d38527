// The first yardstick: a bare node:http server that reads and JSON-parses the request body, as the
// real server must, and answers 200. The benchmark gives each figure as a ratio to this server's and
// to the straightforward service's (straightforward-server.ts).
import http from 'node:http';

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text === '' ? null : JSON.parse(text);
    const answer = JSON.stringify({ ok: true, keys: body === null ? 0 : Object.keys(body).length });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    response.end(answer);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
