"""Detection analytics on plain bus messages or real-format files; never imports the simulation.

Modules: ``base`` (alert record, ``Detector``, input error, read stats), readers ``zeek``, ``syslog``,
``mot``, ``events``; ``tracking`` (ByteTrack + homography), ``behaviour``, ``crowd``, ``acoustic``,
``cyber`` detectors; ``motscore`` (CLEAR-MOT/IDF1); ``pipeline`` (``AnalyticsPipeline``, ``run_pipeline``).
"""
