// A small model of Kubernetes NetworkPolicy semantics, for asserting who may reach whom in a
// rendered overlay: a pod selected by a policy of a direction is isolated in that direction and
// admits only what some rule of those policies allows; a pod no policy selects admits everything.
// Ports are numbers (no named ports); endPort and ipBlock are not modelled.

export function matchesSelector(selector, labels) {
  if (selector === undefined || selector === null) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values } of selector.matchExpressions ?? []) {
    const has = key in labels;
    if (operator === "In" && !(has && values.includes(labels[key]))) return false;
    if (operator === "NotIn" && has && values.includes(labels[key])) return false;
    if (operator === "Exists" && !has) return false;
    if (operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// Whether `peer` (a from/to entry of a policy in `policyNamespace`) names `pod`.
function peerMatches(peer, pod, policyNamespace) {
  if (peer.ipBlock) return false;
  const namespaceMatches = peer.namespaceSelector
    ? matchesSelector(peer.namespaceSelector, pod.namespaceLabels)
    : pod.namespace === policyNamespace;
  const podMatches = peer.podSelector ? matchesSelector(peer.podSelector, pod.labels) : true;
  return namespaceMatches && podMatches;
}

function portMatches(ports, port, protocol) {
  if (!ports || ports.length === 0) return true;
  return ports.some((entry) => (entry.port === undefined || entry.port === port) &&
    (entry.protocol ?? "TCP") === protocol);
}

function policiesFor(policies, pod, type) {
  return policies.filter((policy) => policy.metadata.namespace === pod.namespace &&
    matchesSelector(policy.spec.podSelector, pod.labels) &&
    (policy.spec.policyTypes ?? ["Ingress"]).includes(type));
}

function admits(policies, pod, type, peer, port, protocol) {
  const selecting = policiesFor(policies, pod, type);
  if (selecting.length === 0) return true;
  const key = type === "Ingress" ? "ingress" : "egress";
  const peerKey = type === "Ingress" ? "from" : "to";
  return selecting.some((policy) => (policy.spec[key] ?? []).some((rule) =>
    portMatches(rule.ports, port, protocol) &&
    (!rule[peerKey] || rule[peerKey].length === 0 ||
     rule[peerKey].some((entry) => peerMatches(entry, peer, policy.metadata.namespace)))));
}

// Whether a connection from pod `source` to pod `target` on `port` is allowed by `policies`.
// A pod is { namespace, namespaceLabels, labels }.
export function allowed(policies, source, target, port, protocol = "TCP") {
  return admits(policies, source, "Egress", target, port, protocol) &&
    admits(policies, target, "Ingress", source, port, protocol);
}
