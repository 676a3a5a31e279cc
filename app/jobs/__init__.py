"""Background work that knows no domain: the job table's runner, domain queues, heartbeats, the worker loop.

Domains register what they run (`app.jobs.registry`): a *job kind* is a row of the job table that the
runner claims, leases, heartbeats, fails or sees cancelled (`app.jobs.runner`); a *queue* is a domain's own
outbox (webhook deliveries) that the loop drains on every pass. The loop (`app.jobs.loop`) is what
`imschart worker` and the in-process thread run. Nothing here imports a domain: `app.tasks` imports the
domains' task modules once, which registers them.
"""
