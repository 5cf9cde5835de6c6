// Validates every object of a rendered kustomization (`kustomize build openshift/`), one schema
// per kind, and fails on any kind it has no schema for, so that nothing is skipped in silence.
// Core Kubernetes kinds are checked by kubernetes-validate (scripts/test); this checks the rest.
// Usage: node validate.mjs RENDERED.yaml
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import Ajv from "ajv";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { Cluster } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster";
import { Pooler } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Pooler";
import { ScheduledBackup } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/ScheduledBackup";

const CORE = new Set([
  "v1/ConfigMap", "v1/Secret", "v1/Service", "apps/v1/Deployment", "batch/v1/Job",
  "batch/v1/CronJob", "autoscaling/v2/HorizontalPodAutoscaler", "policy/v1/PodDisruptionBudget",
]);

const ajv = new Ajv({ allErrors: true, strict: true });
const routeSchema = JSON.parse(readFileSync(new URL("./route.openshift.io_v1.schema.json", import.meta.url)));
const validateRoute = ajv.compile(routeSchema);

// The operators' models come from their CRDs: types, required fields and enums.
const models = {
  "postgresql.cnpg.io/v1/Cluster": (object) => new Cluster(object).validate(),
  "postgresql.cnpg.io/v1/Pooler": (object) => new Pooler(object).validate(),
  "postgresql.cnpg.io/v1/ScheduledBackup": (object) => new ScheduledBackup(object).validate(),
  "monitoring.coreos.com/v1/ServiceMonitor": (object) => new ServiceMonitor(object).validate(),
  "monitoring.coreos.com/v1/PrometheusRule": (object) => new PrometheusRule(object).validate(),
  "monitoring.coreos.com/v1/PodMonitor": (object) => new PodMonitor(object).validate(),
  "route.openshift.io/v1/Route": (object) => {
    if (!validateRoute(object)) {
      throw new Error(ajv.errorsText(validateRoute.errors, { dataVar: "route" }));
    }
  },
};

const file = process.argv[2];
const documents = parseAllDocuments(readFileSync(file, "utf8"));
let failures = 0;
for (const document of documents) {
  if (document.errors.length > 0) {
    console.error(`${file}: YAML error: ${document.errors[0].message}`);
    failures++;
    continue;
  }
  const object = document.toJS();
  if (object === null) continue;
  const type = `${object.apiVersion}/${object.kind}`;
  const what = `${object.kind}/${object.metadata?.name}`;
  if (CORE.has(type)) {
    console.log(`core ${what} (${object.apiVersion}): left to kubernetes-validate`);
  } else if (models[type]) {
    try {
      models[type](object);
      console.log(`validated ${what} (${object.apiVersion})`);
    } catch (error) {
      console.error(`INVALID ${what} (${object.apiVersion}): ${error.message}`);
      failures++;
    }
  } else {
    console.error(`NO SCHEMA for ${what} (${type}): add one to tests/manifests/validate.mjs`);
    failures++;
  }
}
if (documents.length === 0) {
  console.error(`${file}: no objects`);
  failures++;
}
process.exit(failures === 0 ? 0 : 1);
