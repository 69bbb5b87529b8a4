import sys

from detr_watch.cli import main

sys.exit(main())
