"""The real California Housing data through scikit-learn (seed 003's `data_source=sklearn`).

`fetch_california_housing` downloads the census data once into its cache folder
(`data_source=sklearn:/path` chooses it; else `SCIKIT_LEARN_DATA` or `~/scikit_learn_data`)
and reads the cache afterwards. Where it can be neither read nor downloaded (no internet), the
error says how to pass the same data as a CSV instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mloop.errors import MloopError

if TYPE_CHECKING:
    import pandas as pd

LABEL = "california-housing (scikit-learn fetch_california_housing, 1990 census)"


class DatasetUnavailable(MloopError):
    """A public dataset could not be downloaded and is not in its cache."""

    code = "dataset_unavailable"
    http_status = 503


def fetch(data_home: str | None = None) -> pd.DataFrame:
    """California Housing in scikit-learn's frame layout (8 features + MedHouseVal, 20,640 rows).

    Raises:
        DatasetUnavailable: not cached and not downloadable (the hint shows the CSV route).
    """
    import warnings
    from urllib.error import URLError

    from sklearn.datasets import fetch_california_housing, get_data_home

    try:
        with warnings.catch_warnings():  # its "retry downloading" warning: the error below says it all
            warnings.simplefilter("ignore", UserWarning)
            bunch = fetch_california_housing(data_home=data_home, as_frame=True, n_retries=1, delay=0.1)
    except (URLError, TimeoutError, ConnectionError) as exc:
        folder = get_data_home(data_home)
        raise DatasetUnavailable(
            f"cannot download California Housing for data_source=sklearn (no internet here?): "
            f"{getattr(exc, 'reason', exc)}; its cache folder {folder} has no copy",
            hint="On a machine with internet: python -c \"from sklearn.datasets import "
            "fetch_california_housing as f; f(as_frame=True).frame.to_csv('housing.csv', index=False)\"; "
            "then pass --param data_source=housing.csv (or copy that machine's scikit_learn_data "
            "folder here and use data_source=sklearn:/path/to/scikit_learn_data).",
        ) from exc
    frame = bunch.frame
    frame.attrs["dataset"] = LABEL
    return frame
