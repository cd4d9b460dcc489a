"""The metrics.csv logger every run gets, which a resumed run continues instead of restarting."""

from __future__ import annotations

import csv
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger

from ganlab.compat import CSVExperimentWriter


class ResumableCSVLogger(CSVLogger):
    """Lightning's CSVLogger, except that an existing ``metrics.csv`` is continued.

    Lightning's writer deletes the file it finds when it starts, so a run resumed in its own
    directory would lose every row logged before the interruption. (ganlab-train first drops
    the rows logged after the checkpoint it resumes from: see ganlab.cli.resume.trim_metrics.)
    """

    @property
    def experiment(self):
        if self._experiment is not None:
            return self._experiment
        path = Path(self.log_dir) / CSVExperimentWriter.NAME_METRICS_FILE
        previous = path.read_bytes() if path.is_file() else None
        writer = CSVLogger.experiment.fget(self)  # deletes metrics.csv
        if previous is not None and isinstance(writer, CSVExperimentWriter):
            path.write_bytes(previous)
            with open(path, newline="") as f:
                header = next(csv.reader(f), [])
            # Known columns: new rows append under the same header (or widen it, keeping rows).
            writer.metrics_keys = sorted(set(header))
        return writer
