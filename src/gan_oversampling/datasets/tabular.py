"""The author's seven cybersecurity datasets, and the compact table that tabular sources share.

Nothing is bundled: every file is read from the user's data directory, checked against the
sha256 pinned here, parsed once per process and cached read-only.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gan_oversampling.datasets.verify import DATA_DIR_ENV, require_file, resolve_data_dir
from gan_oversampling.errors import UserError

CYBER_DIR = "cyber-autogan"

CYBER_DATASETS = (
    "cic_syscalls_adware",
    "cic_syscallsbinders_adware",
    "cic_syscallsbinders_smsmalware",
    "cira",
    "iscx_defacement",
    "iscx_spam",
    "tor",
)
CYBER_FEATURES = {
    "cic_syscalls_adware": 130,
    "cic_syscallsbinders_adware": 444,
    "cic_syscallsbinders_smsmalware": 439,
    "cira": 29,
    "iscx_defacement": 75,
    "iscx_spam": 75,
    "tor": 22,
}
# The public collection each dataset was derived from, for the "where to get it" messages.
CYBER_COLLECTIONS = {
    "cic_syscalls_adware": "CIC-MalDroid-2020",
    "cic_syscallsbinders_adware": "CIC-MalDroid-2020",
    "cic_syscallsbinders_smsmalware": "CIC-MalDroid-2020",
    "cira": "CIRA-CIC-DoHBrw-2020",
    "iscx_defacement": "ISCX-URL2016",
    "iscx_spam": "ISCX-URL2016",
    "tor": "ISCX-Tor2016",
}
CYBER_VARIANT_SIZES = (100, 200, 500, 1000)
CYBER_VARIANT_RATIOS = (0.1, 0.2, 0.3, 0.4)

# derived/<name>/<N>_<IR>.npz, keyed by dataset then "<N>_<IR>".
CYBER_VARIANT_SHA256 = {
    "cic_syscalls_adware": {
        "100_0.1": "b558633b7a3ae00c58761d32d80f7d8d8414f1346f01cf20fe2bf1298bee7ff2",
        "100_0.2": "e46887aa450e6c4e6e96900be2a59d842fa6b9e7fc078648132671fcab490650",
        "100_0.3": "9a72262b34a3d67d5ea7eddaf5c17af8b9948a910bc0c603afd4b471ceb2b0d4",
        "100_0.4": "bbf3ba8315a53190d3637a259daccdc3a5831741720faa9365c7589475b38a3b",
        "200_0.1": "090bf10ea7632ec78c1ce362613391966c29cf859df3cb3b4c0180a5789e56ff",
        "200_0.2": "f3812cf791f4ba697c1d14f40473aa36feb63cf2f128cfa411bd26129f32ff11",
        "200_0.3": "97e5c6daa32b70edc86fdf51b13920a569a6afeab2cea8883ca7bb7b55a630ea",
        "200_0.4": "5b86daa68fe3aeed59e76594af2537dd4313262ca89b8567c74b17edbff9ed47",
        "500_0.1": "fd923555e07e9220cbe7b9eb5f4dc0d4aec89bb17b7de411159fcbd25efc8b13",
        "500_0.2": "3d58477f2736fd805ac2010e5557f18a2b8c18224acfcd39a7f61d039aeec4f3",
        "500_0.3": "faf031c47d2724b5be7cc2503f9b2b9dc52a1088b28d2d974a151ea2f743e9b0",
        "500_0.4": "fdd415664413dca08c297c5339b8d5ec689f8b5ec26cc01d96cd1bdd69e63d53",
        "1000_0.1": "07eeff6c89261be16da9d11adf46f17424472aa3f7e8aa63c90175652e86750f",
        "1000_0.2": "0d92cccffaeab0ed9491e5032c80129d46a083c1e5f6cc9701c59bddae489aa0",
        "1000_0.3": "0f5af25fd1d48889066ec7269f0554fa455fadc6302ca7ebc8b0f99ae77fb31a",
        "1000_0.4": "f6b6b6aa0599d300f47129dbf09ecbfcbb06f59a5e499177d4433701a4b41f03",
    },
    "cic_syscallsbinders_adware": {
        "100_0.1": "c42d37a9e7c783c86a6783f6b60419afde761ebda7f8b6e3e1bc1d7377f637b2",
        "100_0.2": "16097bf80341e28a66b471b88e33de34a51fd80c4b3dc26f7753f26ec913b0bf",
        "100_0.3": "69db27bdae2520d1820a795449d5d4883d6b351acc63a76b540642ab0d066261",
        "100_0.4": "e6ee644d7484a5ad049a474c785c8b81187b287402c4972ef1204eb1d349aebc",
        "200_0.1": "98c5d91c9c97687a8995024ebc7e5b9753abf13d2427f668cb10746ca861d2dd",
        "200_0.2": "2c0ee343afe0614210ef194ca7a446076b1db7b7b5d3a082c61123accf33eb14",
        "200_0.3": "79836b6387bfe12816e15262c1f606013b1aa8fcfca503f97ed79ddb580f08db",
        "200_0.4": "675abb2ab2f8d94c295db1ec4afd169c742deb5326394cde48da0e70b89e9225",
        "500_0.1": "b08e307b91e147e3310c7dac1415e2c9ca74375003df7a4640e9c869ae01c69a",
        "500_0.2": "a751f64150114f3c304c55c77d98cbe50fd465f35076559435eaedd96ba552f3",
        "500_0.3": "7bbb85a6ed465cc8fd4d42b64faf8936e781ab60d91bc1232b04d441bd008d46",
        "500_0.4": "815d9c221415a4d47fc11ed7652ba614a174b2d7f9c11bc274f54f53ebf752e3",
        "1000_0.1": "8b4cff92b58eee7cfc8a9db2ae2ee8a775657f10cd487d71f6a23149d846d85a",
        "1000_0.2": "8ce89bb95517d952b17a7d1466e6a5c7954e2d4cf3f51cefa5a585e2b32363c0",
        "1000_0.3": "f00e5d3d22e1b7d96a8dbae793cba24f42e76c55da682b33ebe72941d4967f92",
        "1000_0.4": "9d1282a2e07095b7fc77e2f76c13b390f9c8023a5888ddf163ed843ac3b2710a",
    },
    "cic_syscallsbinders_smsmalware": {
        "100_0.1": "dbefef61002deb1157b452af57f5871ea2727b537bd202078f380c3135a06073",
        "100_0.2": "c270408cbddaf6880b2542ee286ac67abf0e6460d42d1b6c13aac96570abf76a",
        "100_0.3": "e29b020913e2590542eae6052277ebd3944c1739811f13115ca61ff32a0d0f41",
        "100_0.4": "8ac0996a9ded0a0cb6099e07f0cb7ed707a71f5f3bb50d4665314c57f9111848",
        "200_0.1": "68598403b9d5a2c9c9cb2937da06205c044b443627126fd9f3428622a159a67c",
        "200_0.2": "ba01cab8852170a923f81e8d5537216c3772f665c2ba2ef85674512189ce3771",
        "200_0.3": "5d79670b5053cf5b40ca33ac1ec4715f98a22462a4a6dda968e7ef3d3149b5e0",
        "200_0.4": "9f581910e085009f2006e35d2bc329ea8903136ce3e200c78c66a3a0e1cd2130",
        "500_0.1": "a3c6c608f3823efdc353c73834cbf605749a43b6dd49b7a64bc2adadce86bc77",
        "500_0.2": "7cc634312571865f74f22f38727bc4c160340ec26635a4ecac3ebe1a65552176",
        "500_0.3": "dddde92c33cb5943f9751e1107c9dcdeb2475d2141d852851718fa38b9e52f7a",
        "500_0.4": "ff2e4671f86cb5c6accb1150dae57f9974e9c842821aae18f228a5c18f8dedb0",
        "1000_0.1": "e896fc78835557b8732d1235dd85044901355cade5b7b632d7bc5cce7728fb39",
        "1000_0.2": "c66c7ee2036c40503de4f181187dabf54930fa9cfcb9552affa92c119f90208c",
        "1000_0.3": "36d00ea4778ac412f6d3fecb493a098352a21ad23bb975135476123c2c1a4fa6",
        "1000_0.4": "b9873e34c78a88c98fc94638e053206d7b3d8ed53a687cbad0f46a78c68a886e",
    },
    "cira": {
        "100_0.1": "ad7eaab2c73b443337996d465aeb1c16fa4f199932260e3c58f13fad151820da",
        "100_0.2": "8af34cf7ee37d3798dff7cfe73533e07b6362efb4455c04f10322e6d8885dd74",
        "100_0.3": "54ff403995cc7b6a609b4fb05c64d4c8c9d651788ef07aa684b9dd2d4e9ccaac",
        "100_0.4": "8c39b820a7f417dc872babf064548275e28e20f9cefebed8e546b5b86eb039ff",
        "200_0.1": "ed5a35084aeeaab38e45923fb0f1b05779fdc8973b91d1aea0f0f9cbecf3686e",
        "200_0.2": "c4caaf7f23f764c335cb86f0af9e33606d61bd77f1e8f5eaf3de9155cbb672d2",
        "200_0.3": "8fcc7f5d75dc9ec0b3ebabc7182860e82cfe185fb0a06a7409486844ca50411b",
        "200_0.4": "210883ff8ca29db4d39b54963cb3d2011d02169b28d30d7f8c8599bd382b5ca2",
        "500_0.1": "87fa3149ff0ca043d19e6f471ddbeeaacda1f2dd49aa4dbd87a0f71041a17f39",
        "500_0.2": "260b036653c3acf3ff58e6ca27b925457022baf04e2b407060686af06f3a626c",
        "500_0.3": "b1f86dee11e6e78ecfa3c3b4c1b2c07c0f07f37e24989acfe5b9adfc125c2e94",
        "500_0.4": "6373e967bfda6c49089a46230fc38e9eff12de98da2c6703cdd8ea227582338c",
        "1000_0.1": "cb679af83bad734f1179f85a6cadb5b5b15399ad91323ad9e1a1b72fd7b35701",
        "1000_0.2": "ec3ecb4cac60876bf0c1ba28bf8ea59c49344b528f0f3559daecfc2f7ac3a4e9",
        "1000_0.3": "1dcd97fe4bb613829068d6d8044ced00fb1c1bbafb85a5a5a0c275eb8f12af15",
        "1000_0.4": "26ea0cebe2552bdea3011b55fc7f084839cf426296787e2a107537c6325fa74e",
    },
    "iscx_defacement": {
        "100_0.1": "e79104dbaac581f6fbf1d835dede35dc92ca24584d52bbd0d618c7df06bb80cd",
        "100_0.2": "0d1cfaadb773cf82a869bc8023d05e3c34fa305850544ab0842c364e2922b478",
        "100_0.3": "c7744b8db1f2f8d41df410e857cc222928ae551345cabf442542b71317a27a5c",
        "100_0.4": "d020e75b0207aebafdc3d0cc95b63ff1fd20d6b42f5d2038e81e20a127f684db",
        "200_0.1": "010cbd8ea8c0bc0f3ef9b64e2a5d64337d93ef5f10a11f97ce39cae61aae5425",
        "200_0.2": "396875c125f29fdae3d2d57a8b8364f87d19ed78c69970110ced0bddb9bd4209",
        "200_0.3": "c20803815f17b90168db7b494d6b8af56986d7ff46580334a3a787948d3f1497",
        "200_0.4": "2c9e973f839b090e0e4b819803ea7d3c98b75d4f36f02f13a1bc1b64e0d42fad",
        "500_0.1": "d4aba4c83c7f0754bae778a53465287fc5ba08e6b5097c4bb50083b700e5ee15",
        "500_0.2": "6fd6f75c2024d3dfb4adb49247d067582c8a8d3a6b73905b30d1a6a816d3ecdb",
        "500_0.3": "05d361ad2866c2592c686a609d5b19fffea6238bc5db03d8c1c7e5e312ddb281",
        "500_0.4": "42ea76150b6a22e51ef7bcb4391455fc10e1396703b18ebb26c1e8c00ec16f0f",
        "1000_0.1": "6e51e9003dca57edead68716551ea506235f0a2547586dad463ff065cb6b6acb",
        "1000_0.2": "cbcd6b417b811d6e58abfa03881ef5c2ffac46f17640041abd3a60ac24b28f8d",
        "1000_0.3": "49888ca4bf44318030d405e7ca17cac9aaa91053088c8912f54e001b6a0acde8",
        "1000_0.4": "8debc125263d6787cd39513146701919798ec9a23c15a033d8a18b26fd0ad8c3",
    },
    "iscx_spam": {
        "100_0.1": "118259fd704d9d9a2fd9997edca1d9e1f84d6b4e484bc58fbe87f09564b8736c",
        "100_0.2": "57ee7cad35c7990d5c6e6276faa9bf54735c7236127d17337bd0857c2af755ae",
        "100_0.3": "3958a089a5f83ed4369942d00273a253a4ef233efb27a7ae4fb0c840049a78a9",
        "100_0.4": "5e99694c6c8057ff422f1069557c17cd4ce09c402eb61714b3a2f274803da87b",
        "200_0.1": "db6369c84445905db78aaa2569521cfb898f491f87577a981cc36095720d7fa9",
        "200_0.2": "826138c9bb6c846f7e65c6417393fa36c94bdae43250cab70d11d47d592e3f04",
        "200_0.3": "19ce3a316e4107e8bf5efeb27519ff46d16d8be5d3d71fa071298150b4fb9b23",
        "200_0.4": "d511120f526200fcd1aa916a11728a97c68bc1dfdbf75b783551178727f3aba1",
        "500_0.1": "a36db7b31d7c021f9e07b5aeea711057204db6f4303fc39b42539a37fa4be48c",
        "500_0.2": "8d94c67389eb20b20b0b1971e53aeb3282b5e7f11574fbf5244adff4ea1cb219",
        "500_0.3": "8326b81e4f8d2fc9d4e4e84e10a272d6cd2b349a860fc2f1d3a919eb6aa131e8",
        "500_0.4": "9151acad30371eb42b4db275e3dc7a0fd1b86295f841ca8544394fd9de2dd201",
        "1000_0.1": "6689e4df680c66ae9390ea09b2096f31fa68b950366fca4b8c89f59723772389",
        "1000_0.2": "bd2348f6e4a378f120fd9d2ee5e5b12706bec8d10752b43811cb1a67984c9b41",
        "1000_0.3": "12d70d3412ae506a9d51e0494d4c69cc878e875d20f00ea4922f42c849946ea6",
        "1000_0.4": "fb556faf4f29bd3ebde5c74012c6ce0eb998fa74596277e405861ffeecbddc58",
    },
    "tor": {
        "100_0.1": "d535aafc682b8f0ddf44dfc2bf5a9975e97e1e0b9e6b7f98b2c052aca80bbb5e",
        "100_0.2": "4f27a91172c6ce678fec46bd87fb1055532e3438849f9987b5316a6c145a2344",
        "100_0.3": "0601515f915239491a3c24b3a679f1c7c47825a6d9a25c465ff79b51855206c7",
        "100_0.4": "d9ea2651e5c6eec294b0b7c9f1874e84e2a97beafa8c34df71d6e1ce088eb83c",
        "200_0.1": "30e3601a5f5764d7bc0e91df0fae160557dc809dd1b1cc6492f3ef3fdb334973",
        "200_0.2": "1bf9a868d5b695461b618e0438bdaa7a81d8dbcc3a45a060584b3ad54de11c47",
        "200_0.3": "8cc447a84b23d6e5a07ec09f636f254f4dc5b3a78bfaae167c7ce90ee8f1a13d",
        "200_0.4": "2e4f6c48630379526789a786b21264f63b54402c30df49992c8404da601a4a13",
        "500_0.1": "61c75807204c85aec4d9bf1b40ac47940f805b9b8f02f1d9a9768e97ef80cbec",
        "500_0.2": "79541ff172cb3bd9ad7803a2fef85c85faa52bc49482cb3d78acd8395f0349e8",
        "500_0.3": "837b71aac346cc8c299fe4ade4d58f572253eefdb49c13d923d2e83ef31ac367",
        "500_0.4": "8b6fe6389b94fb0038a054390139b20c974ced17b3c1f571050166ce942b38e1",
        "1000_0.1": "bf9dd6f311fe539227b9de1ac2225d8c62a598273bb419e3f9db42046688d9d6",
        "1000_0.2": "c62e23b491cac417c49426c81a3c4dd4c25046f075ee2172a4f053106f28fe8e",
        "1000_0.3": "f1225dfae371c0cea14421b575fe1b1a8bea590c1cb4425e74ec388e90917129",
        "1000_0.4": "d366d10bd9689a2dcb48c66fa57e6121bb60c01a60fc8ebde0fe8f1d05549dd9",
    },
}
# root/<name>_{data,labels}.npy: the full arrays, for the datasets where they are available.
CYBER_ROOT_SHA256 = {
    "cic_syscalls_adware_data.npy": (
        "ef687cba041e0ac067882dd454df26a1b59fd8f8349b48e302225c24e94a9227"
    ),
    "cic_syscalls_adware_labels.npy": (
        "18f3f35b09dcb8871041d85ad6c530a428f0a6346dd39c53fc01909c59705c92"
    ),
    "iscx_defacement_data.npy": (
        "f8a26bab2da6475012a1f9fedab762a846fc11b3fd9a1c994a39a1d5a0badddf"
    ),
    "iscx_defacement_labels.npy": (
        "15f6ba48977424bf6ef03aa603a8fb7099b5c7a706d54228014d505ac98e7910"
    ),
}
CYBER_ROOT_DATASETS = ("cic_syscalls_adware", "iscx_defacement")


@dataclass(frozen=True, eq=False)
class RawTable:
    """The rows of a labelled table, kept compact: numbers as float64, categories as codes.

    `columns` are the feature columns in file order; `categorical` names those holding
    categories, whose sorted values over every row form `vocabularies`.
    """

    columns: tuple[str, ...]
    categorical: tuple[str, ...]
    numeric: np.ndarray  # float64 (n, #numeric columns)
    codes: np.ndarray  # int (n, #categorical columns), indices into `vocabularies`
    vocabularies: tuple[tuple[str, ...], ...]
    label_codes: np.ndarray  # int (n,), indices into `label_names`
    label_names: tuple[str, ...]

    @property
    def categorical_positions(self) -> list[int]:
        return [self.columns.index(name) for name in self.categorical]

    @property
    def numeric_positions(self) -> list[int]:
        return [i for i, name in enumerate(self.columns) if name not in self.categorical]

    @property
    def numeric_names(self) -> tuple[str, ...]:
        """The columns of `numeric`, in file order."""
        return tuple(name for name in self.columns if name not in self.categorical)

    @property
    def encoded_width(self) -> int:
        """Features after one-hot encoding: one per numeric column, one per category."""
        return self.numeric.shape[1] + sum(len(vocabulary) for vocabulary in self.vocabularies)

    def rows_with_labels(self, labels: Iterable[str]) -> np.ndarray:
        """Indices of the rows whose label is one of `labels`, in file order."""
        labels = set(labels)
        wanted = [i for i, name in enumerate(self.label_names) if name in labels]
        return np.flatnonzero(np.isin(self.label_codes, wanted))

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """The chosen rows as an object array (k, #columns): floats and category strings."""
        indices = np.asarray(indices, dtype=np.int64)
        out = np.empty((len(indices), len(self.columns)), dtype=object)
        out[:, self.numeric_positions] = self.numeric[indices]
        for j, (position, vocabulary) in enumerate(
            zip(self.categorical_positions, self.vocabularies, strict=True)
        ):
            out[:, position] = np.asarray(vocabulary, dtype=object)[self.codes[indices, j]]
        return out


def table_from_frame(frame, label_column: str, categorical: Iterable[str], origin: str) -> RawTable:
    """A RawTable from a pandas DataFrame; every other column than the label is a feature.

    Missing or infinite values and text in a numeric column raise UserError naming the column.
    """
    import pandas as pd

    frame = frame.rename(columns=str)  # Parquet and DataFrames may name columns by integers
    categorical = tuple(categorical)
    columns = tuple(name for name in frame.columns if name != label_column)
    numeric_names = [name for name in columns if name not in categorical]
    for name in columns:
        _check_complete(frame[name], name, origin)
    numeric = np.empty((len(frame), len(numeric_names)), dtype=np.float64)
    for j, name in enumerate(numeric_names):
        numeric[:, j] = _numeric_column(frame[name], name, origin)
    codes = np.empty((len(frame), len(categorical)), dtype=np.int32)
    vocabularies = []
    for j, name in enumerate(categorical):
        values = pd.Categorical(frame[name].astype(str))
        codes[:, j] = values.codes
        vocabularies.append(tuple(str(value) for value in values.categories))
    labels = pd.Categorical(frame[label_column].astype(str))
    return RawTable(
        columns=columns,
        categorical=categorical,
        numeric=numeric,
        codes=codes,
        vocabularies=tuple(vocabularies),
        label_codes=np.asarray(labels.codes, dtype=np.int64),
        label_names=tuple(str(value) for value in labels.categories),
    )


def _check_complete(column, name: str, origin: str) -> None:
    missing = int(column.isna().sum())
    if missing:
        raise UserError(
            f"{origin}: column '{name}' has {missing} missing value(s); fill or drop them "
            "first (missing values are not imputed)"
        )


def _numeric_column(column, name: str, origin: str) -> np.ndarray:
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(column):
        unreadable = column[pd.to_numeric(column, errors="coerce").isna()]
        example = (unreadable if len(unreadable) else column).iloc[0]
        raise UserError(
            f"{origin}: column '{name}' is not numeric (e.g. {example!r}); list it in "
            "categorical or convert it"
        )
    values = column.to_numpy(dtype=np.float64)
    infinite = int(np.isinf(values).sum())
    if infinite:
        raise UserError(f"{origin}: column '{name}' has {infinite} infinite value(s)")
    return values


def require_data_root(data_dir: str | Path | None, who_needs: str, folder: str) -> Path:
    """The resolved data directory; UserError when none is named (these data are not bundled).

    `who_needs` starts the message: "the cyber datasets need", "the NSL-KDD dataset needs".
    """
    root = resolve_data_dir(data_dir)
    if root is None:
        raise UserError(
            f"{who_needs} a data directory: set --data-dir or {DATA_DIR_ENV} "
            f"(expected <dir>/{folder}/...)"
        )
    return root


def cyber_where_to_get(name: str) -> str:
    return (
        f"get the '{name}' arrays (derived from the public {CYBER_COLLECTIONS[name]} "
        "collection, as prepared by the study's author) and put them in "
        f"<data dir>/{CYBER_DIR}/derived/{name}/ and, for the full arrays, "
        f"<data dir>/{CYBER_DIR}/root/"
    )


def cyber_files() -> list[tuple[str, str, str]]:
    """(path inside the data directory, sha256 of the file, where to get it) for every file."""
    files = []
    for name, digests in CYBER_VARIANT_SHA256.items():
        files += [(f"{CYBER_DIR}/derived/{name}/{variant}.npz", digest, cyber_where_to_get(name))
                  for variant, digest in digests.items()]
    for file_name, digest in CYBER_ROOT_SHA256.items():
        name = file_name.rsplit("_", 1)[0]
        files.append((f"{CYBER_DIR}/root/{file_name}", digest, cyber_where_to_get(name)))
    return files


def variant_name(n_majority: int, ir: float) -> str:
    """The file stem of a shipped variant: 100, 0.1 -> '100_0.1'."""
    return f"{int(n_majority)}_{float(ir)!r}"


def load_cyber_variant(
    name: str, n_majority: int, ir: float, data_dir: str | Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """The author's variant: X float64 (n, features) in [-1, 1], y int64 (read-only)."""
    name = _check_cyber_name(name)
    variant = variant_name(n_majority, ir)
    if variant not in CYBER_VARIANT_SHA256[name]:
        raise UserError(
            f"no shipped variant {variant} of {name}: the author's variants are N in "
            f"{list(CYBER_VARIANT_SIZES)} x IR in {list(CYBER_VARIANT_RATIOS)}"
        )
    root = require_data_root(data_dir, "the cyber datasets need", CYBER_DIR)
    return _cached_variant(name, variant, str(root))


def load_cyber_root(name: str, data_dir: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    """The full arrays of a dataset that has them (CYBER_ROOT_DATASETS); read-only."""
    name = _check_cyber_name(name)
    if name not in CYBER_ROOT_DATASETS:
        raise UserError(f"{name} has no root arrays; only {', '.join(CYBER_ROOT_DATASETS)} do")
    root = require_data_root(data_dir, "the cyber datasets need", CYBER_DIR)
    return _cached_root(name, str(root))


def _check_cyber_name(name: str) -> str:
    if name not in CYBER_DATASETS:
        raise UserError(f"unknown cyber dataset {name!r}; known: {', '.join(CYBER_DATASETS)}")
    return name


@functools.lru_cache(maxsize=32)
def _cached_variant(name: str, variant: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    path = require_file(
        Path(root) / CYBER_DIR / "derived" / name / f"{variant}.npz",
        CYBER_VARIANT_SHA256[name][variant], decompressed=False,
        where_to_get=cyber_where_to_get(name),
    )
    with np.load(path, allow_pickle=False) as arrays:
        return _as_dataset(arrays["data"], arrays["labels"])


@functools.lru_cache(maxsize=4)
def _cached_root(name: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for part in ("data", "labels"):
        file_name = f"{name}_{part}.npy"
        path = require_file(
            Path(root) / CYBER_DIR / "root" / file_name, CYBER_ROOT_SHA256[file_name],
            decompressed=False, where_to_get=cyber_where_to_get(name),
        )
        arrays.append(np.load(path, allow_pickle=False))
    return _as_dataset(*arrays)


def _as_dataset(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Labels are stored as float64 in some files and int64 in others; the values are 0/1.
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y
