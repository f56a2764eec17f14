"""The Zoho Books (API v3) sandbox: eight data centres, Zoho Accounts OAuth, contacts,
reporting tags and workflow webhooks. See `docs/vendors/zoho-sandbox.md`."""
