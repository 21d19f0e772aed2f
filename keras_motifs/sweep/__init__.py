"""``keras-motifs run``: the sweep's settings (:mod:`.settings`), its steps (:mod:`.steps`), the run
(:mod:`.run`), the pool of worker processes (:mod:`.pool`) and a worker's own entry point (:mod:`.worker`)."""
