"""The shared base of the detectors of Zeek conn records (``net/conn``): ``ConnDetector`` with its chunk path,
and the conn-record vocabulary the detectors share."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.base import Detector
from analytics.zeek import chunk_messages

__all__ = ["FAILED_STATES", "ConnDetector", "flow_start"]

#: Zeek conn_state values of an attempt that never became a working connection.
FAILED_STATES = frozenset({"S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"})


class ConnDetector(Detector):
    """A detector of conn records; ``update_batch`` defaults to ``update`` per row of a chunk."""

    topics = ("net/conn",)

    def update_batch(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        """Take a chunk of conn records (``analytics.zeek.CONN_COLUMNS``) in file order."""
        out = []
        for msg in chunk_messages(df):
            out += self.update(msg)
        return out


def flow_start(msg: dict[str, Any]) -> float:
    """Zeek's ``ts`` of a conn record (when the flow started), else the message time ``t``."""
    ts = msg.get("ts")
    return float(ts) if ts is not None else float(msg["t"])
