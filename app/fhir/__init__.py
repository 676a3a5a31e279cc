"""FHIR R4 views of the record: resource mapping, the read/search API, and patient Bundles."""
