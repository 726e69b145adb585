// Asserts what the prod overlay promises (docs/kubernetes.md), on its rendered objects, so that a later
// change cannot silently drop it: probes, resources and restricted security on every pod; two
// replicas, spread and a PodDisruptionBudget for every Deployment; one KafkaTopic per topic of
// src/kafka/topics.h with its settings; a CNPG cluster per service, the schema owner only in the
// migration Jobs; a PodMonitor per service; an alert per operator need, each in the runbook; and
// NetworkPolicy reachability between every pair of parts, in both directions.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";

import { readObjects, renderedOverlay } from "./lib.mjs";
import { allowed, matchesSelector } from "./network_policy.mjs";

const source = process.env.FXMESH_SOURCE_DIR;
if (!source) throw new Error("FXMESH_SOURCE_DIR is not set");
const objects = readObjects(renderedOverlay("prod"));
const ofKind = (kind) => objects.filter((object) => object.kind === kind);
const named = (kind, name) => {
  const found = ofKind(kind).find((object) => object.metadata.name === name);
  assert.ok(found, `${kind}/${name} is missing`);
  return found;
};
const services = ["krw-ledger", "fx-ledger", "coordinator", "relay"];
const grpcPort = { "krw-ledger": 50061, "fx-ledger": 50062, coordinator: 50051, relay: 50081 };
const databases = ["krw-ledger", "fx-ledger", "coordinator"];
const workloads = () => [...ofKind("Deployment"), ...ofKind("Job")];

test("a Deployment of two replicas per service, with probes, resources and its ports", () => {
  assert.deepEqual(ofKind("Deployment").map((d) => d.metadata.name).sort(), [...services].sort());
  for (const name of services) {
    const deployment = named("Deployment", name);
    assert.equal(deployment.spec.replicas, 2, name);
    const [container] = deployment.spec.template.spec.containers;
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      assert.ok(container[probe], `${name} has no ${probe}`);
    }
    // Under mutual TLS the probes use the metrics port: readiness follows gRPC health (/readyz),
    // liveness only that the process serves (/healthz).
    for (const [probe, probePath] of [["startupProbe", "/readyz"], ["readinessProbe", "/readyz"],
      ["livenessProbe", "/healthz"]]) {
      assert.deepEqual(container[probe].httpGet, { path: probePath, port: 9090 }, `${name} ${probe}`);
      assert.equal(container[probe].grpc, undefined, `${name} ${probe}`);
    }
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory, name);
    assert.ok(container.resources.limits.memory, name);
    const ports = Object.fromEntries(container.ports.map((port) => [port.name, port.containerPort]));
    assert.deepEqual(ports, { grpc: grpcPort[name], metrics: 9090 }, name);
    assert.ok(deployment.spec.template.spec.terminationGracePeriodSeconds >= 15, name);
  }
});

test("every pod meets Pod Security's restricted profile", () => {
  const namespace = readObjects(path.join(source, "k8s/namespaces/fxmesh.yaml"))[0];
  assert.equal(namespace.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
  for (const workload of workloads()) {
    const pod = workload.spec.template.spec;
    const name = workload.metadata.name;
    assert.equal(pod.securityContext.runAsNonRoot, true, name);
    assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault", name);
    assert.equal(pod.automountServiceAccountToken, false, name);
    for (const container of pod.containers) {
      assert.equal(container.securityContext.allowPrivilegeEscalation, false, name);
      assert.equal(container.securityContext.readOnlyRootFilesystem, true, name);
      assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"], name);
    }
    for (const volume of pod.volumes ?? []) {
      assert.ok(!volume.hostPath, `${name} mounts a hostPath`);
    }
  }
});

test("every replicated Deployment spreads over nodes and zones and prefers other nodes", () => {
  for (const deployment of ofKind("Deployment").filter((d) => d.spec.replicas > 1)) {
    const name = deployment.metadata.name;
    const pod = deployment.spec.template;
    const constraints = pod.spec.topologySpreadConstraints ?? [];
    const byKey = Object.fromEntries(constraints.map((c) => [c.topologyKey, c]));
    assert.equal(byKey["kubernetes.io/hostname"]?.whenUnsatisfiable, "DoNotSchedule", name);
    assert.ok(byKey["topology.kubernetes.io/zone"], `${name} is not spread over zones`);
    for (const constraint of constraints) {
      assert.ok(matchesSelector(constraint.labelSelector, pod.metadata.labels), name);
    }
    const [preferred] = pod.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    assert.ok(matchesSelector(preferred.podAffinityTerm.labelSelector, pod.metadata.labels), name);
  }
});

test("a PodDisruptionBudget per Deployment that lets one pod go and never blocks a drain", () => {
  for (const deployment of ofKind("Deployment")) {
    const name = deployment.metadata.name;
    const budgets = ofKind("PodDisruptionBudget").filter((budget) =>
      matchesSelector(budget.spec.selector, deployment.spec.template.metadata.labels));
    assert.equal(budgets.length, 1, `${name} has ${budgets.length} budgets`);
    const [budget] = budgets;
    const disruptions = budget.spec.maxUnavailable ?? deployment.spec.replicas - budget.spec.minAvailable;
    assert.equal(disruptions, 1, name);
  }
});

test("headless ledger Services, and every Service selects its Deployment's pods on a named port", () => {
  for (const name of ["krw-ledger", "fx-ledger"]) {
    assert.equal(named("Service", name).spec.clusterIP, "None", name);
  }
  for (const name of services) {
    const service = named("Service", name);
    assert.ok(matchesSelector({ matchLabels: service.spec.selector },
      named("Deployment", name).spec.template.metadata.labels), name);
    assert.deepEqual(service.spec.ports.map((port) => [port.port, port.targetPort]),
      [[grpcPort[name], "grpc"]], name);
  }
});

test("a KafkaTopic per topic of src/kafka/topics.h: 3 replicas, min.insync.replicas 2, retention", () => {
  const header = readFileSync(path.join(source, "src/kafka/topics.h"), "utf8");
  const topics = [...header.matchAll(/"(fxmesh\.[a-z0-9.]+)"/g)].map((match) => match[1]).sort();
  assert.equal(topics.length, 8);
  const declared = ofKind("KafkaTopic");
  assert.deepEqual(declared.map((topic) => topic.spec.topicName).sort(), topics);
  for (const topic of declared) {
    const name = topic.spec.topicName;
    assert.equal(topic.metadata.labels["strimzi.io/cluster"], "fxmesh-kafka", name);
    assert.equal(topic.spec.replicas, 3, name);
    assert.equal(topic.spec.config["min.insync.replicas"], 2, name);
    // At least a day: far beyond the longest retry tier (10 min).
    assert.ok(topic.spec.config["retention.ms"] >= 86_400_000, name);
    assert.ok(topic.spec.partitions >= 2, name);
  }
});

test("Kafka: KRaft with controller and broker node pools of three, replicated writes", () => {
  const kafka = named("Kafka", "fxmesh-kafka");
  assert.equal(kafka.metadata.annotations["strimzi.io/kraft"], "enabled");
  assert.equal(kafka.metadata.annotations["strimzi.io/node-pools"], "enabled");
  assert.equal(kafka.spec.zookeeper, undefined);
  assert.equal(kafka.spec.kafka.config["min.insync.replicas"], 2);
  assert.equal(kafka.spec.kafka.config["default.replication.factor"], 3);
  const pools = ofKind("KafkaNodePool");
  for (const role of ["controller", "broker"]) {
    const pool = pools.find((p) => p.spec.roles.includes(role));
    assert.ok(pool && pool.spec.replicas >= 3, role);
    assert.equal(pool.metadata.labels["strimzi.io/cluster"], "fxmesh-kafka");
  }
  const brokers = named("ConfigMap", "fxmesh-kafka").data.brokers;
  const listener = kafka.spec.kafka.listeners.find((l) => brokers.endsWith(`:${l.port}`));
  assert.ok(listener && listener.tls, `the services' bootstrap ${brokers} is not a TLS listener`);
});

test("a CNPG cluster per database; services log in without DDL, only the Jobs as the owner", () => {
  for (const name of databases) {
    const cluster = named("Cluster", `${name}-db`);
    assert.ok(cluster.spec.instances >= 3, name);
    assert.equal(cluster.spec.affinity.enablePodAntiAffinity, true, name);
    const owner = cluster.spec.bootstrap.initdb.owner;
    const [runtime] = cluster.spec.managed.roles;
    assert.notEqual(runtime.name, owner, name);
    assert.equal(runtime.superuser ?? false, false, name);
    assert.equal(runtime.createdb ?? false, false, name);
    assert.equal(runtime.passwordSecret.name, `${name}-db-runtime`, name);
    assert.ok(cluster.spec.postgresql.pg_hba.includes("hostnossl all all all reject"), name);

    const deployment = JSON.stringify(named("Deployment", name).spec.template.spec);
    assert.ok(deployment.includes(`${name}-db-runtime`) && !deployment.includes(`${name}-db-app`), name);
    const job = JSON.stringify(named("Job", `${name}-migrate`).spec.template.spec);
    assert.ok(job.includes(`${name}-db-app`) && !job.includes(`${name}-db-runtime`), name);
    // The Job migrates and exits; the service runs no DDL and refuses a schema that is behind.
    const [jobContainer] = named("Job", `${name}-migrate`).spec.template.spec.containers;
    assert.deepEqual(jobContainer.command, [`fxmesh-${name}`, "--migrate_only"], name);
    const [serviceContainer] = named("Deployment", name).spec.template.spec.containers;
    assert.equal(serviceContainer.env.find((e) => e.name === "FXMESH_MIGRATE")?.value, "check", name);
    assert.ok(!jobContainer.env.some((e) => e.name === "FXMESH_MIGRATE"), name);
    for (const workload of [named("Deployment", name), named("Job", `${name}-migrate`)]) {
      const [container] = workload.spec.template.spec.containers;
      const env = Object.fromEntries(container.env.map((e) => [e.name, e]));
      assert.match(env.FXMESH_DB.value, new RegExp(`^postgresql://\\$\\(DB_USER\\)@${name}-db-rw:5432/`));
      assert.match(env.FXMESH_DB.value, /sslmode=verify-full/);
      assert.ok(!/:[^@/]*@/.test(env.FXMESH_DB.value.replace("postgresql://", "")), "a password in the url");
      assert.equal(env.FXMESH_DB_PASSWORD_FILE.value, "/etc/fxmesh/db/password");
      // $(DB_USER) is expanded only from a variable defined before it.
      assert.ok(container.env.findIndex((e) => e.name === "DB_USER") <
        container.env.findIndex((e) => e.name === "FXMESH_DB"));
    }
  }
});

test("mutual TLS: every service mounts its Secret <service>-tls and names the three files", () => {
  for (const name of services) {
    const pod = named("Deployment", name).spec.template.spec;
    assert.equal(pod.volumes.find((v) => v.name === "tls").secret.secretName, `${name}-tls`);
    const env = pod.containers[0].env.map((e) => e.name);
    for (const variable of ["FXMESH_TLS_CERT", "FXMESH_TLS_KEY", "FXMESH_TLS_CA"]) {
      assert.ok(env.includes(variable), `${name} lacks ${variable}`);
    }
  }
});

test("a PodMonitor per service on its metrics port", () => {
  for (const name of services) {
    const monitor = named("PodMonitor", name);
    const deployment = named("Deployment", name);
    assert.ok(matchesSelector(monitor.spec.selector, deployment.spec.template.metadata.labels));
    const ports = deployment.spec.template.spec.containers[0].ports.map((port) => port.name);
    for (const endpoint of monitor.spec.podMetricsEndpoints) assert.ok(ports.includes(endpoint.port));
    assert.equal(monitor.spec.jobLabel, "app.kubernetes.io/name");
  }
});

test("an alert per operator need, on real metric names, each with a runbook line", () => {
  const rules = named("PrometheusRule", "fxmesh").spec.groups.flatMap((group) => group.rules);
  const alerts = new Map(rules.map((rule) => [rule.alert, rule]));
  const runbook = readFileSync(path.join(source, "docs/operations.md"), "utf8");
  // GitHub's anchor of each heading.
  const anchors = [...runbook.matchAll(/^#+ (.*)$/gm)].map((match) =>
    match[1].toLowerCase().replace(/[^a-z0-9 -]/g, "").replaceAll(" ", "-"));
  for (const [alert, metric] of [
    ["FxmeshSagasStuck", "stuck_sagas"],
    ["FxmeshDeadLettersPending", "dead_letters_pending"],
    ["FxmeshOutboxBacklog", "outbox_backlog"],
    ["FxmeshConsumerLag", "fxmesh_consumer_lag"],
    ["FxmeshLedgerInconsistent", "inconsistency"],
    ["FxmeshLedgerHoldsNotSettling", "fxmesh_ledger_held_holds"],
    ["FxmeshLedgerOutOfBalance", "fxmesh_ledger_balanced"],
    ["FxmeshServiceDown", "up"],
  ]) {
    assert.ok(alerts.has(alert), `no alert ${alert}`);
    assert.ok(alerts.get(alert).expr.includes(metric), `${alert} does not use ${metric}`);
  }
  for (const rule of rules) {
    for (const metric of rule.expr.match(/fxmesh_[a-z_]+/g) ?? []) {
      assert.ok(runbook.includes(`\`${metric}\``), `${rule.alert}: ${metric} is not in docs/operations.md`);
    }
    assert.ok(runbook.includes(`| \`${rule.alert}\``), `${rule.alert} has no runbook line`);
    const [file, anchor] = rule.annotations.runbook.split("#");
    assert.equal(file, "docs/operations.md", rule.alert);
    assert.ok(anchors.includes(anchor), `${rule.alert}: docs/operations.md has no section #${anchor}`);
  }
});

// The parts of the picture, each a pod: { namespace, namespaceLabels, labels, ports }.
function parts() {
  const namespaceLabels = (name, extra = {}) => ({ "kubernetes.io/metadata.name": name, ...extra });
  const fxmesh = namespaceLabels("fxmesh",
    readObjects(path.join(source, "k8s/namespaces/fxmesh.yaml"))[0].metadata.labels);
  const all = {};
  for (const workload of workloads()) {
    const name = workload.metadata.name;
    all[name] = { namespace: "fxmesh", namespaceLabels: fxmesh, labels: workload.spec.template.metadata.labels,
      ports: workload.kind === "Job" ? [] : [grpcPort[name], 9090] };
  }
  // The operators' pods, with the part-of label they may copy from their resources (Strimzi does).
  const partOf = { "app.kubernetes.io/part-of": "fxmesh" };
  for (const cluster of ofKind("Cluster")) {
    all[cluster.metadata.name] = { namespace: "fxmesh", namespaceLabels: fxmesh, ports: [5432, 8000],
      labels: { ...partOf, "cnpg.io/cluster": cluster.metadata.name, "cnpg.io/podRole": "instance" } };
  }
  all.kafka = { namespace: "fxmesh", namespaceLabels: fxmesh, ports: [9093], labels: { ...partOf,
    "strimzi.io/cluster": "fxmesh-kafka", "strimzi.io/kind": "Kafka", "strimzi.io/broker-role": "true" } };
  const outside = (name, namespace, nsExtra, labels, ports = []) => {
    all[name] = { namespace, namespaceLabels: namespaceLabels(namespace, nsExtra), labels, ports };
  };
  outside("gateway", "gateway", { "fxmesh.io/role": "gateway" }, { "fxmesh.io/role": "gateway" });
  outside("operator", "operators", { "fxmesh.io/role": "operator" }, { "fxmesh.io/role": "operator" });
  outside("prometheus", "monitoring", {}, { "app.kubernetes.io/name": "prometheus" });
  outside("cnpg-operator", "cnpg-system", {}, { "app.kubernetes.io/name": "cloudnative-pg" });
  outside("dns", "kube-system", {}, { "k8s-app": "kube-dns" }, [53]);
  outside("stranger", "default", {}, { app: "other" });
  // A pod of someone else's in the fxmesh namespace (a debugging pod, say).
  all["intruder"] = { namespace: "fxmesh", namespaceLabels: fxmesh, labels: { run: "debug" }, ports: [] };
  return all;
}

function expectedConnections() {
  const expected = new Set();
  const allow = (from, to, port) => expected.add(`${from} -> ${to}:${port}`);
  for (const name of Object.keys(parts())) allow(name, "dns", 53);
  for (const caller of ["coordinator", "relay"]) {
    allow(caller, "krw-ledger", 50061);
    allow(caller, "fx-ledger", 50062);
    allow(caller, "kafka", 9093);
  }
  for (const name of databases) {
    allow(name, `${name}-db`, 5432);
    allow(`${name}-migrate`, `${name}-db`, 5432);
    allow(`${name}-db`, `${name}-db`, 5432);
    allow("cnpg-operator", `${name}-db`, 5432);
    allow("cnpg-operator", `${name}-db`, 8000);
  }
  allow("gateway", "coordinator", 50051);
  allow("operator", "coordinator", 50051);
  allow("operator", "relay", 50081);
  for (const name of services) allow("prometheus", name, 9090);
  return expected;
}

test("NetworkPolicies: exactly the expected connections between every pair of parts", () => {
  const policies = [...ofKind("NetworkPolicy")];
  // Strimzi makes the Kafka listener's NetworkPolicy from its networkPolicyPeers.
  const listener = named("Kafka", "fxmesh-kafka").spec.kafka.listeners.find((l) => l.port === 9093);
  policies.push({ metadata: { name: "strimzi-listener", namespace: "fxmesh" }, spec: {
    podSelector: { matchLabels: { "strimzi.io/cluster": "fxmesh-kafka", "strimzi.io/broker-role": "true" } },
    policyTypes: ["Ingress"], ingress: [{ from: listener.networkPolicyPeers, ports: [{ port: 9093 }] }] } });

  const all = parts();
  const expected = expectedConnections();
  const wrong = [];
  let pairs = 0;
  for (const [fromName, from] of Object.entries(all)) {
    for (const [toName, to] of Object.entries(all)) {
      if (fromName === "kafka" && toName === "kafka") continue;  // Strimzi's own replication policy
      for (const port of to.ports) {
        const protocol = toName === "dns" ? "UDP" : "TCP";
        const key = `${fromName} -> ${toName}:${port}`;
        const actual = allowed(policies, { ...from }, { ...to }, port, protocol);
        pairs++;
        if (actual !== expected.has(key)) wrong.push(`${key}: ${actual ? "allowed" : "denied"}, expected ${actual ? "denied" : "allowed"}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
  console.log(`NetworkPolicy: ${pairs} connections checked, ${expected.size} allowed`);
});

test("NetworkPolicies leave the operators' own pods alone: Kafka among itself, CNPG to the API", () => {
  const policies = ofKind("NetworkPolicy");
  const all = parts();
  // The brokers' replication and controller ports, which Strimzi's own policies govern.
  for (const port of [9090, 9091]) assert.ok(allowed(policies, all.kafka, all.kafka, port), `kafka:${port}`);
  const apiServer = { namespace: "default", namespaceLabels: { "kubernetes.io/metadata.name": "default" },
    labels: { component: "apiserver" } };
  for (const name of databases) assert.ok(allowed(policies, all[`${name}-db`], apiServer, 443), name);
});
