import os
import sys

# the suite runs from a clean clone without installing the project: make its packages importable
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
