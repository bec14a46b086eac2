"""Typed payloads for the events the example handlers use. Extra fields are kept
(providers add fields without notice), so a model only names what code reads."""
