// Proves the alert rules of the prod overlay load and behave: the rules of the rendered
// PrometheusRule pass `promtool check rules`, and `promtool test rules` runs alerts_test.yaml
// against them, which must hold a firing case for every alert.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";

import { cache, readObjects, renderedOverlay } from "./lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const directory = path.join(cache, "alerts");
const rule = readObjects(renderedOverlay("prod")).find((object) => object.kind === "PrometheusRule");
const alerts = [...new Set(rule.spec.groups.flatMap((group) => group.rules.map((r) => r.alert)))];

mkdirSync(directory, { recursive: true });
// JSON is YAML: promtool reads the rule groups as the PrometheusRule's spec holds them.
writeFileSync(path.join(directory, "rules.yaml"), JSON.stringify({ groups: rule.spec.groups }, null, 1));
copyFileSync(path.join(here, "alerts_test.yaml"), path.join(directory, "alerts_test.yaml"));

// promtool's exit status and everything it printed (it reports on stderr).
function promtool(...args) {
  const run = spawnSync("promtool", args, { cwd: directory, encoding: "utf8" });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test("promtool check rules accepts the rules", () => {
  const { status, output } = promtool("check", "rules", "rules.yaml");
  assert.equal(status, 0, output);
  // Lint findings (such as two rules of one name and labels) are printed as FAILED with status 0.
  assert.doesNotMatch(output, /FAILED/, output);
  assert.match(output, new RegExp(`SUCCESS: ${rule.spec.groups.flatMap((g) => g.rules).length} rules found`));
});

test("every alert has a firing case in alerts_test.yaml", () => {
  const YAML = createRequire(path.join(cache, "package.json"))("yaml");
  const tests = YAML.parse(readFileSync(path.join(here, "alerts_test.yaml"), "utf8")).tests;
  const firing = new Set(tests.flatMap((t) => t.alert_rule_test)
    .filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname));
  assert.deepEqual(alerts.filter((alert) => !firing.has(alert)), []);
  console.log(`${alerts.length} alerts, each with a firing case`);
});

test("promtool test rules passes alerts_test.yaml", () => {
  const { status, output } = promtool("test", "rules", "alerts_test.yaml");
  assert.equal(status, 0, output);
  assert.match(output, /SUCCESS/);
});
