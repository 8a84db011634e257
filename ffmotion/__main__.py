"""``python -m ffmotion``."""
import sys

from ffmotion.launch import main

sys.exit(main())
