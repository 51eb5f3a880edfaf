import sys
from pathlib import Path

# tests import their helpers (helpers.py, bug_zoo.py) as plain modules
sys.path.insert(0, str(Path(__file__).resolve().parent))
