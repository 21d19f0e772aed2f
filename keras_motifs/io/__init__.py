"""Files: atomic writes and the folder lock (:mod:`.files`), the trained-run folder (:mod:`.runfolder`), the
experiment folder (:mod:`.experiment`) and MATLAB MAT-files (:mod:`.matfile`)."""
