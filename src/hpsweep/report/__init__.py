"""Results: compute plain data from stored trials, then render it."""

from hpsweep.report._compute import StudyInfo
from hpsweep.report._compute import TrialRecord
from hpsweep.report._compute import best_records
from hpsweep.report._compute import record_of
from hpsweep.report._compute import study_info
from hpsweep.report._compute import trial_records

__all__ = [
    "StudyInfo",
    "TrialRecord",
    "best_records",
    "record_of",
    "study_info",
    "trial_records",
]
