// The checks behind scripts/deploy.sh that read something: the Wrangler configuration (read
// with wrangler's own reader, so TOML, JSON and every form wrangler accepts mean what they mean
// to `wrangler deploy`), the output of `wrangler secret list` and of the root-principal query.
// Run by scripts/deploy.sh with the toolchain's Node; not meant to be run by hand.
//
//   node scripts/deploy-check.mjs config CONFIG [NAME:VALUE ...]
//     Checks the [vars] (with the --var overrides) and the D1 database of CONFIG. Prints one
//     `NAME=value` line per checked value; on a problem prints what to change to stderr, exit 1.
//   node scripts/deploy-check.mjs missing-secrets NAME ...   < `wrangler secret list` JSON
//     Prints the NAMEs the Worker does not have (space-separated; empty when none is missing).
//   node scripts/deploy-check.mjs root-principals DEV_PUBLIC_KEY   < `wrangler d1 execute --json`
//     Exit 1 when the development root key is an active principal; prints how many active
//     `*` principals there are.
//
// Out of scope: anything that needs Cloudflare (those are wrangler's calls in deploy.sh), and
// resolving DNS: a host is judged by its name or address alone.

import { unstable_readConfig } from "wrangler";
import { readFileSync } from "node:fs";
import { basename } from "node:path";

/// The placeholder `database_id` committed in wrangler.toml.
const PLACEHOLDER_DATABASE_ID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/// Special-use names that never resolve on the public internet (RFC 6761, 6762, 8375, 2606 and
/// ICANN's `.internal`).
const PRIVATE_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".test", ".invalid", ".example"];
const DOCUMENTATION_DOMAINS = ["example.com", "example.net", "example.org"];

function fail(problems) {
  for (const problem of problems) process.stderr.write(`\x1b[31merror:\x1b[0m ${problem}\n`);
  process.exit(1);
}

/// The 4 numbers of a dotted-decimal IPv4 address, or null.
function ipv4(host) {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const numbers = parts.map(Number);
  return numbers.every((n) => n <= 255) ? numbers : null;
}

/// Why an IPv4 address is not publicly reachable, or null.
function ipv4Problem([a, b, c]) {
  if (a === 127) return "a loopback address";
  if (a === 0) return "an unspecified (0.0.0.0/8) address";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "a private (RFC 1918) address";
  if (a === 169 && b === 254) return "a link-local address";
  if (a === 100 && b >= 64 && b <= 127) return "a shared (carrier-grade NAT) address";
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) {
    return "a documentation address";
  }
  if (a >= 224) return "a multicast or reserved address";
  return null;
}

/// Why an IPv6 address (as the URL parser writes it, without brackets) is not publicly
/// reachable, or null. An IPv4-mapped address is judged as its IPv4 address.
function ipv6Problem(host) {
  if (host === "::1") return "a loopback address";
  if (host === "::") return "an unspecified address";
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped) {
    const [high, low] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    return ipv4Problem([high >> 8, high & 255, low >> 8, low & 255]);
  }
  if (/^f[cd]/.test(host)) return "a unique local (private) address";
  if (/^fe[89ab]/.test(host)) return "a link-local address";
  if (host.startsWith("2001:db8:")) return "a documentation address";
  return null;
}

/// Why `host` (a URL's hostname, lower case) cannot be reached by the providers, or null.
function hostProblem(host) {
  const name = host.replace(/\.$/, "");
  if (name.startsWith("[")) return ipv6Problem(name.slice(1, -1));
  const address = ipv4(name);
  if (address) return ipv4Problem(address);
  if (name === "localhost") return "localhost";
  const suffix = PRIVATE_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return `a ${suffix} name, which does not resolve on the internet`;
  if (DOCUMENTATION_DOMAINS.some((d) => name === d || name.endsWith(`.${d}`))) {
    return "a documentation placeholder domain";
  }
  if (!name.includes(".")) return "a single-label name, which does not resolve on the internet";
  return null;
}

/// Why `value` is not a public https URL (a bare origin when `origin` is true), or null.
function urlProblem(value, origin) {
  let url;
  try {
    url = new URL(value);
  } catch {
    return "not a URL";
  }
  const host = hostProblem(url.hostname);
  const path = url.pathname !== "/" || url.search || url.hash || value.endsWith("?");
  const reasons = [
    url.protocol !== "https:" && `${url.protocol}// instead of https://`,
    host && `its host ${url.hostname} is ${host}`,
    (url.username || url.password) && "it carries a user name or password",
    origin && path && "it has a path, query or fragment (the worker serves its routes at the origin)",
  ].filter(Boolean);
  return reasons.length > 0 ? reasons.join("; ") : null;
}

const ADVICE = {
  PUBLIC_BASE_URL:
    "the public https origin this Worker is served at (its workers.dev URL, e.g. https://channel-edge.<your subdomain>.workers.dev, or a custom domain routed to it), with no path",
  AGENT_RUNTIME_URL: "the public https URL where the agent runtime receives envelopes",
};

/// The effective [vars]: the config's, then each `NAME:VALUE` override. Each with its source.
function effectiveVars(config, configName, overrides) {
  const vars = new Map(Object.entries(config.vars ?? {}).map(([k, v]) => [k, { value: String(v), from: `${configName} [vars]` }]));
  for (const override of overrides) {
    const colon = override.indexOf(":");
    if (colon < 1) fail([`--var ${override}: write it NAME:VALUE`]);
    vars.set(override.slice(0, colon), { value: override.slice(colon + 1), from: "--var" });
  }
  return vars;
}

/// Problems with every `*_URL` var; PUBLIC_BASE_URL and AGENT_RUNTIME_URL are required.
function varProblems(vars) {
  const problems = [];
  for (const name of Object.keys(ADVICE)) {
    if (!vars.has(name)) problems.push(`${name} is not set: set it to ${ADVICE[name]}, in [vars] or with --var ${name}:https://…`);
  }
  for (const [name, { value, from }] of vars) {
    if (!name.endsWith("_URL")) continue;
    const problem = urlProblem(value, name === "PUBLIC_BASE_URL");
    if (!problem) continue;
    const advice = ADVICE[name] ?? "the provider's public https API origin (the value wrangler.toml commits)";
    problems.push(`${name} is "${value}" (${from}): ${problem}. Set it to ${advice}, in [vars] or with --var ${name}:https://…`);
  }
  return problems;
}

/// Problems with the `DB` D1 database's id.
function databaseProblems(config, configName) {
  const db = (config.d1_databases ?? []).find((d) => d.binding === "DB");
  const create = "create the database with `npx wrangler d1 create channel-edge` and put the id it prints";
  if (!db) return [`${configName} has no [[d1_databases]] with binding = "DB": put back the one wrangler.toml commits`];
  const id = db.database_id ?? "";
  if (PLACEHOLDER_DATABASE_ID.test(id)) {
    return [`database_id of the DB database in ${configName} is still the placeholder ${id}: ${create} into database_id`];
  }
  if (!UUID.test(id)) return [`database_id of the DB database in ${configName} is "${id}", not a D1 database id: ${create} into database_id`];
  return [];
}

function checkConfig(configPath, overrides) {
  const configName = basename(configPath);
  const config = unstable_readConfig({ config: configPath });
  const vars = effectiveVars(config, configName, overrides);
  const problems = [...varProblems(vars), ...databaseProblems(config, configName)];
  if (problems.length > 0) fail(problems);
  for (const name of Object.keys(ADVICE)) process.stdout.write(`${name}=${vars.get(name).value}\n`);
  const db = config.d1_databases.find((d) => d.binding === "DB");
  process.stdout.write(`DATABASE=${db.database_name} (${db.database_id})\n`);
  process.stdout.write(`WORKER=${config.name}\n`);
}

/// The JSON array in `text` (wrangler may print more around it).
function jsonArray(text, what) {
  const [start, end] = [text.indexOf("["), text.lastIndexOf("]")];
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    fail([`could not read ${what} from wrangler's output:\n${text}`]);
  }
}

function missingSecrets(required) {
  const have = new Set(jsonArray(readFileSync(0, "utf8"), "the secret list").map((s) => s.name));
  process.stdout.write(required.filter((name) => !have.has(name)).join(" ") + "\n");
}

function rootPrincipals(devPublicKey) {
  const output = jsonArray(readFileSync(0, "utf8"), "the principals");
  const rows = output.flatMap((result) => result.results ?? []);
  const dev = rows.filter((row) => row.public_key === devPublicKey);
  if (dev.length > 0) {
    fail([
      `principal ${dev[0].id} holds the DEV-ONLY root key (seed/DEV-ONLY-root-key.pem, whose private key is in this repository): ` +
        `anyone could administer this deployment. Revoke it (POST /v1/principals/${dev[0].id}/revoke with your own root's token, ` +
        `or UPDATE principals SET status = 'revoked' WHERE id = '${dev[0].id}' with wrangler d1 execute DB --remote) before deploying`,
    ]);
  }
  process.stdout.write(`${rows.length}\n`);
}

const [command, ...args] = process.argv.slice(2);
if (command === "config") checkConfig(args[0], args.slice(1));
else if (command === "missing-secrets") missingSecrets(args);
else if (command === "root-principals") rootPrincipals(args[0]);
else fail([`unknown command ${command}: config, missing-secrets or root-principals`]);
