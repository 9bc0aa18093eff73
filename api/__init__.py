"""The partner API's shared plumbing: one error shape, body limits, JSON-only failures."""
