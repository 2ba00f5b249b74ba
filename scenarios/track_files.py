"""The online tracker's output in the run folder, as the scenario's ``outputs:`` says.

``analytics.tracking.TrackStage`` keeps each camera's tracked boxes as MOT rows (``mot_frames``) for the whole
run. ``TrackFiles`` takes each camera's new rows after its frame went through the tracker and streams them to
``sensors/frames/track.parquet`` (``outputs.frames: parquet``); the rows of a camera without MOT text are
then dropped from the stage, so memory stays flat on long runs. When the run closes, the cameras with MOT
text (``outputs.mot``) get their ``track/track.txt`` (``.gz`` under ``compress: gzip``), written as
``analytics.tracking.write_track_files`` writes it: every camera the tracker saw, empty if it tracked
nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from analytics.mot import write_mot
from analytics.tracking import TRACK_FILE
from sensors.export.outputs import OutputParams

__all__ = ["TrackFiles"]


class TrackFiles:
    """Tracker output of one run (see the module docstring)."""

    def __init__(self, run_dir: str | os.PathLike, outputs: OutputParams) -> None:
        self.run_dir = Path(run_dir)
        self.outputs = outputs
        self._text = outputs.mot_cameras()          # None: every camera
        self.table = None
        if outputs.frames == "parquet":
            from sensors.export.parquet import TrackTable

            self.table = TrackTable(run_dir)
        self._taken: dict[str, int] = {}             # per camera, the frames of rows already taken

    def _keeps_text(self, camera_id: str) -> bool:
        return self._text is None or camera_id in self._text

    def take(self, stage: Any, camera_id: str) -> None:
        """After one of ``camera_id``'s frames went through ``stage`` (a ``TrackStage``): its new rows."""
        frames = stage.mot_frames.get(camera_id)
        if not frames:
            return
        if self.table is not None:
            for rows in frames[self._taken.get(camera_id, 0):]:
                self.table.add(camera_id, rows)
        if self._keeps_text(camera_id):
            self._taken[camera_id] = len(frames)
        else:
            frames.clear()

    def close(self, stage: Any) -> list[Path]:
        """Write the track.txt files and ``track.parquet``; returns their paths."""
        out = []
        for cam in stage.camera_ids:
            if self._keeps_text(cam):
                path = self.run_dir / "sensors" / "cameras" / cam / (TRACK_FILE + self.outputs.suffix)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_mot(path, stage.mot_rows(cam))
                out.append(path)
        if self.table is not None:
            out.append(self.table.close(list(stage.camera_ids)))
            self.table = None
        return out

    def abort(self) -> None:
        """Drop the partial table."""
        if self.table is not None:
            self.table.abort()
