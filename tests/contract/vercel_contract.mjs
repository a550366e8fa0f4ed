// Drives a Vercel API (the stand-in) through the official @vercel/sdk for every endpoint the product calls, and
// fails when a response does not match the SDK's published schema.
//
// The SDK's parsers are lenient on purpose (a missing field becomes "", a number where a date belongs becomes a
// date in 1970), so besides the SDK's own validation (ResponseValidationError) every raw response is parsed again
// with the SDK's schema while counting those silent coercions: any coercion is a contract failure, reported with
// its field path.
//
// Usage: NODE_MODULES=<dir> node vercel_contract.mjs '<json>' with {"serverURL", "teamId", "projectId", "older", "newer",
// "productionDomain", "customAlias"}; VERCEL_TOKEN in the environment. Prints one JSON line per call; exit 1 on
// the first failure. With "job": {"kind": "rollback" | "promote", "to", "expect": [jobStatus, ...]} it asks for that
// one request instead and reads the project (each answer held to the schema) until its lastAliasRequest has gone
// through the expected jobStatus values in order (10 s at most).
// The oracles live outside the repo (rollback.engine.node_oracles()): loaded from NODE_MODULES.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const sdk = (path) => import(pathToFileURL(join(process.env.NODE_MODULES ?? "", "@vercel/sdk/esm", path)).href);
const { Vercel } = await sdk("index.js");
const { HTTPClient } = await sdk("lib/http.js");
const { AssignAliasResponseBody$inboundSchema } = await sdk("models/assignaliasop.js");
const { DeleteAliasResponseBody$inboundSchema } = await sdk("models/deletealiasop.js");
const { GetAliasResponseBody$inboundSchema } = await sdk("models/getaliasop.js");
const { GetProjectResponseBody$inboundSchema } = await sdk("models/getprojectresponsebody.js");
// the union's full member: the one with createdAt (the others are subsets the SDK falls back to)
const { GetDeploymentResponseBody2$inboundSchema } = await sdk("models/getdeploymentresponsebody1.js");
const { VercelError } = await sdk("models/vercelerror.js");
const { startCountingUnrecognized } = await sdk("types/unrecognized.js");

const cfg = JSON.parse(process.argv[2] ?? "{}");
const token = process.env.VERCEL_TOKEN;
if (!token) fail("setup", "VERCEL_TOKEN must be set");

let lastBody = null;
const httpClient = new HTTPClient();
httpClient.addHook("response", async (res) => { lastBody = await res.clone().text(); });
const vercel = new Vercel({ bearerToken: token, serverURL: cfg.serverURL, httpClient, retryConfig: { strategy: "none" } });

function fail(call, message) {
  console.log(JSON.stringify({ call, ok: false, error: message }));
  process.exit(1);
}

function unwrap(schema) {
  for (;;) {
    const def = schema?._def;
    if (!def) return schema;
    if (def.typeName === "ZodEffects") schema = def.schema;
    else if (def.typeName === "ZodLazy") schema = def.getter();
    else if (def.typeName === "ZodOptional" || def.typeName === "ZodNullable") schema = def.innerType;
    else if (def.typeName === "ZodPipeline") schema = def.in;
    else return schema;
  }
}

function container(schema, value) {
  // the object/array schema to descend into for value (through the SDK's optional/nullable unions), or null
  const s = unwrap(schema);
  const kind = s?._def?.typeName;
  if (kind === "ZodObject" && value && typeof value === "object" && !Array.isArray(value)) return s;
  if (kind === "ZodArray" && Array.isArray(value)) return s;
  if (kind === "ZodUnion" && value !== null && value !== undefined) {
    const found = s._def.options.map((o) => container(o, value)).filter(Boolean);
    return found.length === 1 ? found[0] : null;
  }
  return null;
}

// Field paths whose value the schema rejects or only accepts by coercion (missing, null, or of another type).
function coerced(schema, value, path = "") {
  const s = container(schema, value);
  if (s?._def.typeName === "ZodObject") {
    const shape = s.shape;
    return Object.keys(shape).flatMap((k) => coerced(shape[k], value[k], path ? `${path}.${k}` : k));
  }
  if (s?._def.typeName === "ZodArray") return value.flatMap((v, i) => coerced(s._def.type, v, `${path}[${i}]`));
  const counter = startCountingUnrecognized();
  const ok = schema.safeParse(value).success;
  const count = counter.end();
  return ok && count === 0 ? [] : [`${path || "(body)"}${ok ? " (coerced)" : " (rejected)"}: ${JSON.stringify(value)}`];
}

async function call(name, schema, run, check = () => null) {
  lastBody = null;
  let result;
  try {
    result = await run();
  } catch (err) {
    fail(name, `${err.constructor?.name}: ${err.message}`.slice(0, 2000));
  }
  if (schema) {
    const raw = JSON.parse(lastBody ?? "null");
    const bad = coerced(schema, raw);
    if (bad.length) fail(name, `response off the published schema: ${bad.join("; ")}`);
  }
  const problem = check(result);
  if (problem) fail(name, problem);
  console.log(JSON.stringify({ call: name, ok: true }));
  return result;
}

async function refused(name, status, run) {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof VercelError)) fail(name, `${err.constructor?.name}: ${err.message}`);
    const body = JSON.parse(err.body || "null");
    if (err.statusCode !== status) fail(name, `HTTP ${err.statusCode}, expected ${status}`);
    if (typeof body?.error?.code !== "string" || typeof body?.error?.message !== "string") {
      fail(name, `error body is not {"error": {"code", "message"}}: ${err.body}`);
    }
    console.log(JSON.stringify({ call: name, ok: true, status }));
    return;
  }
  fail(name, `succeeded, expected HTTP ${status}`);
}

if (cfg.job) {
  const { kind, to, expect } = cfg.job;
  const request = kind === "rollback" ? () => vercel.projects.requestRollback({ projectId: cfg.projectId, deploymentId: to, teamId: cfg.teamId })
    : () => vercel.projects.requestPromote({ projectId: cfg.projectId, deploymentId: to, teamId: cfg.teamId });
  await call(`projects.request${kind === "rollback" ? "Rollback" : "Promote"}`, null, request);
  const seen = [];
  const until = Date.now() + 10_000;
  while (seen.length < expect.length) {
    const p = await call("projects.getProject", GetProjectResponseBody$inboundSchema,
      () => vercel.projects.getProject({ idOrName: cfg.projectId, teamId: cfg.teamId }),
      (p) => (p.lastAliasRequest?.type === kind && p.lastAliasRequest.toDeploymentId === to ? null
        : `lastAliasRequest: ${JSON.stringify(p.lastAliasRequest)}`));
    const status = p.lastAliasRequest.jobStatus;
    if (seen[seen.length - 1] !== status) seen.push(status);
    if (seen.some((s, i) => s !== expect[i])) fail("projects.getProject", `jobStatus went ${seen.join(" → ")}, expected ${expect.join(" → ")}`);
    if (Date.now() > until) fail("projects.getProject", `jobStatus still ${status} after 10 s, expected ${expect.join(" → ")}`);
    if (seen.length < expect.length) await new Promise((r) => setTimeout(r, 100));
  }
  console.log(JSON.stringify({ call: "job", ok: true, states: seen, production: (await vercel.projects.getProject({ idOrName: cfg.projectId, teamId: cfg.teamId })).targets?.production?.id }));
  process.exit(0);
}

const recent = (d) => d instanceof Date && Math.abs(Date.now() - d.getTime()) < 86_400_000;
const { teamId, projectId, older, newer, productionDomain, customAlias } = cfg;

await call("aliases.assignAlias", AssignAliasResponseBody$inboundSchema,
  () => vercel.aliases.assignAlias({ id: newer, teamId, requestBody: { alias: customAlias } }),
  (r) => (r.alias === customAlias && recent(r.created) ? null : `alias/created: ${r.alias} ${r.created}`));
await call("aliases.getAlias", GetAliasResponseBody$inboundSchema,
  () => vercel.aliases.getAlias({ idOrAlias: customAlias, teamId }),
  (r) => (r.deploymentId === newer && r.projectId === projectId && recent(r.created) ? null
    : `deploymentId/projectId/created: ${r.deploymentId} ${r.projectId} ${r.created}`));
await call("deployments.getDeployment", GetDeploymentResponseBody2$inboundSchema,
  () => vercel.deployments.getDeployment({ idOrUrl: older, teamId }),
  (d) => (d.id === older && d.projectId === projectId && recent(new Date(d.createdAt)) ? null
    : `id/projectId/createdAt: ${d.id} ${d.projectId} ${d.createdAt}`));
await call("projects.requestPromote", null, () => vercel.projects.requestPromote({ projectId, deploymentId: newer, teamId }));
await call("projects.getProject", GetProjectResponseBody$inboundSchema,
  () => vercel.projects.getProject({ idOrName: projectId, teamId }),
  (p) => (p.lastAliasRequest?.type === "promote" && p.lastAliasRequest.jobStatus === "succeeded"
    && p.targets?.production?.id === newer ? null : `after promote: ${JSON.stringify(p.lastAliasRequest)}`));
await call("projects.requestRollback", null,
  () => vercel.projects.requestRollback({ projectId, deploymentId: older, teamId }));
await call("projects.getProject (rolled back)", GetProjectResponseBody$inboundSchema,
  () => vercel.projects.getProject({ idOrName: projectId, teamId }),
  (p) => (p.lastAliasRequest?.type === "rollback" && p.lastRollbackTarget && p.targets?.production?.id === older
    ? null : `after rollback: ${JSON.stringify(p.lastAliasRequest)}`));
await call("aliases.getAlias (production domain)", GetAliasResponseBody$inboundSchema,
  () => vercel.aliases.getAlias({ idOrAlias: productionDomain, teamId }),
  (r) => (r.deploymentId === older ? null : `production domain on ${r.deploymentId}, expected ${older}`));
await refused("aliases.getAlias without teamId", 404, () => vercel.aliases.getAlias({ idOrAlias: customAlias }));
await refused("aliases.getAlias with a wrong teamId", 403,
  () => vercel.aliases.getAlias({ idOrAlias: customAlias, teamId: "team_notamemberof" }));
await refused("projects.requestRollback without teamId", 404,
  () => vercel.projects.requestRollback({ projectId, deploymentId: older }));
await call("projects.requestPromote (roll forward)", null,
  () => vercel.projects.requestPromote({ projectId, deploymentId: newer, teamId }));
await call("aliases.deleteAlias", DeleteAliasResponseBody$inboundSchema,
  () => vercel.aliases.deleteAlias({ aliasId: customAlias, teamId }),
  (r) => (r.status === "SUCCESS" ? null : `status ${r.status}`));
