"""Shared machinery every domain uses: errors, pagination, concurrency, audit, request context."""
