"""Tests of the I/O-free session core (src/openlive/session/), one file per core module,
all driving the core through :mod:`.harness`. A package, so that its module names
(``session.test_tokens``) do not clash with tests/sessions' socket tests."""
