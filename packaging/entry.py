"""Frozen entry point: PyInstaller needs a script, the app itself lives in softphone.app."""

import sys

from softphone.app import main

if __name__ == "__main__":
    sys.exit(main())
