"""Read models: a patient's whole record as the JSON, PDF and FHIR exports (and the FHIR API) read it."""
