import type { Socket } from "node:net";

/** Calls `onLine` with each CRLF-terminated line the socket receives (SMTP/LMTP replies; latin1). */
export function onLines(socket: Socket, onLine: (line: string) => void): void {
  let buf = "";
  socket.on("data", (d: Buffer) => {
    buf += d.toString("latin1");
    let i: number;
    while ((i = buf.indexOf("\r\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      onLine(line);
    }
  });
}
