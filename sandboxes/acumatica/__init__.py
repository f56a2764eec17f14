"""The Acumatica ERP sandbox: a faithful simulator of the contract-based REST API."""
