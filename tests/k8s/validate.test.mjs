// Proves that every overlay of k8s/ renders into objects that the real schemas accept, unknown
// fields included: each object is validated by its npm model (Kubernetes, Strimzi, CloudNativePG,
// Prometheus Operator, cert-manager) and type-checked by tsc as a literal of the model's
// interface, which refuses a field the schema does not declare. A broken fixture proves the
// second check can fail.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import test from "node:test";

import { cache, describe, readObjects, renderedFixture, typeCheck, validateWithModels } from "./lib.mjs";

const overlays = readdirSync(path.join(cache, "rendered", "overlays"))
  .map((file) => path.basename(file, ".yaml"))
  .sort();

test("the overlays dev, prod and prod-cert-manager are rendered", () => {
  assert.deepEqual(overlays, ["dev", "prod", "prod-cert-manager"]);
});

for (const overlay of overlays) {
  const objects = readObjects(path.join(cache, "rendered", "overlays", `${overlay}.yaml`));

  test(`overlay ${overlay}: every object passes its schema's validate()`, async () => {
    assert.ok(objects.length > 0);
    assert.deepEqual(await validateWithModels(objects), []);
    console.log(`overlay ${overlay}: ${objects.length} objects validated:`,
      [...new Set(objects.map((object) => object.kind))].sort().join(", "));
  });

  test(`overlay ${overlay}: no object has a field its schema does not declare`, () => {
    assert.deepEqual(typeCheck(objects, overlay), []);
  });

  test(`overlay ${overlay}: every object is namespaced into the overlay's namespace`, () => {
    const expected = overlay === "dev" ? "fxmesh-dev" : "fxmesh";
    const elsewhere = objects.filter((object) => object.metadata.namespace !== expected);
    assert.deepEqual(elsewhere.map(describe), []);
    assert.ok(!objects.some((object) => object.kind === "Namespace"),
      "a Namespace in the kustomization would be deleted by kubectl delete -k");
  });
}

test("misspelled fields in a Deployment, a KafkaTopic and a CNPG Cluster are refused", async () => {
  const objects = readObjects(renderedFixture("misspelled-fields"));
  const problems = [...(await validateWithModels(objects)), ...typeCheck(objects, "misspelled-fields")];
  for (const [object, field] of [
    ["Deployment/krw-ledger", "readinesProbe"],
    ["KafkaTopic/fxmesh-branch-commands", "replica"],
    ["Cluster/fx-ledger-db", "enablePodAntiAfinity"],
  ]) {
    assert.ok(problems.some((problem) => problem.startsWith(object) && problem.includes(`'"${field}"'`)),
      `${object}.${field} was not refused; problems: ${problems.join("\n")}`);
  }
  // And nothing else in it: the rest is the prod overlay, which is valid.
  assert.equal(problems.length, 3, problems.join("\n"));
});

test("a field of the wrong type is refused by the schema itself", async () => {
  const objects = readObjects(renderedFixture("misspelled-fields"));
  const topic = structuredClone(objects.find((object) => object.kind === "KafkaTopic"));
  topic.spec.partitions = "twelve";
  const problems = await validateWithModels([topic]);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /partitions/);
});
