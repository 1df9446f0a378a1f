// cedar-decide: answers authorization questions with Cedar's own authorizer (@cedar-policy/cedar-wasm),
// for tests/interop/cedar_differential_test.cpp.
//
// stdin: one JSON case per line: {"policies": {id: cedar text}, "entities": [...], "requests":
// [{"principal", "action", "resource", "context"}]}. stdout: one line per case, a JSON array with,
// per request, {"decision", "reasons": [ids], "errors": [ids]} (sorted), or {"failure": [messages]}
// when Cedar refused the input (a policy it could not parse, say).
'use strict';
const cedar = require('@cedar-policy/cedar-wasm/nodejs');
const readline = require('readline');

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (line) => {
  const c = JSON.parse(line);
  const answers = c.requests.map((r) => {
    const a = cedar.isAuthorized({
      principal: r.principal, action: r.action, resource: r.resource, context: r.context,
      policies: { staticPolicies: c.policies }, entities: c.entities,
    });
    if (a.type !== 'success') return { failure: a.errors.map((e) => e.message) };
    const d = a.response.diagnostics;
    return {
      decision: a.response.decision,
      reasons: [...d.reason].sort(),
      errors: [...new Set(d.errors.map((e) => e.policyId))].sort(),
    };
  });
  process.stdout.write(JSON.stringify(answers) + '\n');
});
