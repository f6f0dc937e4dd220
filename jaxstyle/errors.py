"""The one error type for bad user input, so scripts can report it in one line."""


class InputError(ValueError):
  """Raised for bad user input: files, audio content, config values or shapes."""
