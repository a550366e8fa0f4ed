// A real BullMQ worker (Node's bullmq): processes every job of the given queues, printing one JSON line per job
// it takes and finishes. Usage: node bullmq_worker.mjs <redis-url> <prefix> <hold-ms> <queue> [<queue> ...]
// The oracles live outside the repo (rollback.engine.node_oracles()): resolved from NODE_MODULES.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.NODE_MODULES}/`);
const { Worker } = require("bullmq");
const IORedis = require("ioredis");

const [url, prefix, holdMs, ...queues] = process.argv.slice(2);
const workers = queues.map((name) => {
  const connection = new IORedis(url, { maxRetriesPerRequest: null });
  return new Worker(name, async (job) => {
    console.log(JSON.stringify({ event: "start", queue: name, id: job.id, at: Date.now() }));
    await new Promise((r) => setTimeout(r, Number(holdMs)));
    console.log(JSON.stringify({ event: "done", queue: name, id: job.id, at: Date.now() }));
  }, { connection, prefix, concurrency: 2 });
});
await Promise.all(workers.map((w) => w.waitUntilReady()));
console.log(JSON.stringify({ event: "ready" }));
process.on("SIGTERM", async () => { await Promise.all(workers.map((w) => w.close())); process.exit(0); });
