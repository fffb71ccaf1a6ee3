"""Modules of the codegen corpus that define classes with the same name (`Message`)."""
