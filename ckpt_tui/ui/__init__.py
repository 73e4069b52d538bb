"""The Textual app. Only ``launch.run_app`` is imported by the CLI, and only in interactive mode."""
