"""Command line for operators: ``python manage.py <command>``; the commands live in the cli package."""

import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main())
