"""Results: compute plain data from stored trials, then render it."""

from hpsweep.results._compute import StudyData
from hpsweep.results._compute import StudyInfo
from hpsweep.results._compute import TrialRecord
from hpsweep.results._compute import best_records
from hpsweep.results._compute import record_of
from hpsweep.results._compute import study_data
from hpsweep.results._compute import study_info
from hpsweep.results._compute import summarize
from hpsweep.results._compute import trial_records
from hpsweep.results._read import read_studies
from hpsweep.results._read import read_study
from hpsweep.results._text import render_info

__all__ = [
    "StudyData",
    "StudyInfo",
    "TrialRecord",
    "best_records",
    "read_studies",
    "read_study",
    "record_of",
    "render_info",
    "study_data",
    "study_info",
    "summarize",
    "trial_records",
]
