"""Defaults shared by the server and the client commands."""

DEFAULT_PORT = 8080
