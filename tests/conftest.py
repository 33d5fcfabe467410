pytest_plugins = ["tests.github_emulator.fixtures"]
