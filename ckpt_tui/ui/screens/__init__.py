"""Modal screens, one module per screen."""
