// Shared by the k8s/ checks: reads what scripts/k8s-tools.sh rendered, and checks objects against
// the schemas of the npm packages it installed (FXMESH_K8S_CACHE names that folder).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const cache = process.env.FXMESH_K8S_CACHE;
if (!cache) throw new Error("FXMESH_K8S_CACHE is not set (scripts/k8s-tools.sh's folder)");
const modules = path.join(cache, "node_modules");
const require = createRequire(path.join(cache, "package.json"));
const YAML = require("yaml");

// The npm package that holds the schemas of each API group ("" is the core group).
const packageOfGroup = {
  "kafka.strimzi.io": "@kubernetes-models/strimzi-kafka-operator",
  "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "cert-manager.io": "@kubernetes-models/cert-manager",
};

// The objects of one rendered file (a multi-document YAML stream).
export function readObjects(file) {
  return YAML.parseAllDocuments(readFileSync(file, "utf8"))
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
      return document.toJS();
    })
    .filter((object) => object !== null);
}

export const renderedOverlay = (name) => path.join(cache, "rendered", "overlays", `${name}.yaml`);
export const renderedFixture = (name) => path.join(cache, "rendered", "fixtures", `${name}.yaml`);

export function describe(object) {
  return `${object.kind}/${object.metadata?.name}`;
}

// Where an object's model lives: package, the module inside it, and the class (and I<Kind>
// interface) name.
function modelOf(object) {
  const [group, version] = object.apiVersion.includes("/")
    ? object.apiVersion.split("/")
    : ["", object.apiVersion];
  const pkg = group === "" || !(group in packageOfGroup) ? "kubernetes-models" : packageOfGroup[group];
  if (pkg === "kubernetes-models" && group.includes(".") && !group.endsWith(".k8s.io")) {
    return null;  // a custom resource of a group no package here describes
  }
  const groupDirectory = group === "" ? "" : `${group}/`;
  return { pkg, module: `${pkg}/${groupDirectory}${version}/${object.kind}`, kind: object.kind };
}

// Validates each object with its model's validate() (the package's JSON schema). Returns one
// message per invalid or unknown object.
export async function validateWithModels(objects) {
  const problems = [];
  for (const object of objects) {
    const model = modelOf(object);
    if (model === null) {
      problems.push(`${describe(object)}: no schema for ${object.apiVersion}`);
      continue;
    }
    const file = [".js", ".mjs"]
      .map((suffix) => path.join(modules, model.module + suffix))
      .find((candidate) => existsSync(candidate));
    if (file === undefined) {
      problems.push(`${describe(object)}: no model ${model.module}`);
      continue;
    }
    const imported = await import(pathToFileURL(file).href);
    const Model = imported[model.kind] ?? imported.default?.[model.kind];
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${describe(object)}: ${error.message}`);
    }
  }
  return problems;
}

// Type-checks each object as a literal of its model's TypeScript interface, with tsc --strict.
// TypeScript refuses a property that the interface does not declare ("excess property"), which
// the JSON schemas allow: this is what rejects a misspelled field. Returns tsc's messages, each
// naming the object.
export function typeCheck(objects, label) {
  const directory = path.join(cache, "typecheck", label);
  mkdirSync(directory, { recursive: true });
  const lines = [];
  const names = [];
  objects.forEach((object, index) => {
    const model = modelOf(object);
    if (model === null) return;
    lines.push(`import type { I${model.kind} as T${index} } from "${model.module}";`);
    names.push(describe(object));
  });
  objects.forEach((object, index) => {
    if (modelOf(object) === null) return;
    lines.push(`// ${describe(object)}`);
    lines.push(`export const o${index}: T${index} = ${JSON.stringify(object, null, 1)};`);
  });
  const source = path.join(directory, "objects.ts");
  writeFileSync(source, lines.join("\n") + "\n");
  writeFileSync(path.join(directory, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext",
      target: "es2022", skipLibCheck: true, types: [],
    },
    files: ["objects.ts"],
  }));
  // tsc resolves packages from the nearest node_modules: link the cache's.
  const link = path.join(directory, "node_modules");
  if (!existsSync(link)) execFileSync("ln", ["-s", modules, link]);
  try {
    execFileSync("nice", [path.join(modules, ".bin", "tsc"), "-p", directory, "--pretty", "false"],
      { encoding: "utf8", stdio: "pipe" });
    return [];
  } catch (error) {
    const output = `${error.stdout ?? ""}${error.stderr ?? ""}`.replaceAll(/\S*objects\.ts/g, "objects.ts");
    const sourceLines = readFileSync(source, "utf8").split("\n");
    // Name the object each message is about: the nearest "// Kind/name" line above it.
    return output.split("\n").filter((line) => line.includes("error")).map((line) => {
      const match = /objects\.ts\((\d+),/.exec(line);
      if (!match) return line;
      for (let i = Number(match[1]) - 1; i >= 0; --i) {
        if (sourceLines[i].startsWith("// ")) return `${sourceLines[i].slice(3)}: ${line}`;
      }
      return line;
    });
  }
}
