"""Where the repository's own files are: the one definition of `REPO_ROOT`.

The default practice profile, database, outbox, prompts, clips, migrations and the local telephony
stack's templates all live beside the code; everything that needs them starts from here.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
