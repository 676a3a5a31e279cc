"""The charting pages under /app: server-rendered templates over the same services as the API."""
