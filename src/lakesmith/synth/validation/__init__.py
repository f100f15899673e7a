"""Validation of a generated dataset: integrity, time order, derived tables, distributions."""

from .dataset import expected_schema as expected_schema
from .dataset import validate_dataset as validate_dataset
from .model import DistributionCheck as DistributionCheck
from .model import ValidationReport as ValidationReport
from .targets import clipped_poisson as clipped_poisson
from .targets import conversion_check as conversion_check
from .targets import education_check as education_check
from .targets import engagement_checks as engagement_checks
from .targets import household_checks as household_checks
from .targets import identifier_checks as identifier_checks
from .targets import income_median_check as income_median_check
from .targets import income_median_target as income_median_target
from .targets import response_rate_checks as response_rate_checks
from .targets import summary_line as summary_line
