"""Plugging into other clinic software: API clients, the changes feed, webhooks, idempotent POSTs."""
