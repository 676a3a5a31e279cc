"""IMS Chart: electronic treatment records for Gunn IMS clinics."""
