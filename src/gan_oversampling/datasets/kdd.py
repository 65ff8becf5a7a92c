"""NSL-KDD and KDD Cup 99 (10%): column names, attack families, checksums and parsing.

Nothing is bundled: the files are read from the user's data directory, checked against the
sha256 pinned here, parsed once per process and cached.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from gan_oversampling.datasets.tabular import RawTable, require_data_root, table_from_frame
from gan_oversampling.datasets.verify import require_file
from gan_oversampling.errors import UserError

NSL_KDD_DIR = "nsl-kdd"
KDDCUP99_DIR = "kddcup99"

NSL_KDD_SHA256 = {
    "KDDTrain+_20Percent.txt": "7ea86479faab5ca2190b7f18b4982fb058ce5bf2b46e0e1017d0d9ef90f9c16e",
    "KDDTest+.txt": "fa46b0935342616aa83b7c2578db355b6a7aaabbc492248172c7a1e8b7ab8f84",
    "KDDTest-21.txt": "746993ac9e25868827cacf09eab450050a2a1056e1ce48a1ad39f5dc801d531d",
}
# The checksum of the .gz file itself (the copy that circulates is this exact file).
KDDCUP99_SHA256 = {
    "kddcup.data_10_percent.gz": "8045aca0d84e70e622d1148d7df782496f6333bf6eb979a1b0837c42a9fd9561",
}
NSL_KDD_POOL_FILES = ("KDDTrain+_20Percent.txt", "KDDTest+.txt")

NSL_KDD_WHERE = (
    "get NSL-KDD (KDDTrain+_20Percent.txt, KDDTest+.txt, KDDTest-21.txt) from the Canadian "
    "Institute for Cybersecurity site of the University of New Brunswick and put the files "
    f"in <data dir>/{NSL_KDD_DIR}/"
)
KDDCUP99_WHERE = (
    "get kddcup.data_10_percent.gz (KDD Cup 1999, 10% training set) from the UCI KDD archive "
    f"and put it in <data dir>/{KDDCUP99_DIR}/"
)

KDD_COLUMNS = (
    "duration", "protocol_type", "service", "flag", "src_bytes", "dst_bytes", "land",
    "wrong_fragment", "urgent", "hot", "num_failed_logins", "logged_in", "num_compromised",
    "root_shell", "su_attempted", "num_root", "num_file_creations", "num_shells",
    "num_access_files", "num_outbound_cmds", "is_host_login", "is_guest_login", "count",
    "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate", "srv_rerror_rate",
    "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate", "dst_host_count",
    "dst_host_srv_count", "dst_host_same_srv_rate", "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate", "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
    "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate",
)
KDD_CATEGORICAL = ("protocol_type", "service", "flag")
KDD_NORMAL = "normal"
# Attack families, with the attacks that appear only in the NSL-KDD / KDD Cup test sets.
KDD_FAMILIES = {
    "DoS": (
        "back", "land", "neptune", "pod", "smurf", "teardrop",
        "apache2", "mailbomb", "processtable", "udpstorm",
    ),
    "Probe": ("ipsweep", "nmap", "portsweep", "satan", "mscan", "saint"),
    "R2L": (
        "ftp_write", "guess_passwd", "imap", "multihop", "phf", "spy", "warezclient",
        "warezmaster", "httptunnel", "named", "sendmail", "snmpgetattack", "snmpguess", "worm",
        "xlock", "xsnoop",
    ),
    "U2R": ("buffer_overflow", "loadmodule", "perl", "rootkit", "ps", "sqlattack", "xterm"),
}
KDD_ATTACK_FAMILY = {attack: family for family, attacks in KDD_FAMILIES.items()
                     for attack in attacks}
KDD_DATASETS = ("nsl-kdd", "kddcup99")


def kdd_files() -> list[tuple[str, str, str]]:
    """(path inside the data directory, sha256 of the file, where to get it) for every file."""
    return [(f"{NSL_KDD_DIR}/{name}", digest, NSL_KDD_WHERE)
            for name, digest in NSL_KDD_SHA256.items()] + [
        (f"{KDDCUP99_DIR}/{name}", digest, KDDCUP99_WHERE)
        for name, digest in KDDCUP99_SHA256.items()
    ]


def expand_labels(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Attack labels of a list of labels and family names: ["normal", "U2R"] -> normal, ps, ..."""
    expanded: list[str] = []
    for name in names:
        for label in KDD_FAMILIES.get(name, (name,)):
            if label not in expanded:
                expanded.append(label)
    return tuple(expanded)


def load_kdd(dataset: str, data_dir: str | Path | None) -> RawTable:
    """NSL-KDD (KDDTrain+_20Percent then KDDTest+) or KDD Cup 99 10%, parsed and cached.

    NSL-KDD reads both files as one table because KDDTrain+_20Percent alone holds 11 U2R
    rows. The labels lose KDD Cup's trailing '.'; NSL-KDD's difficulty column is dropped.
    """
    if dataset not in KDD_DATASETS:
        raise UserError(f"unknown KDD dataset {dataset!r}; known: {', '.join(KDD_DATASETS)}")
    folder = NSL_KDD_DIR if dataset == "nsl-kdd" else KDDCUP99_DIR
    who_needs = "the NSL-KDD dataset needs" if dataset == "nsl-kdd" else "KDD Cup 99 needs"
    root = require_data_root(data_dir, who_needs, folder)
    return _cached_kdd(dataset, str(root))


@functools.lru_cache(maxsize=2)
def _cached_kdd(dataset: str, root: str) -> RawTable:
    import pandas as pd

    if dataset == "nsl-kdd":
        paths = [
            require_file(Path(root) / NSL_KDD_DIR / name, NSL_KDD_SHA256[name],
                         decompressed=False, where_to_get=NSL_KDD_WHERE)
            for name in NSL_KDD_POOL_FILES
        ]
        frame = pd.concat([_read_kdd_file(path, with_difficulty=True) for path in paths],
                          ignore_index=True)
    else:
        name = "kddcup.data_10_percent.gz"
        path = require_file(Path(root) / KDDCUP99_DIR / name, KDDCUP99_SHA256[name],
                            decompressed=False, where_to_get=KDDCUP99_WHERE)
        frame = _read_kdd_file(path, with_difficulty=False)
    frame["label"] = frame["label"].str.rstrip(".")
    return table_from_frame(frame, "label", KDD_CATEGORICAL, origin=dataset)


def _read_kdd_file(path: Path, with_difficulty: bool):
    import pandas as pd

    names = [*KDD_COLUMNS, "label"] + (["difficulty"] if with_difficulty else [])
    # Explicit types: the C parser then needs no inference pass over half a million rows.
    dtypes = {name: (str if name in KDD_CATEGORICAL else np.float64) for name in KDD_COLUMNS}
    dtypes.update(label=str, difficulty=np.int64)
    frame = pd.read_csv(path, header=None, names=names, dtype=dtypes, engine="c")
    return frame.drop(columns=["difficulty"]) if with_difficulty else frame
