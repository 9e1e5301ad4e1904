"""Image build: copy from a full node_modules only the folders the pages serve
(settings.VENDOR_ASSETS), so test-only packages such as axe-core stay out of the image.

Usage: keep_vendor_assets.py FROM_NODE_MODULES TO_NODE_MODULES
"""

import shutil
import sys
from pathlib import Path

import django
from django.conf import settings


def main(source: Path, target: Path) -> None:
    django.setup()
    for folder in settings.VENDOR_ASSETS.values():
        shutil.copytree(source / folder, target / folder)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
