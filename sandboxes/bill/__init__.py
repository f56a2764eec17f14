"""The BILL (v3 "Connect" API) sandbox. See `docs/vendors/bill-sandbox.md`."""
