// Hocuspocus (@hocuspocus/server, pinned in package.json) as a bench peer: in memory, no
// extensions, no onAuthenticate hook (the auth message is still required before sync).
// Prints "listening on ws://HOST:PORT" when ready; SIGTERM stops it.
import { Server } from "@hocuspocus/server";

const port = Number(process.env.PORT ?? 0);
const server = new Server({ port, address: "127.0.0.1", quiet: true });
await server.listen();
console.log(`listening on ws://127.0.0.1:${server.address.port}`);
process.on("SIGTERM", () => process.exit(0));
