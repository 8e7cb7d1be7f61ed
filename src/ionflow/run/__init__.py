"""Running a study: :mod:`ionflow.run.local` runs its Flow on this machine with jobflow."""
