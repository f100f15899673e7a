"""Project templates: copier trees shipped in the wheel, rendered by ``lakesmith init``.

``files/`` is the copier template (``copier.yml`` at its top): batch-medallion, streaming and
ml-feature share ``files/project``; the monorepo has ``files/monorepo``; ``files/shared`` holds
partials both include. :mod:`.store` versions them in git so ``copier update`` can merge.
"""

from __future__ import annotations

from .answers import TEMPLATES as TEMPLATES
from .answers import InitAnswers as InitAnswers
