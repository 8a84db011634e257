"""``python -m ffmotion``."""
import sys

from .launch import main

sys.exit(main())
