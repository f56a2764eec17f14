"""The FreshBooks sandbox: OAuth, identity, accounting, ledger, team members and callbacks.

See `docs/vendors/freshbooks-sandbox.md`; facts come from `../shared/vendors/freshbooks.md`.
"""
