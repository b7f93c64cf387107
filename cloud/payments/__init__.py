"""Payments through BTCPay Server: the Greenfield client, the webhook, and a simulator."""
