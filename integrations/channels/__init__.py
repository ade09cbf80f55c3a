"""One package per channel (client, mapping, adapter, webhooks); each declares its `CHANNEL`."""
