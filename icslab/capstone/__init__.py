"""The capstone: teams predict attacks on sets they cannot score themselves, and submit.

    from icslab.capstone import submit, score
    score(flags, test.labels)          # S, S_TTD, S_CM, event recall, false alarms/day
    submit(flags, dataset="capstone")

`submit` checks the predictions against the dataset (one 0/1 flag per row, same
timestamps, nothing missing) and hands them in to the lab (icslab.handin), which
keeps every version for the participant's team; the leaderboard scores the latest
(`icslab leaderboard`, see icslab.capstone.leaderboard). Outside a lab it writes a practice
copy to `<submissions>/<team>/<dataset>.csv`, where `<submissions>` is
$ICSLAB_SUBMISSIONS, else ~/work/submissions.

Datasets a team can submit for (`DATASETS`):
- a plant dataset by name (the capstone's unseen `capstone`, or any other built
  one): a `timestamp,attack` row per second, timestamps as in its scada.parquet;
- `batadal-test` (BATADAL_test_dataset.csv, no labels published) and
  `batadal-validate` (BATADAL_dataset04.csv): `DATETIME,ATT_FLAG` rows, one per
  hour of the file, its DATETIME cells copied as written (the competition format)."""

from icslab.capstone.predictions import as_csv, flags_for, read_submission
from icslab.capstone.scoring import Score, score
from icslab.capstone.submitting import (
    SUBMISSIONS_ENV,
    TEAM_NAME,
    Submission,
    check_team,
    practice_environment,
    submissions_folder,
    submit,
)
from icslab.capstone.targets import BATADAL_COLUMNS, BATADAL_SETS, PLANT_COLUMNS, Target, target

__all__ = [
    "BATADAL_COLUMNS",
    "BATADAL_SETS",
    "PLANT_COLUMNS",
    "SUBMISSIONS_ENV",
    "TEAM_NAME",
    "Score",
    "Submission",
    "Target",
    "as_csv",
    "check_team",
    "flags_for",
    "practice_environment",
    "read_submission",
    "score",
    "submissions_folder",
    "submit",
    "target",
]
