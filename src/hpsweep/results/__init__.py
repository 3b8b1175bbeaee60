"""Results: compute plain data from stored trials, then render it."""

from hpsweep.report._compute import StudyData
from hpsweep.report._compute import StudyInfo
from hpsweep.report._compute import TrialRecord
from hpsweep.report._compute import best_records
from hpsweep.report._compute import record_of
from hpsweep.report._compute import study_data
from hpsweep.report._compute import study_info
from hpsweep.report._compute import summarize
from hpsweep.report._compute import trial_records
from hpsweep.report._read import read_studies
from hpsweep.report._read import read_study
from hpsweep.report._text import render_info

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
