"""The Expensify Integration Server sandbox: one endpoint, jobs in `requestJobDescription`.

See `docs/vendors/expensify-sandbox.md`; facts from `../shared/vendors/expensify.md`.
"""
