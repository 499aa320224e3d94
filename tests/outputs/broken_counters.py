"""A provider whose own import fails: the adapter must let that error through (a bug),
not mistake it for "this app is not there yet"."""

import a_dependency_that_is_not_installed  # noqa: F401
