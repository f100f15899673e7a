"""Project configuration: models, environment overlays, interpolation and validation."""

from .loader import ProjectConfig as ProjectConfig
from .loader import find_project as find_project
from .loader import load_project as load_project
