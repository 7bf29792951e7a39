"""The AWS services the emulator adds to or changes in moto, one module per service."""
